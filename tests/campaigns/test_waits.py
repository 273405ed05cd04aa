"""Long waits on a silent station: QA can end one (its criteria are then not observed, with the
reason), and the engine ends one itself when the connected station leaves a harmless question
unanswered after a long silence, but never merely because the station is quiet."""

import asyncio

from campaigns.engine.port import CallRejected
from campaigns.engine.results import Outcome
from campaigns.engine.runner import Ending, run_step
from campaigns.engine.verdict import Proposed
from campaigns.engine.waits import SHOW_AFTER
from campaigns.steps import step_module


class Published:
    """A recorder that keeps what the step page would be shown of the waits."""

    def __init__(self) -> None:
        self.waits: list[dict | None] = []

    async def on_check(self, result) -> None:
        pass

    async def on_note(self, text: str) -> None:
        pass

    async def on_wait(self, wait: dict | None) -> None:
        self.waits.append(wait)


def _quiet_station(scripted, *, answers: int | None = None) -> None:
    """A station that does the heartbeat step's calls, then never sends a periodic Heartbeat;
    after ``answers`` GetConfigurations it stops answering them."""
    asked, value = [], ["2"]

    def get_configuration(payload: dict) -> dict | None:
        asked.append(payload)
        if answers is not None and len(asked) > answers:
            return None
        return {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False,
                                      "value": value[0]}]}  # fmt: skip

    def change_configuration(payload: dict) -> dict:
        value[0] = payload["value"]
        return {"status": "Accepted"}

    scripted.on("GetConfiguration", get_configuration)
    scripted.on("ChangeConfiguration", change_configuration)
    scripted.on("TriggerMessage", {"status": "Accepted"}, then=[("Heartbeat", {}, 0.1)])
    scripted.asked = asked


async def _end_the_wait_when_shown(ctx, published: Published) -> str:
    while not any(published.waits):
        await asyncio.sleep(0.05)
    return ctx.end_wait(published.waits[-1]["id"])


async def test_qa_ending_the_heartbeat_wait_leaves_its_criteria_not_observed(scripted, make_ctx):
    _quiet_station(scripted)
    published = Published()
    ctx = make_ctx(heartbeat_interval=20, silence_limit=0)
    ctx.recorder = published
    ctx.waits._publish = published.on_wait
    ended = asyncio.create_task(_end_the_wait_when_shown(ctx, published))
    run = await run_step(step_module(2), ctx, time_limit=60)
    reason = await ended
    assert reason.startswith("QA ended the wait after ")
    assert "s of silence (waiting for 2 Heartbeat)" in reason
    assert run.ending == Ending.WAIT_ENDED
    assert run.outcomes["2.a"] == Outcome.NOT_OBSERVED
    # 2.c had passed its reading and setting, but whether the interval is honoured is not seen
    assert run.outcomes["2.c"] == Outcome.NOT_OBSERVED
    assert run.outcomes["2.b"] == Outcome.PASSED
    assert run.proposed == Proposed.INCOMPLETE
    assert run.result_text.startswith("QA ended the wait after")
    assert "{" not in run.result_text
    ended_checks = [r for r in ctx.results if r.key.endswith("#ended")]
    assert {r.criterion for r in ended_checks} == {"2.a", "2.c"}
    assert all(r.detail.startswith("Not observed. QA ended the wait") for r in ended_checks)
    # the step still put the station's own interval back
    assert scripted.calls[-1] == ("ChangeConfiguration", {"key": "HeartbeatInterval",
                                                          "value": "2"})  # fmt: skip
    shown = next(w for w in published.waits if w)
    assert shown["what"] == "2 Heartbeat" and shown["until"] > shown["started"]
    assert published.waits[-1] is None  # the page stops showing it


async def test_a_connected_station_that_stops_answering_ends_the_step_early(scripted, make_ctx):
    _quiet_station(scripted, answers=2)  # the step's two reads, then nothing
    ctx = make_ctx(heartbeat_interval=20, silence_limit=1, call_timeout=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    run = await run_step(step_module(2), ctx, time_limit=120)
    assert loop.time() - started < 20  # the heartbeat window alone is 20 * 3 * 1.5 s
    assert run.ending == Ending.STATION_OFFLINE
    assert "stopped answering: nothing from it for" in run.reason
    assert "GetConfiguration went unanswered for 1 s" in run.reason
    assert run.outcomes["2.a"] == Outcome.NOT_OBSERVED
    assert run.outcomes["2.c"] == Outcome.NOT_OBSERVED
    assert run.proposed == Proposed.INCOMPLETE


async def test_a_silent_station_that_still_answers_is_waited_for_to_the_end(scripted, make_ctx):
    _quiet_station(scripted)
    ctx = make_ctx(heartbeat_interval=2, silence_limit=1, call_timeout=1)
    run = await run_step(step_module(2), ctx, time_limit=60)
    assert run.ending == Ending.FINISHED
    assert ctx.waits.probes >= 1
    assert len(scripted.asked) >= 3  # the step's two reads and at least one question
    # silence is not proof of anything: the step judges the missing Heartbeats itself
    assert run.outcomes["2.a"] == Outcome.FAILED
    assert "No periodic Heartbeat arrived within 9 s" in run.result_text


async def test_a_wait_ended_after_it_is_over_ends_nothing(scripted, make_ctx):
    async with make_ctx() as ctx:
        scripted.emit("Heartbeat", {}, SHOW_AFTER + 0.5)
        frame = await ctx.expect("Heartbeat", within=10)
        assert frame is not None
        assert ctx.end_wait(1) is None
        # a click on a wait that was over ends nothing else: the next long wait runs its time
        assert await ctx.expect("StatusNotification", within=5.5) is None


async def test_short_waits_are_not_shown(scripted, make_ctx):
    published = Published()
    ctx = make_ctx()
    ctx.waits._publish = published.on_wait
    scripted.on("ClearCache", CallRejected("NotImplemented"))
    async with ctx:
        await ctx.expect("Heartbeat", within=3)
        await asyncio.sleep(0.6)
    assert published.waits == []
