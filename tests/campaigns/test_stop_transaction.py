"""Step 7 · stop transaction: on the compliant simulator, and against a scripted charger for
rejected remote stops, wrong reasons and a station that keeps charging without its cable."""

import pytest

from campaigns.engine.context import StepContext
from campaigns.engine.params import LabParameters
from campaigns.engine.results import Outcome
from campaigns.engine.runner import run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import step_module
from tests.campaigns.charging_lab import ScriptedCharger, prepare_tags
from tests.campaigns.conftest import STATION

STEP = step_module(7)


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_stop_transaction_passes_on_the_compliant_simulator(lab):
    await prepare_tags()
    simulator = await lab.start()
    run, ctx = await lab.run(7)
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
    assert run.result_text.startswith("Ok, remote stop, local stop and cable unplugged")
    reasons = [r.detail.split("reason ")[-1] for r in ctx.results if r.key.endswith("#reason")]
    assert reasons == ["Remote", "Local", "EVDisconnected"]
    assert "finding" not in run.result_text
    idle = simulator.connectors[1]
    assert (idle.transaction, idle.plugged, idle.status) == (None, False, "Available")


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_a_remote_stop_without_reason_passes_with_an_octt_finding(lab):
    await prepare_tags()
    await lab.start(defects=("remote_stop_without_reason",))
    run, ctx = await lab.run(7)
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
    reason = next(r for r in ctx.results if r.key == "7.a#reason")
    assert (reason.outcome, reason.reference) == (Outcome.FAILED, "OCTT TC_012")
    assert "no reason (which means Local), expected Remote" in reason.detail
    assert "(1 finding beyond the criteria for QA: OCTT TC_012)" in run.result_text


def run_against(charger: ScriptedCharger):
    params = LabParameters.fast(
        answer_prompts_on_simulator=False, status_window=0.5, transaction_window=0.5
    )
    ctx = StepContext(port=charger, station=STATION, params=params, prompts=charger.operator)
    return ctx, run_step(STEP, ctx, time_limit=20)


async def test_scripted_charger_passes():
    ctx, running = run_against(ScriptedCharger())
    run = await running
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]


async def test_remote_stop_rejected_fails_7a_and_the_transaction_is_still_stopped():
    charger = ScriptedCharger(remote_stop="Rejected")
    _ctx, running = run_against(charger)
    run = await running
    assert run.outcomes["7.a"] == Outcome.FAILED
    assert "RemoteStopTransaction 41 answered Rejected" in run.result_text
    assert run.outcomes["7.b"] == Outcome.PASSED


async def test_a_wrong_stop_reason_is_an_octt_finding_not_a_lab_failure():
    ctx, running = run_against(ScriptedCharger(stop_reason="Other"))
    run = await running
    assert set(run.outcomes.values()) == {Outcome.PASSED}
    assert run.proposed == Proposed.OK
    reason = next(r for r in ctx.results if r.key == "7.a#reason")
    assert (reason.outcome, reason.reference, reason.detail) == (
        Outcome.FAILED, "OCTT TC_012",
        "StopTransaction 41 after RemoteStopTransaction: reason Other, expected Remote",
    )  # fmt: skip
    assert "3 findings beyond the criteria for QA: OCTT TC_012, OCTT TC_068, OCTT TC_005_1" in (
        run.result_text
    )


async def test_in_strict_mode_a_wrong_stop_reason_fails():
    charger = ScriptedCharger(stop_reason="Other")
    params = LabParameters.fast(
        answer_prompts_on_simulator=False, status_window=0.5, transaction_window=0.5
    )
    ctx = StepContext(port=charger, station=STATION, params=params, prompts=charger.operator)
    run = await run_step(STEP, ctx, time_limit=20, strict=True)
    assert run.proposed == Proposed.FAILED
    assert run.result_text == (
        "Failed: StopTransaction 41 after RemoteStopTransaction: reason Other, expected Remote "
        "[OCTT TC_012]"
    )


async def test_station_that_keeps_charging_without_cable_fails_7c_with_its_setting():
    charger = ScriptedCharger(ev_side_stop=False)
    _ctx, running = run_against(charger)
    run = await running
    assert run.outcomes == {"7.a": Outcome.PASSED, "7.b": Outcome.PASSED, "7.c": Outcome.FAILED}
    assert run.result_text == (
        "Failed: No StopTransaction for transaction 43 within 0.5 s after the cable unplugged "
        "(StopTransactionOnEVSideDisconnect is false)"
    )
    assert ("RemoteStopTransaction", {"transactionId": 43}) in charger.calls  # clean-up


async def test_no_transaction_at_all_leaves_every_criterion_not_observed():
    charger = ScriptedCharger()
    charger.on("RemoteStartTransaction", {"status": "Rejected"})
    _ctx, running = run_against(charger)
    run = await running
    assert set(run.outcomes.values()) == {Outcome.NOT_OBSERVED}
    assert run.result_text.startswith(
        "Incomplete: Precondition not met: no transaction could be started "
        "(RemoteStartTransaction Rejected"
    )


async def test_remote_stop_not_implemented_fails_7a_and_the_clean_up_still_ends_it():
    from campaigns.engine.port import CallRejected

    charger = ScriptedCharger()
    charger.on("RemoteStopTransaction", CallRejected("NotImplemented"))
    _, running = run_against(charger)
    run = await running
    assert run.outcomes["7.a"] == Outcome.FAILED
    assert "RemoteStopTransaction 41 answered CALLERROR NotImplemented" in run.result_text
    assert charger.operator.prompts[0] == (
        "Transaction 41 still runs: stop it at the station (present the tag CERTLAB-OK again, "
        "or press stop)."
    )
    assert charger.running is None
    assert run.outcomes["7.c"] == Outcome.PASSED


async def test_station_going_offline_mid_step_ends_clearly():
    from campaigns.engine.runner import Ending

    charger = ScriptedCharger()
    charger.on("RemoteStopTransaction", lambda p: charger.disconnect() or {"status": "Accepted"})
    _, running = run_against(charger)
    run = await running
    assert run.ending == Ending.STATION_OFFLINE
    assert run.outcomes["7.c"] == Outcome.NOT_OBSERVED
