"""What a prompt answer means, decided once in the engine: "Cannot do" and an expired prompt
leave what depended on the action not observed, with the reason, and nothing that follows is
scored; frames sent while the prompt was open are reported, never taken as the answer. And
CertLab's own answer to a station's call is known, or missing for a lab-side reason."""

import asyncio

import pytest

from campaigns.engine.port import LabTrouble, StationGone
from campaigns.engine.prompts import Answer
from campaigns.engine.results import Outcome
from campaigns.engine.runner import Ending, run_step
from campaigns.engine.verdict import Proposed
from tests.campaigns.charging_lab import AnsweringStation

CANNOT = Answer("Cannot do")
EXPIRED = Answer(None, timed_out=True)


class Operator:
    """Answers every prompt with ``answer``, after ``meanwhile`` (what the station does by
    itself while the prompt is open)."""

    def __init__(self, answer, meanwhile=None):
        self.answer, self.meanwhile, self.asked = answer, meanwhile, []

    async def ask(self, prompt):
        self.asked.append(prompt.text)
        if self.meanwhile:
            self.meanwhile()
            await asyncio.sleep(0.1)
        return self.answer


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (CANNOT, "the operator answered “Cannot do” to “Present the tag”"),
        (EXPIRED, "“Present the tag” expired after 20 s with no answer"),
    ],
)
async def test_an_action_not_done_leaves_its_criterion_not_observed_with_the_reason(
    scripted, make_ctx, answer, why
):
    async with make_ctx() as ctx:
        ctx.prompts = Operator(answer)
        got = await ctx.prompt("Present the tag.", needed_by=("7.b",))
        assert not got.done and got.why_not == why
        # Whatever the step then makes of the frames, it is not scored.
        late = ctx.check("7.b", True, "StopTransaction reason Local", key="7.b#stop")
        other = ctx.check("7.a", True, "RemoteStopTransaction Accepted")
    assert ctx.results[0].key == "7.b#not-done"
    assert ctx.results[0].detail == f"Not observed: {why}."
    assert late.outcome == Outcome.NOT_OBSERVED
    assert late.detail == f"Not scored, as {why}: StopTransaction reason Local"
    assert other.outcome == Outcome.PASSED  # the step goes on with its other parts


async def test_a_block_on_one_check_leaves_the_criterions_other_checks_alone(scripted, make_ctx):
    async with make_ctx() as ctx:
        ctx.prompts = Operator(CANNOT)
        await ctx.prompt("Plug the cable in.", needed_by=("6.c#no-start",))
        authorize = ctx.check("6.c", True, "Authorize answered Invalid", key="6.c#authorize")
        quiet = ctx.check("6.c", True, "No StartTransaction", key="6.c#no-start")
        assert ctx.blocked("6.c#no-start") and not ctx.blocked("6.c#authorize")
    assert authorize.outcome == Outcome.PASSED
    assert quiet.outcome == Outcome.NOT_OBSERVED


async def test_a_failure_is_not_scored_after_the_action_did_not_happen(scripted, make_ctx):
    async with make_ctx() as ctx:
        ctx.prompts = Operator(EXPIRED)
        await ctx.prompt("Unplug the cable.", needed_by=("7.c",))
        result = ctx.check("7.c", False, "No StopTransaction within 60 s")
    assert result.outcome == Outcome.NOT_OBSERVED


async def test_what_the_station_sent_while_the_prompt_was_open_is_reported_not_taken(
    scripted, make_ctx
):
    def stops_by_itself():
        scripted.emit("StopTransaction", {"transactionId": 41, "reason": "Local"})

    async with make_ctx() as ctx:
        ctx.prompts = Operator(CANNOT, meanwhile=stops_by_itself)
        await ctx.prompt("Present the tag again.", needed_by=("7.b",))
    blocked = ctx.results[0]
    assert blocked.outcome == Outcome.NOT_OBSERVED
    assert "While it was open the station sent StopTransaction at " in blocked.detail
    assert "(transactionId 41, reason Local): not taken as the answer, QA to judge" in (
        blocked.detail
    )
    assert [e["action"] for e in blocked.evidence] == ["StopTransaction"]


async def test_a_clean_up_prompt_not_done_is_noted_and_blocks_nothing(scripted, make_ctx):
    async with make_ctx() as ctx:
        ctx.prompts = Operator(CANNOT)
        await ctx.prompt("Unplug the cable (clean-up).")
        result = ctx.check("11.a", True, "Available")
    assert result.outcome == Outcome.PASSED
    assert ctx.notes == [
        "Not done: the operator answered “Cannot do” to “Unplug the cable (clean-up)”."
    ]


async def test_a_done_prompt_records_where_it_was_asked_and_answered(scripted, make_ctx):
    async with make_ctx() as ctx:
        scripted.emit("Heartbeat", {})
        await asyncio.sleep(0.05)
        ctx.prompts = Operator(
            Answer("Done"), meanwhile=lambda: scripted.emit("Authorize", {"idTag": "X"})
        )
        answer = await ctx.prompt("Present the tag.", needed_by=("6.b",))
    assert (answer.asked, answer.answered) == (1, 2)
    assert ctx.results == []


async def test_certlab_answer_to_a_station_call_is_found():
    station = AnsweringStation()
    from campaigns.engine.context import StepContext
    from campaigns.engine.params import LabParameters
    from tests.campaigns.conftest import STATION

    ctx = StepContext(port=station, station=STATION, params=LabParameters.fast())
    async with ctx:
        station.station_call("Authorize", {"idTag": "CERTLAB-OK"})
        authorize = await ctx.expect("Authorize", within=2)
        answer = await ctx.answer_to(authorize)
    assert answer.payload == {"idTagInfo": {"status": "Accepted"}}


class SlowLog(AnsweringStation):
    """CertLab's answer never reaches the stream; the frame log has it (or not)."""

    def __init__(self, logged=True):
        super().__init__()
        self.logged = logged

    def _call_now(self, action, payload):
        self._push("in", "CALL", action, "slow-1", payload)

    async def logged_answer(self, unique_id, direction, timeout):
        if not self.logged:
            await asyncio.sleep(timeout)
            return None
        return {"direction": "out", "message_type": "CALLRESULT", "action": "Authorize",
                "unique_id": unique_id, "payload": {"idTagInfo": {"status": "Invalid"}},
                "timestamp": "2026-01-01T00:00:00+00:00"}  # fmt: skip


def _ctx(station):
    from campaigns.engine.context import StepContext
    from campaigns.engine.params import LabParameters
    from tests.campaigns.conftest import STATION

    return StepContext(port=station, station=STATION, params=LabParameters.fast())


async def test_an_answer_late_on_the_stream_is_read_from_the_frame_log():
    station = SlowLog()
    async with _ctx(station) as ctx:
        station.station_call("Authorize", {"idTag": "CERTLAB-UNKNOWN"})
        authorize = await ctx.expect("Authorize", within=2)
        answer = await ctx.answer_to(authorize, within=0.4)
    assert answer.payload["idTagInfo"]["status"] == "Invalid"


async def test_an_answer_certlab_never_produced_is_lab_trouble_not_the_stations():
    station = SlowLog(logged=False)
    async with _ctx(station) as ctx:
        station.station_call("Authorize", {"idTag": "CERTLAB-UNKNOWN"})
        authorize = await ctx.expect("Authorize", within=2)
        with pytest.raises(LabTrouble, match="CertLab's own answer to the station's Authorize"):
            await ctx.answer_to(authorize, within=0.4)


async def test_a_station_that_left_before_certlab_answered_is_gone_not_lab_trouble():
    station = SlowLog(logged=False)
    async with _ctx(station) as ctx:
        station.station_call("Authorize", {"idTag": "CERTLAB-UNKNOWN"})
        authorize = await ctx.expect("Authorize", within=2)
        station.connection_id = 2
        station.emit("BootNotification", {})
        with pytest.raises(StationGone, match="left before CertLab answered its Authorize"):
            await ctx.answer_to(authorize, within=0.4)


class _Step:
    """A step that needs CertLab's answer and gets none: it must end Incomplete."""

    __name__ = "lab_trouble_step"
    CRITERIA = ("6.b", "6.c")

    def __init__(self, station):
        self.station = station

    async def run(self, ctx):
        ctx.check("6.c", True, "something proven before", key="6.c#before")
        self.station.station_call("Authorize", {"idTag": "CERTLAB-UNKNOWN"})
        authorize = await ctx.expect("Authorize", within=2)
        await ctx.answer_to(authorize, within=0.4)
        ctx.check("6.b", False, "answered None by CertLab")  # never reached


async def test_lab_trouble_ends_the_step_incomplete_with_a_lab_side_reason():
    station = SlowLog(logged=False)
    run = await run_step(_Step(station), _ctx(station), time_limit=10)
    assert run.ending == Ending.LAB_TROUBLE
    assert run.outcomes == {"6.b": Outcome.NOT_OBSERVED, "6.c": Outcome.PASSED}
    assert run.proposed == Proposed.INCOMPLETE
    assert run.result_text.startswith(
        "CertLab could not do its own part in time (not the station's doing) (CertLab's own "
        "answer to the station's Authorize"
    )
