"""Single steps against a scripted station: the branches a simulator cannot easily show."""

import asyncio

import pytest

from campaigns.catalogue import load_catalogue
from campaigns.engine.port import CallRejected
from campaigns.engine.prompts import Answer
from campaigns.engine.results import Outcome
from campaigns.engine.runner import Ending, run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import all_steps, step_module
from tests.campaigns.conftest import GOOD_BOOT


def test_every_catalogue_function_has_its_step_module():
    steps = all_steps()
    assert sorted(steps) == list(range(1, 17))
    for number, module in steps.items():
        assert load_catalogue().function(number).criterion_ids == module.CRITERIA


async def test_boot_arriving_by_itself_passes(scripted, make_ctx):
    scripted.emit("BootNotification", GOOD_BOOT, 0.1)
    run = await run_step(step_module(1), make_ctx(), time_limit=10)
    assert run.proposed == Proposed.OK
    assert run.result_text == "Ok, HK-180-1000-AE2 firmware V112_72900_08001"


async def test_boot_is_triggered_when_none_arrives(scripted, make_ctx):
    scripted.on(
        "TriggerMessage", {"status": "Accepted"}, then=[("BootNotification", GOOD_BOOT, 0.1)]
    )
    ctx = make_ctx(boot_window=0.2)
    run = await run_step(step_module(1), ctx, time_limit=10)
    assert run.proposed == Proposed.OK
    assert scripted.calls[0] == ("TriggerMessage", {"requestedMessage": "BootNotification"})


async def test_boot_without_serial_number_fails_criterion(scripted, make_ctx):
    boot = {k: v for k, v in GOOD_BOOT.items() if k != "chargePointSerialNumber"}
    scripted.emit("BootNotification", boot, 0.1)
    ctx = make_ctx()
    run = await run_step(step_module(1), ctx, time_limit=10)
    assert run.outcomes == {"1.a": Outcome.FAILED}
    assert "lacks chargePointSerialNumber" in run.result_text


async def test_boot_with_another_firmware_than_the_record_fails(scripted, make_ctx):
    scripted.emit("BootNotification", {**GOOD_BOOT, "firmwareVersion": "V0"}, 0.1)
    run = await run_step(step_module(1), make_ctx(), time_limit=10)
    assert run.proposed == Proposed.FAILED
    assert "firmwareVersion is 'V0'" in run.result_text


class _Operator:
    def __init__(self, answer, meanwhile=None):
        self.answer, self.meanwhile = answer, meanwhile

    async def ask(self, prompt):
        if self.meanwhile:
            self.meanwhile()
            await asyncio.sleep(0.2)
        return self.answer


async def test_no_boot_at_all_fails_with_a_reason(scripted, make_ctx):
    scripted.on("TriggerMessage", {"status": "Accepted"})
    ctx = make_ctx(boot_window=0.1, status_window=0.1, reconnect_timeout=0.3)
    ctx.prompts = _Operator(Answer("Done"))  # rebooted, and still no boot
    run = await run_step(step_module(1), ctx, time_limit=10)
    assert run.proposed == Proposed.FAILED
    assert "No BootNotification was received" in run.result_text


@pytest.mark.parametrize(
    ("answer", "why"),
    [(Answer("Cannot do"), "answered “Cannot do”"), (Answer(None, timed_out=True), "expired")],
)
async def test_a_reboot_that_was_not_done_leaves_1a_not_observed(scripted, make_ctx, answer, why):
    scripted.on("TriggerMessage", {"status": "Accepted"})
    ctx = make_ctx(boot_window=0.1, status_window=0.1)
    ctx.prompts = _Operator(answer)
    run = await run_step(step_module(1), ctx, time_limit=10)
    assert run.outcomes == {"1.a": Outcome.NOT_OBSERVED}
    assert why in run.result_text


async def test_a_boot_sent_while_the_reboot_was_refused_is_reported_not_scored(scripted, make_ctx):
    scripted.on("TriggerMessage", {"status": "Accepted"})
    ctx = make_ctx(boot_window=0.1, status_window=0.1)
    ctx.prompts = _Operator(
        Answer("Cannot do"), lambda: scripted.emit("BootNotification", GOOD_BOOT)
    )
    run = await run_step(step_module(1), ctx, time_limit=10)
    assert run.outcomes == {"1.a": Outcome.NOT_OBSERVED}
    assert "the station sent BootNotification at" in run.result_text


async def test_clear_cache_rejected_fails(scripted, make_ctx):
    scripted.on("ClearCache", {"status": "Rejected"})
    run = await run_step(step_module(15), make_ctx(), time_limit=10)
    assert run.outcomes == {"15.a": Outcome.FAILED}


async def test_clear_cache_not_implemented_fails_precisely(scripted, make_ctx):
    scripted.on("ClearCache", CallRejected("NotImplemented"))
    run = await run_step(step_module(15), make_ctx(), time_limit=10)
    assert run.result_text == "Failed: ClearCache answered CALLERROR NotImplemented"


async def test_station_offline_ends_the_step_with_a_clear_result(scripted, make_ctx):
    scripted.connected = False
    run = await run_step(step_module(15), make_ctx(), time_limit=10)
    assert run.ending == Ending.STATION_OFFLINE
    assert run.outcomes == {"15.a": Outcome.NOT_OBSERVED}
    assert run.result_text.startswith("The station went offline during the step")


async def test_a_step_over_its_time_limit_ends_timed_out(scripted, make_ctx):
    scripted.on("ClearCache", None)
    run = await run_step(step_module(15), make_ctx(call_timeout=5), time_limit=0.3)
    assert run.ending == Ending.TIMED_OUT
    assert run.proposed == Proposed.INCOMPLETE


async def test_a_station_away_longer_than_the_reconnect_timeout_ends_a_waiting_step(
    scripted, make_ctx
):
    """Step 1 waits for a boot; the station leaves and does not come back."""
    scripted.on("TriggerMessage", {"status": "Accepted"})
    scripted.disconnect(0.2)
    ctx = make_ctx(boot_window=30, reconnect_timeout=0.5)
    run = await run_step(step_module(1), ctx, time_limit=20)
    assert run.ending == Ending.STATION_OFFLINE
    assert "disconnected for" in run.reason
    assert run.outcomes == {"1.a": Outcome.NOT_OBSERVED}


async def test_a_short_drop_within_the_reconnect_timeout_is_tolerated(scripted, make_ctx):
    scripted.disconnect(0.1)
    scripted.reconnect(0.4)
    scripted.emit("BootNotification", GOOD_BOOT, 0.6)
    run = await run_step(step_module(1), make_ctx(reconnect_timeout=3), time_limit=20)
    assert run.ending == Ending.FINISHED
    assert run.proposed == Proposed.OK
