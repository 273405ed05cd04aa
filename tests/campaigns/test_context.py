"""The verbs a step is written in, against a scripted station."""

import asyncio

from campaigns.engine.port import CallRejected
from campaigns.engine.results import Outcome


async def test_call_returns_payload_and_its_frames(scripted, make_ctx):
    scripted.on("ClearCache", {"status": "Accepted"})
    async with make_ctx() as ctx:
        reply = await ctx.call("ClearCache")
    assert reply.ok and reply.status == "Accepted"
    assert [f.message_type for f in reply.frames] == ["CALL", "CALLRESULT"]
    assert reply.request.unique_id == reply.response.unique_id


async def test_a_callerror_is_a_reply_not_an_exception(scripted, make_ctx):
    scripted.on("UpdateFirmware", CallRejected("NotImplemented", "no firmware update"))
    async with make_ctx() as ctx:
        reply = await ctx.call("UpdateFirmware", {"location": "x", "retrieveDate": "y"})
    assert not reply.ok
    assert reply.describe() == "CALLERROR NotImplemented (no firmware update)"
    assert reply.response.message_type == "CALLERROR"


async def test_no_answer_times_out_as_a_reply(scripted, make_ctx):
    scripted.on("Reset", None)
    async with make_ctx(call_timeout=0.3) as ctx:
        reply = await ctx.call("Reset", {"type": "Soft"})
    assert reply.timed_out and reply.describe() == "no answer in time"


async def test_expect_matches_a_subset_of_the_payload_and_respects_since(scripted, make_ctx):
    async with make_ctx() as ctx:
        scripted.emit("StatusNotification", {"connectorId": 1, "status": "Available"})
        await asyncio.sleep(0.05)
        mark = ctx.mark()
        scripted.emit("StatusNotification", {"connectorId": 1, "status": "Preparing"}, 0.1)
        frame = await ctx.expect("StatusNotification", {"connectorId": 1}, within=2, since=mark)
    assert frame.payload["status"] == "Preparing"


async def test_expect_gives_none_after_its_window(scripted, make_ctx):
    async with make_ctx() as ctx:
        scripted.emit("Heartbeat", {}, 0.5)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await ctx.expect("Heartbeat", within=0.2) is None
        assert loop.time() - started < 0.45


async def test_collect_keeps_everything_in_the_window(scripted, make_ctx):
    async with make_ctx() as ctx:
        for delay in (0.05, 0.1, 0.15):
            scripted.emit("MeterValues", {"connectorId": 1, "meterValue": []}, delay)
        scripted.emit("Heartbeat", {}, 0.1)
        frames = await ctx.collect("MeterValues", during=0.4)
    assert len(frames) == 3


async def test_check_outcomes_and_evidence(make_ctx, scripted):
    scripted.on("ClearCache", {"status": "Accepted"})
    async with make_ctx() as ctx:
        reply = await ctx.call("ClearCache")
        passed = ctx.check("15.a", True, "fine", evidence=reply.frames)
        failed = ctx.check("15.a", False, "bad")
        unseen = ctx.check("15.a", None, "not seen")
    assert (passed.outcome, failed.outcome, unseen.outcome) == (
        Outcome.PASSED,
        Outcome.FAILED,
        Outcome.NOT_OBSERVED,
    )
    assert passed.evidence[0]["action"] == "ClearCache"
    assert passed.key != failed.key


async def test_prompt_without_an_operator_channel_times_out(make_ctx):
    async with make_ctx() as ctx:
        answer = await ctx.prompt("Plug the cable in")
    assert answer.timed_out and answer.choice is None


async def test_wait_disconnected_and_connected(scripted, make_ctx):
    async with make_ctx() as ctx:
        scripted.disconnect(0.1)
        scripted.reconnect(0.5)
        assert await ctx.wait_disconnected(within=2)
        assert await ctx.wait_connected(within=2)
