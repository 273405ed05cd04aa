"""Step 6 · start transaction: on the simulator (compliant and no_start_after_remote_start) and
against a scripted station for the branches a simulator cannot show."""

import asyncio

import pytest

from campaigns.engine.port import CallRejected
from campaigns.engine.results import Outcome
from campaigns.engine.runner import Ending, run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import step_module
from tests.campaigns.charging_lab import AnsweringStation, prepare_tags
from tests.campaigns.conftest import STATION

STEP = step_module(6)


# --- on the simulator, through the real endpoint ---------------------------------------------
@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_start_transaction_passes_on_the_compliant_simulator(lab):
    await prepare_tags()
    simulator = await lab.start()
    run, ctx = await lab.run(6)
    assert run.proposed == Proposed.OK, run.result_text
    assert run.result_text.startswith("Ok, remote start (transaction ")
    start = next(r for r in ctx.results if r.key == "6.a#start")
    assert [e["action"] for e in start.evidence][-2:] == ["StartTransaction", "StartTransaction"]
    assert start.evidence[-1]["message_type"] == "CALLRESULT"
    idle = simulator.connectors[1]
    assert (idle.transaction, idle.plugged, idle.status) == (None, False, "Available")


@pytest.mark.e2e
@pytest.mark.timeout(180)
async def test_a_station_that_hides_preparing_passes(lab):
    await prepare_tags()
    await lab.start(defects=("no_preparing",))
    run, ctx = await lab.run(6)
    statuses = [r for r in ctx.results if r.key.endswith("#status")]
    assert [r.outcome for r in statuses] == [Outcome.PASSED, Outcome.PASSED], [
        r.detail for r in statuses
    ]
    assert "Preparing" not in statuses[0].detail
    assert run.proposed == Proposed.OK, run.result_text


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_no_start_after_remote_start_fails_criterion_6a(lab):
    await prepare_tags()
    await lab.start(defects=("no_start_after_remote_start",))
    run, ctx = await lab.run(6)
    details = [(r.key, r.outcome, r.detail) for r in ctx.results]
    assert run.outcomes == {"6.a": Outcome.FAILED, "6.b": Outcome.PASSED, "6.c": Outcome.PASSED}, (
        details
    )
    assert "No StartTransaction on connector 1 within 8 s after the cable was plugged in" in (
        run.result_text
    )


# --- against a scripted station ----------------------------------------------------------------
@pytest.fixture
def station():
    return AnsweringStation()


@pytest.fixture
def ctx_for(station):
    from campaigns.engine.context import StepContext
    from campaigns.engine.params import LabParameters

    def make(**overrides):
        params = LabParameters.fast(
            answer_prompts_on_simulator=False,
            status_window=0.5,
            transaction_window=0.5,
            **overrides,
        )
        return StepContext(port=station, station=STATION, params=params)

    return make


def charging_station(station, *, status_first=False):
    """Answer RemoteStart by starting at once (cable already in), in either status order."""

    def remote_start(payload):
        start = {
            "connectorId": 1,
            "idTag": payload["idTag"],
            "meterStart": 0,
            "timestamp": "2026-01-01T00:00:00Z",
        }
        if status_first:
            station.status(1, "Preparing", 0.01)
            station.status(1, "Charging", 0.02)
            station.station_call("StartTransaction", start, 0.03)
        else:
            station.status(1, "Preparing", 0.01)
            station.station_call("StartTransaction", start, 0.02)
            station.status(1, "Charging", 0.03)
        return {"status": "Accepted"}

    def remote_stop(payload):
        station.station_call(
            "StopTransaction",
            {
                "transactionId": payload["transactionId"],
                "meterStop": 5,
                "timestamp": "2026-01-01T00:01:00Z",
                "reason": "Remote",
            },
            0.01,
        )
        station.status(1, "Available", 0.02)
        return {"status": "Accepted"}

    station.on("RemoteStartTransaction", remote_start)
    station.on("RemoteStopTransaction", remote_stop)
    station.on("ClearCache", {"status": "Accepted"})


@pytest.mark.parametrize("status_first", [False, True])
async def test_remote_start_passes_with_charging_before_or_after_start(
    station, ctx_for, status_first
):
    charging_station(station, status_first=status_first)
    ctx = ctx_for()
    run = await run_step(STEP, ctx, time_limit=20)
    assert run.outcomes["6.a"] == Outcome.PASSED, [r.detail for r in ctx.results]
    assert ("RemoteStopTransaction", {"transactionId": 41}) in station.calls
    # No operator: the tag prompts expire, so the local parts are not observed, never failed.
    assert run.outcomes["6.b"] == Outcome.NOT_OBSERVED
    assert run.outcomes["6.c"] == Outcome.NOT_OBSERVED
    assert run.proposed == Proposed.INCOMPLETE
    assert "expired" in next(r.detail for r in ctx.results if r.key == "6.b#not-done")


async def test_remote_start_rejected_fails_6a_with_the_answer(station, ctx_for):
    station.on("RemoteStartTransaction", {"status": "Rejected"})
    station.on("ClearCache", {"status": "Accepted"})
    ctx = ctx_for()
    run = await run_step(STEP, ctx, time_limit=20)
    assert run.outcomes["6.a"] == Outcome.FAILED
    assert "RemoteStartTransaction (connector 1, idTag CERTLAB-OK) answered Rejected" in (
        run.result_text
    )
    assert [a for a, _ in station.calls].count("RemoteStartTransaction") == 1


async def test_remote_start_not_implemented_fails_precisely(station, ctx_for):
    station.on("RemoteStartTransaction", CallRejected("NotImplemented"))
    run = await run_step(STEP, ctx_for(), time_limit=20)
    assert run.outcomes["6.a"] == Outcome.FAILED
    assert "answered CALLERROR NotImplemented" in run.result_text


async def test_remote_start_without_answer_fails(station, ctx_for):
    station.on("RemoteStartTransaction", None)
    run = await run_step(STEP, ctx_for(call_timeout=0.3), time_limit=20)
    assert "answered no answer in time" in run.result_text


def _remote_start_with(station, statuses):
    def remote_start(payload):
        station.station_call(
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": payload["idTag"],
                "meterStart": 0,
                "timestamp": "2026-01-01T00:00:00Z",
            },
            0.01,
        )
        for n, status in enumerate(statuses):
            station.status(1, status, 0.02 + n * 0.01)
        return {"status": "Accepted"}

    station.on("RemoteStartTransaction", remote_start)


async def test_available_to_charging_without_preparing_passes_the_status_check(station, ctx_for):
    _remote_start_with(station, ["Charging"])  # MinimumStatusDuration hid Preparing
    ctx = ctx_for()
    await run_step(STEP, ctx, time_limit=20)
    status = next(r for r in ctx.results if r.key == "6.a#status")
    assert status.outcome == Outcome.PASSED, status.detail
    assert status.detail == (
        "StatusNotifications of the remote start: Connector 1: Charging; every transition "
        "allowed by OCPP 1.6 (section 4.9)"
    )


async def test_a_transition_ocpp_does_not_allow_fails_the_status_check(station, ctx_for):
    _remote_start_with(station, ["Finishing", "Reserved", "Charging"])
    ctx = ctx_for()
    await run_step(STEP, ctx, time_limit=20)
    status = next(r for r in ctx.results if r.key == "6.a#status")
    assert status.outcome == Outcome.FAILED
    assert "not possible in OCPP 1.6 (section 4.9): Finishing → Reserved" in status.detail


async def test_an_unexpected_transition_is_flagged_for_qa_and_passes_the_criterion(
    station, ctx_for
):
    _remote_start_with(station, ["Finishing", "Charging"])  # through a hidden Preparing
    ctx = ctx_for()
    await run_step(STEP, ctx, time_limit=20)
    status = next(r for r in ctx.results if r.key == "6.a#status")
    flag = next(r for r in ctx.results if r.key == "6.a#status-unexpected")
    assert status.outcome == Outcome.PASSED, status.detail
    assert (flag.outcome, flag.level, flag.reference) == (
        Outcome.FLAGGED, "finding", "OCPP 1.6 §4.9, OCTT §1.3",
    )  # fmt: skip


async def test_no_charging_state_fails_the_status_check(station, ctx_for):
    _remote_start_with(station, ["Preparing"])
    ctx = ctx_for()
    await run_step(STEP, ctx, time_limit=20)
    status = next(r for r in ctx.results if r.key == "6.a#status")
    assert status.outcome == Outcome.FAILED
    assert status.detail.endswith("never Charging or SuspendedEV or SuspendedEVSE")


async def test_start_with_another_id_tag_fails(station, ctx_for):
    def remote_start(payload):
        station.station_call(
            "StartTransaction",
            {
                "connectorId": 1,
                "idTag": "SOMEONE",
                "meterStart": 0,
                "timestamp": "2026-01-01T00:00:00Z",
            },
            0.01,
        )
        return {"status": "Accepted"}

    station.on("RemoteStartTransaction", remote_start)
    ctx = ctx_for()
    await run_step(STEP, ctx, time_limit=20)
    start = next(r for r in ctx.results if r.key == "6.a#start")
    assert start.outcome == Outcome.FAILED
    assert "idTag is 'SOMEONE', expected 'CERTLAB-OK'" in start.detail


async def test_invalid_tag_followed_by_a_start_fails_6c(station, ctx_for):
    """The operator presents the tags (scripted by the prompts' answers): the invalid one is
    refused by CertLab, yet the station starts charging."""
    from campaigns.engine.prompts import Answer

    class Operator:
        async def ask(self, prompt):
            if "unknown RFID tag" in prompt.text:
                station.station_call("Authorize", {"idTag": "CERTLAB-UNKNOWN"}, 0.01)
                station.station_call(
                    "StartTransaction",
                    {
                        "connectorId": 1,
                        "idTag": "CERTLAB-UNKNOWN",
                        "meterStart": 0,
                        "timestamp": "2026-01-01T00:00:00Z",
                    },
                    0.05,
                )
            return Answer("Done")

    charging_station(station)
    ctx = ctx_for()
    ctx.prompts = Operator()
    run = await run_step(STEP, ctx, time_limit=20)
    assert run.outcomes["6.c"] == Outcome.FAILED
    no_start = next(r for r in ctx.results if r.key == "6.c#no-start")
    assert no_start.detail.startswith("The sequence went on after the invalid tag CERTLAB-UNKNOWN")
    # The stray transaction is stopped again.
    assert ("RemoteStopTransaction", {"transactionId": 42}) in station.calls


async def test_station_offline_mid_step_ends_clearly(station, ctx_for):
    def remote_start(payload):
        station.disconnect(0.01)
        return {"status": "Accepted"}

    station.on("RemoteStartTransaction", remote_start)
    run = await run_step(STEP, ctx_for(), time_limit=20)
    assert run.ending == Ending.STATION_OFFLINE
    assert run.outcomes["6.b"] == Outcome.NOT_OBSERVED


async def test_the_cable_is_asked_for_inside_the_stations_connection_timeout_without_preparing():
    """A station that hides Preparing shows nothing after RemoteStartTransaction Accepted; its
    start lapses after ConnectionTimeOut (3 s here). The cable prompt must not wait out the lab's
    status window (30 s in a certification) first."""
    from campaigns.engine import charging
    from campaigns.engine.context import StepContext
    from campaigns.engine.params import LabParameters
    from campaigns.engine.prompts import Answer

    station = AnsweringStation()
    loop = asyncio.get_running_loop()
    accepted_at = []

    def remote_start(payload):
        accepted_at.append(loop.time())
        return {"status": "Accepted"}  # and no Preparing

    class Operator:
        async def ask(self, prompt):
            if prompt.text.startswith("Plug the charging cable") and (
                loop.time() - accepted_at[0] < 3.0  # the station still waits for the cable
            ):
                station.station_call("StartTransaction", {"connectorId": 1,
                                     "idTag": "CERTLAB-OK", "meterStart": 0,
                                     "timestamp": "2026-01-01T00:00:00Z"}, 0.05)  # fmt: skip
                station.status(1, "Charging", 0.1)
                return Answer("Done")
            return Answer("Cannot do")

    station.on("RemoteStartTransaction", remote_start)
    params = LabParameters.fast(answer_prompts_on_simulator=False, status_window=30)
    ctx = StepContext(port=station, station=STATION, params=params, prompts=Operator())
    async with ctx:
        session = await charging.remote_start(ctx, 1, "CERTLAB-OK")
    assert session.transaction_id == 41


@pytest.mark.parametrize(("cable_prompt_wait", "asked"), [(4, False), (0, True)])
async def test_how_long_a_start_is_awaited_before_the_cable_prompt_is_the_lab_parameter(
    cable_prompt_wait, asked
):
    """A station with the cable already in that starts 1.5 s after RemoteStartTransaction,
    showing no Preparing first: given 4 s nobody is asked for the cable; given 0 s (and the
    moment's grace) the operator is asked before the start comes, and the start still counts."""
    from campaigns.engine import charging
    from campaigns.engine.context import StepContext
    from campaigns.engine.params import LabParameters
    from campaigns.engine.prompts import Answer

    station = AnsweringStation()
    asked_for = []

    def remote_start(payload):
        start = {"connectorId": 1, "idTag": payload["idTag"], "meterStart": 0,
                 "timestamp": "2026-01-01T00:00:00Z"}  # fmt: skip
        station.station_call("StartTransaction", start, 1.5)
        station.status(1, "Charging", 1.6)
        return {"status": "Accepted"}

    class Operator:
        async def ask(self, prompt):
            asked_for.append(prompt.text)
            return Answer("Done")

    station.on("RemoteStartTransaction", remote_start)
    params = LabParameters.fast(
        answer_prompts_on_simulator=False, status_window=30, cable_prompt_wait=cable_prompt_wait
    )
    ctx = StepContext(port=station, station=STATION, params=params, prompts=Operator())
    async with ctx:
        session = await charging.remote_start(ctx, 1, "CERTLAB-OK")
    assert session.transaction_id == 41
    assert bool(asked_for) is asked, asked_for
    assert session.plugged is asked
