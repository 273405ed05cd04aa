"""Step 16 · TriggerMessage: on the simulator (compliant and its defect) and scripted."""

import pytest

from campaigns.engine.port import CallRejected
from campaigns.engine.results import Outcome
from campaigns.engine.runner import Ending, run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import step_module, trigger_message
from tests.campaigns.conftest import GOOD_BOOT

FOLLOWS = {
    "BootNotification": [GOOD_BOOT],
    "Heartbeat": [{}],
    "MeterValues": [{"connectorId": 1, "meterValue": []}],
    "DiagnosticsStatusNotification": [{"status": "Idle"}],
    "FirmwareStatusNotification": [{"status": "Idle"}],
    "StatusNotification": [
        {"connectorId": c, "status": "Available", "errorCode": "NoError"} for c in (0, 1, 2)
    ],
}


def _station(scripted, *, answers=None, silent=(), before_answer=False):
    """Answers TriggerMessage per requested message and sends what was asked for, except
    ``silent`` messages; ``before_answer`` sends them before the CALLRESULT."""
    answers = answers or {}

    def trigger(payload: dict) -> dict:
        message = payload["requestedMessage"]
        answer = answers.get(message, {"status": "Accepted"})
        if isinstance(answer, CallRejected):
            raise answer
        if answer["status"] == "Accepted" and message not in silent:
            for n, follow in enumerate(FOLLOWS[message]):
                if before_answer:
                    scripted._push("in", "CALL", message, f"t-{message}-{n}", follow)
                else:
                    scripted.emit(message, follow, 0.02)
        return answer

    scripted.on("TriggerMessage", trigger)


async def test_status_for_every_connector_passes_and_the_table_is_attached(scripted, make_ctx):
    _station(scripted)
    ctx = make_ctx()
    run = await run_step(step_module(16), ctx, time_limit=20)
    assert run.proposed == Proposed.OK, run.result_text
    assert run.result_text == (
        "Ok, accepted, status notification received as reply for connectors 0-2"
    )
    assert ctx.attachments["triggers"] == [
        {"requestedMessage": message, "status": "Accepted", "followed": True}
        for message in ("BootNotification", "StatusNotification", *trigger_message.OTHERS)
    ]


async def test_messages_before_the_answer_count(scripted, make_ctx):
    _station(scripted, before_answer=True)
    run = await run_step(step_module(16), make_ctx(), time_limit=20)
    assert run.proposed == Proposed.OK, run.result_text


async def test_status_trigger_rejected_fails_16a(scripted, make_ctx):
    _station(scripted, answers={"StatusNotification": {"status": "Rejected"}})
    ctx = make_ctx()
    run = await run_step(step_module(16), ctx, time_limit=20)
    assert run.outcomes == {"16.a": Outcome.FAILED}
    assert run.result_text == (
        "Failed: TriggerMessage StatusNotification (no connectorId) answered Rejected"
    )
    assert ctx.attachments["triggers"][1] == {
        "requestedMessage": "StatusNotification",
        "status": "Rejected",
        "followed": None,
    }


async def test_connector_zero_missing_fails_16a(scripted, make_ctx):
    _station(scripted)
    without_zero = FOLLOWS["StatusNotification"][1:]
    scripted_trigger = scripted.replies["TriggerMessage"][0]

    def trigger(payload: dict) -> dict:
        if payload["requestedMessage"] != "StatusNotification":
            return scripted_trigger(payload)
        for follow in without_zero:
            scripted.emit("StatusNotification", follow, 0.02)
        return {"status": "Accepted"}

    scripted.on("TriggerMessage", trigger)
    ctx = make_ctx(status_window=0.5)
    run = await run_step(step_module(16), ctx, time_limit=20)
    assert run.outcomes == {"16.a": Outcome.FAILED}
    assert run.result_text == (
        "Failed: StatusNotification from connector(s) 1, 2; none from 0 within 0.5 s of the trigger"
    )


async def test_other_types_not_implemented_are_recorded_not_failed(scripted, make_ctx):
    unsupported = {m: CallRejected("NotImplemented") for m in ("BootNotification", "MeterValues")}
    _station(scripted, answers=unsupported)
    ctx = make_ctx()
    run = await run_step(step_module(16), ctx, time_limit=20)
    assert run.proposed == Proposed.OK, run.result_text
    assert {row["requestedMessage"]: row["status"] for row in ctx.attachments["triggers"]} == {
        "BootNotification": "CALLERROR NotImplemented",
        "StatusNotification": "Accepted",
        "Heartbeat": "Accepted",
        "MeterValues": "CALLERROR NotImplemented",
        "DiagnosticsStatusNotification": "Accepted",
        "FirmwareStatusNotification": "Accepted",
    }
    assert any("as it has been online since its last boot" in note for note in ctx.notes)


async def test_a_trigger_accepted_with_nothing_following_is_a_finding_not_a_failed_16a(
    scripted, make_ctx
):
    _station(scripted, silent=("MeterValues",))
    ctx = make_ctx(status_window=0.3)
    run = await run_step(step_module(16), ctx, time_limit=20)
    assert run.outcomes == {"16.a": Outcome.PASSED}
    assert run.proposed == Proposed.OK
    finding = next(r for r in ctx.results if r.key == "16.a#MeterValues")
    assert (finding.level, finding.outcome, finding.reference) == (
        "finding", Outcome.FAILED, "OCTT TC_054",
    )  # fmt: skip
    assert run.result_text.endswith("(1 finding beyond the criteria for QA: OCTT TC_054)")


async def test_in_strict_mode_a_trigger_with_nothing_following_fails(scripted, make_ctx):
    _station(scripted, silent=("FirmwareStatusNotification",))
    run = await run_step(step_module(16), make_ctx(status_window=0.3), time_limit=20, strict=True)
    assert run.proposed == Proposed.FAILED
    assert run.result_text == (
        "Failed: TriggerMessage FirmwareStatusNotification answered Accepted; "
        "no FirmwareStatusNotification followed within 0.3 s [OCTT TC_054]"
    )


async def test_station_gone_ends_the_step_offline(scripted, make_ctx):
    _station(scripted)
    scripted.connected = False
    run = await run_step(step_module(16), make_ctx(), time_limit=20)
    assert run.ending == Ending.STATION_OFFLINE
    assert run.outcomes == {"16.a": Outcome.NOT_OBSERVED}


# --- on the simulator -------------------------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_trigger_message_passes_on_the_compliant_simulator(lab):
    await lab.start()
    run, ctx = await lab.run(trigger_message.NUMBER)
    assert run.proposed == Proposed.OK, run.result_text
    assert all(row["followed"] for row in ctx.attachments["triggers"])
    status = next(r for r in ctx.results if r.key == "16.a#status")
    assert status.detail.startswith("StatusNotification from connector(s) 0, 1, 2 within")


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_trigger_message_ignored_fails_16a(lab):
    await lab.start(defects=("trigger_message_ignored",))
    run, ctx = await lab.run(trigger_message.NUMBER, status_window=1)
    assert run.outcomes == {"16.a": Outcome.FAILED}
    status = next(r for r in ctx.results if r.key == "16.a#status")
    assert status.detail == (
        "StatusNotification from connector(s) none; none from 0, 1, 2 within 1 s of the trigger"
    )
    assert [row["followed"] for row in ctx.attachments["triggers"]] == [False] * 6
