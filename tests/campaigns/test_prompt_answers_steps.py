"""Every prompt of the steps that prompt (6, 7, 10, 11, 14), answered "Cannot do" and left to
expire: the criterion that needed the action is not observed, never Ok or Failed, the step goes
on with its other parts and leaves the station idle; and a station that does the thing by itself
at the wrong moment is never taken for the action."""

import asyncio
from datetime import UTC, datetime

import pytest

from campaigns.engine.context import StepContext
from campaigns.engine.params import LabParameters
from campaigns.engine.prompts import Answer
from campaigns.engine.results import Outcome
from campaigns.engine.runner import run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import step_module
from tests.campaigns.charging_lab import ScriptedCharger
from tests.campaigns.conftest import STATION
from tests.campaigns.test_cable_status import CableStation
from tests.campaigns.test_offline_transactions import OfflineCharger, meter, stop

CANNOT = Answer("Cannot do")
EXPIRED = Answer(None, timed_out=True)
NOT_DONE = pytest.mark.parametrize(
    ("answer", "why"), [(CANNOT, "answered “Cannot do”"), (EXPIRED, "expired")]
)


class Refusing:
    """Answers the prompt whose text contains ``match`` with ``answer``, after ``meanwhile``
    (what the station does by itself while that prompt is open); the other prompts go to
    ``person``, the scripted operator at the station."""

    def __init__(self, person, match, answer, meanwhile=None):
        self.person, self.match, self.answer, self.meanwhile = person, match, answer, meanwhile
        self.asked: list[str] = []

    async def ask(self, prompt):
        self.asked.append(prompt.text)
        if self.match in prompt.text:
            if self.meanwhile:
                self.meanwhile()
                await asyncio.sleep(0.2)
            return self.answer
        return await self.person.ask(prompt)


def _run(step: int, port, operator, **overrides):
    params = LabParameters.fast(answer_prompts_on_simulator=False, **overrides)
    ctx = StepContext(port=port, station=STATION, params=params, prompts=operator)
    return ctx, run_step(step_module(step), ctx, time_limit=30)


def _detail(ctx, key):
    return next(r.detail for r in ctx.results if r.key == key)


# --- step 7 --------------------------------------------------------------------------------------
STOP_FAST = {"status_window": 0.5, "transaction_window": 0.5}


@NOT_DONE
@pytest.mark.parametrize(
    ("criterion", "match"),
    [("7.b", "present the tag"), ("7.c", "Unplug the charging cable from connector 1 while")],
)
async def test_step_7_stop_not_done_is_not_observed_and_the_transaction_is_stopped(
    answer, why, criterion, match
):
    charger = ScriptedCharger()
    operator = Refusing(charger.operator, match, answer)
    ctx, running = _run(7, charger, operator, **STOP_FAST)
    run = await running
    others = {c: Outcome.PASSED for c in ("7.a", "7.b", "7.c") if c != criterion}
    assert run.outcomes == {criterion: Outcome.NOT_OBSERVED, **others}
    assert run.proposed == Proposed.INCOMPLETE
    assert why in _detail(ctx, f"{criterion}#not-done")
    assert charger.running is None  # the clean-up stopped it


async def test_step_7_a_station_that_stops_by_itself_after_cannot_do_does_not_pass():
    """The false pass of issue 13: both local stops "Cannot do", the station ends each
    transaction by itself (reason Local) while the prompt is open."""
    charger = ScriptedCharger()
    operator = Refusing(charger.operator, "", CANNOT, meanwhile=lambda: charger.stop("Local"))
    ctx, running = _run(7, charger, operator, **STOP_FAST)
    run = await running
    assert run.outcomes == {
        "7.a": Outcome.PASSED,
        "7.b": Outcome.NOT_OBSERVED,
        "7.c": Outcome.NOT_OBSERVED,
    }
    assert "While it was open the station sent StopTransaction" in _detail(ctx, "7.b#not-done")
    assert "reason Local" in _detail(ctx, "7.b#not-done")
    assert not any(r.outcome == Outcome.PASSED for r in ctx.results if r.criterion != "7.a")


class SelfStopping(ScriptedCharger):
    """Ends the transactions after the first by itself (reason Local) right after they start,
    before anyone is asked to stop them."""

    def __init__(self):
        super().__init__()
        self.starts = 0

    def _remote_start(self, payload):
        self.starts += 1
        if self.starts == 1:
            return super()._remote_start(payload)
        self.status(1, "Preparing", 0.01)
        start = {"connectorId": 1, "idTag": payload["idTag"], "meterStart": 0,
                 "timestamp": "2026-01-01T00:00:00Z"}  # fmt: skip
        self.station_call("StartTransaction", start, 0.02)
        asyncio.get_running_loop().call_later(0.03, self.stop, "Local")  # before Charging
        return {"status": "Accepted"}


async def test_step_7_a_stop_before_the_prompt_is_unexpected_not_a_pass():
    charger = SelfStopping()
    ctx, running = _run(7, charger, charger.operator, **STOP_FAST)
    run = await running
    assert run.outcomes["7.b"] == Outcome.NOT_OBSERVED
    assert run.outcomes["7.c"] == Outcome.NOT_OBSERVED
    assert _detail(ctx, "7.b#stop").startswith(
        "Unexpected, QA to judge: the station ended transaction 42 by itself before the same "
        "tag presented again: StopTransaction at "
    )
    assert not any("present the tag" in text for text in charger.operator.prompts)


# --- step 6 --------------------------------------------------------------------------------------
class TagCharger(ScriptedCharger):
    """Also reads tags: a presented tag gives Authorize and, when CertLab accepts it and the
    cable is in, a StartTransaction."""

    def __init__(self):
        super().__init__()
        self.operator.ask = self.ask
        self.plugged = False

    async def ask(self, prompt):
        text = prompt.text
        if text.startswith("Plug"):
            self.plugged = True
        elif text.startswith("Unplug"):
            self.plugged = False
            if self.running:
                self.stop("EVDisconnected", final="Available")
        elif text.startswith("Present the"):
            tag = "CERTLAB-OK" if "valid RFID" in text else "CERTLAB-UNKNOWN"
            self.station_call("Authorize", {"idTag": tag}, 0.01)
            if tag == "CERTLAB-OK":
                self._remote_start({"idTag": tag})
        elif "still runs" in text:
            self.stop("Local")
        return Answer("Done")


@NOT_DONE
@pytest.mark.parametrize(
    ("criterion", "match"),
    [("6.b", "Present the valid RFID tag"), ("6.c", "Present the unknown RFID tag")],
)
async def test_step_6_tag_not_presented_is_not_observed_without_waiting(
    answer, why, criterion, match
):
    charger = TagCharger()
    operator = Refusing(charger, match, answer)
    ctx, running = _run(6, charger, operator, **STOP_FAST)
    run = await running
    assert run.outcomes[criterion] == Outcome.NOT_OBSERVED
    assert why in _detail(ctx, f"{criterion}#not-done")
    assert not [r for r in ctx.results if r.criterion == criterion and r.key.endswith("authorize")]
    assert run.outcomes["6.a"] == Outcome.PASSED
    assert charger.running is None


@NOT_DONE
async def test_step_6_invalid_tag_without_the_cable_in_cannot_prove_no_start(answer, why):
    charger = TagCharger()
    operator = Refusing(charger, "leave it in", answer)
    ctx, running = _run(6, charger, operator, **STOP_FAST)
    run = await running
    assert run.outcomes["6.c"] == Outcome.NOT_OBSERVED
    assert why in _detail(ctx, "6.c#no-start")
    authorize = next(r for r in ctx.results if r.key == "6.c#authorize")
    assert authorize.outcome == Outcome.PASSED  # the part that needs no cable is still judged


async def test_step_6_a_start_the_station_makes_by_itself_meanwhile_is_not_taken_and_is_stopped():
    charger = TagCharger()

    def starts_by_itself():
        charger.station_call("Authorize", {"idTag": "CERTLAB-OK"}, 0.01)
        charger._remote_start({"idTag": "CERTLAB-OK"})

    operator = Refusing(charger, "Present the valid RFID tag", CANNOT, starts_by_itself)
    ctx, running = _run(6, charger, operator, **STOP_FAST)
    run = await running
    assert run.outcomes["6.b"] == Outcome.NOT_OBSERVED
    assert "the station sent Authorize at" in _detail(ctx, "6.b#not-done")
    assert charger.running is None  # the stray transaction was stopped


# --- step 10 -------------------------------------------------------------------------------------
class FaultyStation(CableStation):
    async def ask(self, prompt):
        if prompt.text.startswith("Create"):
            connector = 1 if "on connector 1" in prompt.text else 0
            self.station_call(
                "StatusNotification",
                {"connectorId": connector, "status": "Faulted", "errorCode": "GroundFailure"},
                0.01,
            )
        elif prompt.text.startswith("Clear"):
            connector = 1 if "connector 1" in prompt.text else 0
            self.status(connector, "Available", 0.01)
        return Answer("Done", value="made")


@NOT_DONE
@pytest.mark.parametrize(("criterion", "match"), [("10.a", "connector 1 ("), ("10.b", "whole")])
async def test_step_10_error_not_created_is_not_observed(answer, why, criterion, match):
    station = FaultyStation()
    ctx, running = _run(10, station, Refusing(station, match, answer), status_window=0.5)
    run = await running
    other = "10.b" if criterion == "10.a" else "10.a"
    assert run.outcomes == {criterion: Outcome.NOT_OBSERVED, other: Outcome.PASSED}
    assert why in _detail(ctx, f"{criterion}#not-done")


@NOT_DONE
async def test_step_10_error_not_cleared_is_not_observed(answer, why):
    station = FaultyStation()
    operator = Refusing(station, "Clear the error you created on connector 1", answer)
    ctx, running = _run(10, station, operator, status_window=0.5)
    run = await running
    assert run.outcomes == {"10.a": Outcome.NOT_OBSERVED, "10.b": Outcome.PASSED}
    assert why in _detail(ctx, "10.a#cleared")


async def test_step_10_a_fault_the_station_reports_by_itself_after_cannot_do_is_not_scored():
    station = FaultyStation()

    def faults_by_itself():
        station.station_call(
            "StatusNotification",
            {"connectorId": 1, "status": "Faulted", "errorCode": "OverCurrentFailure"},
        )

    operator = Refusing(station, "connector 1 (", CANNOT, faults_by_itself)
    ctx, running = _run(10, station, operator, status_window=0.5)
    run = await running
    assert run.outcomes["10.a"] == Outcome.NOT_OBSERVED
    assert "station sent StatusNotification at" in _detail(ctx, "10.a#not-done")


# --- step 11 -------------------------------------------------------------------------------------
CABLE_FAST = {"status_window": 0.5, "connection_timeout": 1}


@NOT_DONE
async def test_step_11_cable_not_plugged_leaves_11a_not_observed_and_11b_judged(answer, why):
    station = CableStation()
    operator = Refusing(station, "Plug", answer)
    ctx, running = _run(11, station, operator, **CABLE_FAST)
    run = await running
    assert run.outcomes == {"11.a": Outcome.NOT_OBSERVED, "11.b": Outcome.PASSED}
    assert why in _detail(ctx, "11.a#not-done")
    assert not any(text.startswith("Unplug") for text in operator.asked)  # nothing to unplug


@NOT_DONE
async def test_step_11_cable_not_unplugged_spoils_11b_too(answer, why):
    station = CableStation()
    operator = Refusing(station, "Unplug", answer)
    _, running = _run(11, station, operator, **CABLE_FAST)
    run = await running
    assert run.outcomes == {"11.a": Outcome.NOT_OBSERVED, "11.b": Outcome.NOT_OBSERVED}
    assert ("RemoteStartTransaction", {"connectorId": 1, "idTag": "CERTLAB-OK"}) not in (
        station.calls
    )


async def test_step_11_preparing_sent_by_itself_while_plugging_was_refused_is_not_a_pass():
    station = CableStation()
    operator = Refusing(station, "Plug", CANNOT, meanwhile=lambda: station.status(1, "Preparing"))
    ctx, running = _run(11, station, operator, **CABLE_FAST)
    run = await running
    assert run.outcomes["11.a"] == Outcome.NOT_OBSERVED
    assert "station sent StatusNotification at" in _detail(ctx, "11.a#not-done")


# --- step 14 -------------------------------------------------------------------------------------
OFFLINE_FAST = {
    "status_window": 1,
    "transaction_window": 0.5,
    "meter_interval": 0.2,
    "reconnect_timeout": 2,
}


@NOT_DONE
async def test_step_14_network_not_cut_is_not_observed_and_the_transaction_stopped(answer, why):
    charger = OfflineCharger(lambda tx: [meter(tx, 0.9), stop(tx, 0.7)])
    operator = Refusing(charger.operator, "Cut the station's network", answer)
    ctx, running = _run(14, charger, operator, **OFFLINE_FAST)
    run = await running
    assert run.outcomes == {"14.a": Outcome.NOT_OBSERVED}
    assert why in _detail(ctx, "14.a#not-done")
    assert ("RemoteStopTransaction", {"transactionId": 41}) in charger.calls
    assert charger.running is None


@NOT_DONE
async def test_step_14_second_outage_not_done_leaves_only_the_stop_unobserved(answer, why):
    charger = OfflineCharger(lambda tx: [meter(tx, 0.9)])  # back, still charging
    operator = Refusing(charger.operator, "is still running", answer)
    ctx, running = _run(14, charger, operator, **OFFLINE_FAST)
    run = await running
    assert run.outcomes == {"14.a": Outcome.NOT_OBSERVED}
    assert why in _detail(ctx, "14.a#stop")
    meters = next(r for r in ctx.results if r.key == "14.a#meter-values")
    assert meters.outcome == Outcome.PASSED
    assert not any(r.outcome == Outcome.FAILED for r in ctx.results)


class LiveFirst(OfflineCharger):
    """Back from the outage, sends a fresh live sample at once and its queue 0.3 s later."""

    def _back(self, tx):
        self.connected = True
        self.connection_id += 1
        self.station_call(*meter(tx, -0.05), 0.01)
        for i, (action, payload) in enumerate([meter(tx, 0.9), stop(tx, 0.7)]):
            self.station_call(action, payload, 0.3 + 0.01 * i)
        asyncio.get_running_loop().call_later(0.35, setattr, self, "running", None)


async def test_step_14_a_live_sample_before_the_queue_does_not_end_the_wait():
    charger = LiveFirst()
    operator = Refusing(charger.operator, "\x00", CANNOT)
    ctx, running = _run(14, charger, operator, **OFFLINE_FAST)
    run = await running
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
    assert not any("still running" in text for text in operator.asked)


class ConnectorSamples(OfflineCharger):
    """Back from the outage, sends its connectors' own samples (no transactionId) first."""

    def _back(self, tx):
        super()._back(tx)
        if self.connected:
            now = datetime.now(UTC).isoformat()
            sample = {"timestamp": now, "sampledValue": [{"value": "1"}]}
            self.station_call("MeterValues", {"connectorId": 2, "meterValue": [sample]})


async def test_step_14_a_connectors_own_sample_is_no_transaction_message():
    charger = ConnectorSamples(lambda tx: [meter(tx, 0.9), stop(tx, 0.7)])
    ctx, running = _run(14, charger, charger.operator, **OFFLINE_FAST)
    run = await running
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
