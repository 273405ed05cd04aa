"""Step 3 · Change availability: on the simulator (compliant and its defect) and scripted."""

import pytest

from campaigns.engine.port import CallRejected
from campaigns.engine.results import Outcome
from campaigns.engine.runner import run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import change_availability, step_module

STATUS_OF = {"Inoperative": "Unavailable", "Operative": "Available"}


def _status(connector: int, status: str, error_code: str = "NoError") -> dict:
    return {"connectorId": connector, "status": status, "errorCode": error_code}


class Station:
    """A scripted two-connector station whose availability can misbehave."""

    def __init__(self, scripted, *, notify=True, before_answer=False, answer="Accepted"):
        self.scripted, self.notify, self.before_answer = scripted, notify, before_answer
        self.status = "Available"
        scripted.on("ChangeAvailability", self.change)
        scripted.on("TriggerMessage", self.trigger)
        self.answer = answer

    def change(self, payload: dict) -> dict:
        if self.answer != "Accepted":
            return {"status": self.answer}
        self.status = STATUS_OF[payload["type"]]
        if self.notify:
            self.send_all(now=self.before_answer)
        return {"status": "Accepted"}

    def trigger(self, payload: dict) -> dict:
        self.send_all()
        return {"status": "Accepted"}

    def send_all(self, now: bool = False) -> None:
        for connector in (0, 1, 2):
            if now:  # before the CALLRESULT, as real stations sometimes do
                self.scripted._push("in", "CALL", "StatusNotification", f"sn-{connector}",
                                    _status(connector, self.status))  # fmt: skip
            else:
                self.scripted.emit("StatusNotification", _status(connector, self.status), 0.05)


async def test_every_connector_reporting_each_change_passes(scripted, make_ctx):
    Station(scripted)
    run = await run_step(step_module(3), make_ctx(), time_limit=20)
    assert run.proposed == Proposed.OK, run.result_text
    assert run.result_text == "Ok, Unavailable and Available reported for connectors 0-2"
    assert [c for c in scripted.calls if c[0] == "TriggerMessage"] == []


async def test_status_notifications_before_the_answer_count(scripted, make_ctx):
    Station(scripted, before_answer=True)
    run = await run_step(step_module(3), make_ctx(), time_limit=20)
    assert run.proposed == Proposed.OK, run.result_text


async def test_silent_change_fails_3c_and_is_confirmed_by_trigger(scripted, make_ctx):
    Station(scripted, notify=False)
    ctx = make_ctx(status_window=0.5)
    run = await run_step(step_module(3), ctx, time_limit=20)
    assert run.outcomes == {
        "3.a": Outcome.PASSED,
        "3.b": Outcome.PASSED,
        "3.c": Outcome.FAILED,
        "3.d": Outcome.PASSED,
    }
    silent = next(r for r in ctx.results if r.key == "3.c#Inoperative")
    assert silent.detail == (
        "After Inoperative, StatusNotification Unavailable from connector(s) none; none from "
        "0, 1, 2 within 0.5 s"
    )


async def test_rejected_fails_3b_and_leaves_the_station_operative(scripted, make_ctx):
    Station(scripted, answer="Rejected")
    run = await run_step(step_module(3), make_ctx(status_window=0.3), time_limit=20)
    assert run.outcomes["3.b"] == Outcome.FAILED
    assert "ChangeAvailability Inoperative (connectorId 0) answered Rejected" in run.result_text
    assert scripted.calls[-2:][0] == ("ChangeAvailability", {"connectorId": 0, "type": "Operative"})


async def test_not_implemented_fails_3a_and_3b(scripted, make_ctx):
    scripted.on("ChangeAvailability", CallRejected("NotImplemented"))
    scripted.on("TriggerMessage", {"status": "Rejected"})
    run = await run_step(step_module(3), make_ctx(status_window=0.3), time_limit=20)
    assert run.outcomes["3.a"] == run.outcomes["3.b"] == Outcome.FAILED
    assert run.outcomes["3.d"] == Outcome.FAILED  # no StatusNotification at all


async def test_scheduled_during_a_transaction_is_not_observed(scripted, make_ctx):
    Station(scripted, answer="Scheduled")
    run = await run_step(step_module(3), make_ctx(status_window=0.3), time_limit=20)
    assert run.outcomes["3.b"] == Outcome.NOT_OBSERVED
    assert run.proposed != Proposed.OK


async def test_faulted_without_error_code_fails_3d(scripted, make_ctx):
    Station(scripted)
    scripted.emit("StatusNotification", _status(1, "Faulted"), 0.01)
    ctx = make_ctx()
    run = await run_step(step_module(3), ctx, time_limit=20)
    assert run.outcomes["3.d"] == Outcome.FAILED
    bad = next(r for r in ctx.results if r.key == "3.d#c1")
    assert "Faulted without error details (errorCode NoError)" in bad.detail


async def test_connector_zero_never_reporting_fails_3c_and_3d(scripted, make_ctx):
    station = Station(scripted)

    def without_zero(payload: dict) -> dict:
        station.status = STATUS_OF.get(payload.get("type"), station.status)
        for connector in (1, 2):
            scripted.emit("StatusNotification", _status(connector, station.status), 0.05)
        return {"status": "Accepted"}

    scripted.on("ChangeAvailability", without_zero)
    scripted.on("TriggerMessage", without_zero)
    ctx = make_ctx(status_window=0.5)
    run = await run_step(step_module(3), ctx, time_limit=20)
    assert run.outcomes["3.c"] == Outcome.FAILED
    assert run.outcomes["3.d"] == Outcome.FAILED
    assert next(r for r in ctx.results if r.key == "3.d#c0").detail == (
        "No StatusNotification from connector 0 during the step"
    )


# --- on the simulator -------------------------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_change_availability_passes_on_the_compliant_simulator(lab):
    sim = await lab.start()
    run, _ = await lab.run(change_availability.NUMBER)
    assert run.proposed == Proposed.OK, run.result_text
    assert all(c.operative for c in sim.connectors.values())


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_no_status_on_availability_change_fails_3c(lab):
    sim = await lab.start(defects=("no_status_on_availability_change",))
    run, _ = await lab.run(change_availability.NUMBER, status_window=2)
    assert run.outcomes == {
        "3.a": Outcome.PASSED,
        "3.b": Outcome.PASSED,
        "3.c": Outcome.FAILED,
        "3.d": Outcome.PASSED,
    }
    assert "none from 0, 1, 2 within 2 s" in run.result_text
    assert all(c.operative for c in sim.connectors.values())
