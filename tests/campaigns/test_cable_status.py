"""Step 11 · cable status: on the simulator (compliant, and one that does not list
ConnectionTimeOut) and against a scripted charger for the branches a simulator cannot show."""

import pytest

from campaigns.engine.context import StepContext
from campaigns.engine.params import LabParameters
from campaigns.engine.prompts import Answer
from campaigns.engine.results import Outcome
from campaigns.engine.runner import run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import step_module
from tests.campaigns.charging_lab import AnsweringStation, prepare_tags
from tests.campaigns.conftest import STATION

STEP = step_module(11)


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_cable_status_passes_on_the_compliant_simulator(lab):
    await prepare_tags()
    simulator = await lab.start()
    run, ctx = await lab.run(11)
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
    timeout = next(r for r in ctx.results if r.key == "11.b#timeout")
    assert "Preparing, then Available after 1." in timeout.detail
    assert simulator.configuration.get("ConnectionTimeOut") == "60"  # restored
    statuses = [(s["connectorId"], s["status"]) for s in ctx.attachments["cable_statuses"]]
    assert statuses[-4:] == [(1, "Preparing"), (1, "Available"), (1, "Preparing"), (1, "Available")]
    assert simulator.connectors[1].status == "Available"


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_unlisted_connection_timeout_is_set_and_said(lab):
    await prepare_tags()
    await lab.start(defects=("get_configuration_missing_keys",))
    run, ctx = await lab.run(11)
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
    assert any("the value is unknown, so it is set to 1 s" in n for n in ctx.notes)


class CableStation(AnsweringStation):
    """Plug gives Preparing, unplug Available; RemoteStart without cable as scripted."""

    def __init__(self, *, after_remote=("Preparing", "Available"), plug_status="Preparing"):
        super().__init__()
        self.on(
            "GetConfiguration",
            {"configurationKey": [{"key": "ConnectionTimeOut", "readonly": False, "value": "1"}]},
        )
        self.on("ChangeConfiguration", {"status": "Accepted"})
        self.after_remote, self.plug_status = after_remote, plug_status
        self.on("RemoteStartTransaction", self._remote_start)

    def _remote_start(self, payload):
        for i, status in enumerate(self.after_remote):
            if status == "StartTransaction":
                self.station_call(
                    "StartTransaction",
                    {
                        "connectorId": 1,
                        "idTag": payload["idTag"],
                        "meterStart": 0,
                        "timestamp": "2026-01-01T00:00:00Z",
                    },
                    0.1,
                )
            else:
                self.status(1, status, 0.05 + i * 0.9)
        return {"status": "Accepted"}

    async def ask(self, prompt):
        self.status(1, self.plug_status if prompt.text.startswith("Plug") else "Available", 0.01)
        return Answer("Done")


def run_against(station):
    params = LabParameters.fast(
        answer_prompts_on_simulator=False, status_window=0.5, connection_timeout=1
    )
    ctx = StepContext(port=station, station=STATION, params=params, prompts=station)
    return ctx, run_step(STEP, ctx, time_limit=20)


async def test_scripted_station_passes():
    ctx, running = run_against(CableStation())
    run = await running
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]


async def test_station_that_stays_preparing_fails_11b():
    _, running = run_against(CableStation(after_remote=("Preparing",)))
    run = await running
    assert run.outcomes == {"11.a": Outcome.PASSED, "11.b": Outcome.FAILED}
    assert run.result_text == (
        "Failed: RemoteStartTransaction Accepted without a cable: Preparing, then still no "
        "Available/Faulted 1.5 s later (ConnectionTimeOut 1 s)"
    )


async def test_faulted_after_the_timeout_is_the_seed_reports_error_and_passes():
    ctx, running = run_against(CableStation(after_remote=("Preparing", "Faulted")))
    run = await running
    assert run.outcomes["11.b"] == Outcome.PASSED
    assert "Preparing, then Faulted after" in next(
        r.detail for r in ctx.results if r.key == "11.b#timeout"
    )


async def test_start_without_cable_fails_11b():
    station = CableStation(after_remote=("Preparing", "StartTransaction"))
    _, running = run_against(station)
    run = await running
    assert run.outcomes["11.b"] == Outcome.FAILED
    assert "a StartTransaction although no cable was plugged in" in run.result_text


async def test_plug_without_preparing_and_invalid_status_fail_11a():
    ctx, running = run_against(CableStation(plug_status="Occupied"))
    run = await running
    assert run.outcomes["11.a"] == Outcome.FAILED
    plug = next(r for r in ctx.results if r.key == "11.a#plug")
    assert plug.detail == (
        "Cable plugged: Occupied; expected Preparing within 0.5 s; "
        "status 'Occupied' is not an OCPP 1.6 status"
    )


async def test_remote_start_rejected_leaves_11b_not_observed():
    station = CableStation()
    station.on("RemoteStartTransaction", {"status": "Rejected"})
    _, running = run_against(station)
    run = await running
    assert run.outcomes == {"11.a": Outcome.PASSED, "11.b": Outcome.NOT_OBSERVED}
    assert "the connection timeout could not be provoked" in run.result_text


class HidingStation(CableStation):
    """A station whose MinimumStatusDuration (5 s) would hide the step's short Preparing."""

    def __init__(self):
        super().__init__()
        self.config = {"ConnectionTimeOut": "1", "MinimumStatusDuration": "5"}
        self.on("GetConfiguration", lambda p: {"configurationKey": [
            {"key": k, "readonly": False, "value": v} for k, v in self.config.items()
            if k in p.get("key", self.config)]})  # fmt: skip
        self.on("ChangeConfiguration", self._change)

    def _change(self, payload):
        self.config[payload["key"]] = payload["value"]
        return {"status": "Accepted"}


async def test_minimum_status_duration_is_zero_for_the_step_and_put_back():
    station = HidingStation()
    ctx, running = run_against(station)
    run = await running
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
    changes = [p for a, p in station.calls if a == "ChangeConfiguration"]
    assert changes[0] == {"key": "MinimumStatusDuration", "value": "0"}
    assert {"key": "MinimumStatusDuration", "value": "5"} in changes[1:]
    assert station.config["MinimumStatusDuration"] == "5"
