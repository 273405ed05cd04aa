"""Step 10 (hardware errors): on the simulator, and scripted for what a simulator cannot show (an
error that is not Faulted, a station error put on the connectors, no recovery, no operator)."""

import pytest

from campaigns.engine.context import StepContext
from campaigns.engine.prompts import Answer
from campaigns.engine.results import Outcome
from campaigns.engine.runner import Ending, run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import step_module


def _status(connector, status, error="NoError"):
    return {"connectorId": connector, "status": status, "errorCode": error}


class Operator:
    """Answers prompts in turn; each answer may make the scripted station send frames."""

    def __init__(self, scripted, steps):
        self.scripted, self.steps, self.asked = scripted, list(steps), []

    async def ask(self, prompt):
        self.asked.append(prompt)
        answer, frames = self.steps.pop(0)
        if callable(frames):  # something else happens to the station meanwhile
            frames = frames()
        for payload in frames:
            self.scripted.emit("StatusNotification", payload, 0.05)
        return answer


DONE_GROUND = Answer("Done", value="pulled the CP pin")
DONE_STATION = Answer("Done", value="phase L3 removed")
DONE = Answer("Done")


def _ctx(make_ctx, operator) -> StepContext:
    ctx = make_ctx(status_window=1, reconnect_timeout=1)
    ctx.prompts = operator
    return ctx


# --- on the simulator ---------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_hardware_errors_pass_on_the_compliant_simulator(lab):
    simulator = await lab.start()
    run, ctx = await lab.run(10)
    assert run.proposed == Proposed.OK, run.result_text
    assert run.result_text == (
        "Ok, connector 1 Faulted GroundFailure; connector 0 Faulted PowerMeterFailure; "
        "cleared to Available"
    )
    assert [e["created"] for e in ctx.attachments["hardware_errors"]] == [
        "GroundFailure",
        "PowerMeterFailure",
    ]
    assert all(c.fault is None for c in simulator.connectors.values())


# --- scripted -----------------------------------------------------------------------------------


async def test_both_errors_reported_and_cleared_pass(scripted, make_ctx):
    operator = Operator(scripted, [
        (DONE_GROUND, [_status(1, "Faulted", "GroundFailure")]),
        (DONE_STATION, [_status(0, "Faulted", "OtherError")]),
        (DONE, [_status(1, "Available")]),
        (DONE, [_status(0, "Available")]),
    ])  # fmt: skip
    ctx = _ctx(make_ctx, operator)
    run = await run_step(step_module(10), ctx, time_limit=20)
    assert run.proposed == Proposed.OK, run.result_text
    assert "Operator created: pulled the CP pin" in ctx.results[0].detail
    assert operator.asked[0].input_label == "Error created"
    assert ctx.attachments["hardware_errors"][1]["created"] == "phase L3 removed"


async def test_error_code_without_faulted_fails_10a(scripted, make_ctx):
    operator = Operator(scripted, [
        (DONE_GROUND, [_status(1, "Available", "GroundFailure")]),
        (DONE_STATION, [_status(0, "Available", "OtherError")]),
        (DONE, [_status(1, "Available")]),
        (DONE, [_status(0, "Available")]),
    ])  # fmt: skip
    ctx = _ctx(make_ctx, operator)
    run = await run_step(step_module(10), ctx, time_limit=20)
    assert run.outcomes == {"10.a": Outcome.PASSED, "10.b": Outcome.PASSED}
    finding = next(r for r in ctx.results if r.key == "10.a#error-faulted")
    assert (finding.outcome, finding.reference, finding.detail) == (
        Outcome.FAILED, "OCTT TC_041", "Connector 1 reports the error as Available, not Faulted",
    )  # fmt: skip
    assert run.result_text.endswith("(1 finding beyond the criteria for QA: OCTT TC_041)")


async def test_in_strict_mode_an_error_code_without_faulted_fails_10a(scripted, make_ctx):
    operator = Operator(scripted, [
        (DONE_GROUND, [_status(1, "Available", "GroundFailure")]),
        (DONE_STATION, [_status(0, "Available", "OtherError")]),
        (DONE, [_status(1, "Available")]),
        (DONE, [_status(0, "Available")]),
    ])  # fmt: skip
    run = await run_step(step_module(10), _ctx(make_ctx, operator), time_limit=20, strict=True)
    assert run.proposed == Proposed.FAILED
    assert run.result_text == (
        "Failed: Connector 1 reports the error as Available, not Faulted [OCTT TC_041]"
    )


async def test_a_status_the_station_itself_cannot_have_fails_the_sequence(scripted, make_ctx):
    operator = Operator(scripted, [
        (DONE_GROUND, [_status(1, "Faulted", "GroundFailure")]),
        (DONE_STATION, [_status(0, "Preparing", "OtherError")]),  # connector 0: A, U or F
        (DONE, [_status(1, "Available")]),
        (DONE, [_status(0, "Available")]),
    ])  # fmt: skip
    ctx = _ctx(make_ctx, operator)
    run = await run_step(step_module(10), ctx, time_limit=20)
    assert run.outcomes == {"10.a": Outcome.PASSED, "10.b": Outcome.FAILED}
    sequence = next(r for r in ctx.results if r.key == "10.b#sequence")
    assert "'Preparing' is not a status of connector 0 (the Charge Point)" in sequence.detail


async def test_station_error_on_the_connectors_instead_of_zero_fails_10b(scripted, make_ctx):
    operator = Operator(scripted, [
        (DONE_GROUND, [_status(1, "Faulted", "GroundFailure")]),
        (DONE_STATION, [_status(1, "Faulted", "OtherError"), _status(2, "Faulted", "OtherError")]),
        (DONE, [_status(1, "Available")]),
    ])  # fmt: skip
    run = await run_step(step_module(10), _ctx(make_ctx, operator), time_limit=20)
    assert run.outcomes == {"10.a": Outcome.PASSED, "10.b": Outcome.FAILED}
    assert run.result_text.startswith(
        "Failed: Operator created: phase L3 removed. No StatusNotification with an errorCode "
        "other than NoError for connector 0 within 1 s; received: StatusNotification connector "
        "1: Faulted, errorCode OtherError; StatusNotification connector 2: Faulted"
    )


async def test_error_that_is_not_cleared_fails(scripted, make_ctx):
    operator = Operator(scripted, [
        (DONE_GROUND, [_status(1, "Faulted", "GroundFailure")]),
        (DONE_STATION, [_status(0, "Faulted", "OtherError")]),
        (DONE, []),
        (DONE, [_status(0, "Available")]),
    ])  # fmt: skip
    run = await run_step(step_module(10), _ctx(make_ctx, operator), time_limit=20)
    assert run.outcomes == {"10.a": Outcome.FAILED, "10.b": Outcome.PASSED}
    assert "connector 1 did not report Available/NoError within 1 s" in run.result_text


async def test_operator_who_cannot_create_an_error_leaves_it_for_qa(scripted, make_ctx):
    operator = Operator(scripted, [(Answer("Cannot do"), []), (Answer(None, timed_out=True), [])])
    run = await run_step(step_module(10), _ctx(make_ctx, operator), time_limit=20)
    assert run.proposed == Proposed.INCOMPLETE
    assert run.outcomes == {"10.a": Outcome.NOT_OBSERVED, "10.b": Outcome.NOT_OBSERVED}
    assert "the operator answered “Cannot do” to “Create a hardware error" in run.result_text
    assert len(operator.asked) == 2  # nothing to clear


async def test_station_gone_mid_step_ends_offline(scripted, make_ctx):
    def power_lost():
        scripted.connected = False
        return []

    operator = Operator(scripted, [(DONE_GROUND, power_lost)])
    ctx = _ctx(make_ctx, operator)
    run = await run_step(step_module(10), ctx, time_limit=20)
    assert run.ending == Ending.STATION_OFFLINE
    assert run.outcomes == {"10.a": Outcome.FAILED, "10.b": Outcome.NOT_OBSERVED}
    assert len(operator.asked) == 1
