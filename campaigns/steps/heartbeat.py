"""2 · Heartbeat (automatic).

Reads the station's HeartbeatInterval (at most one hour), asks for a Heartbeat with
TriggerMessage, sets HeartbeatInterval to the lab's interval with ChangeConfiguration, reads it
back, then watches the periodic Heartbeats and measures the gaps between them against the
tolerance. The station's own interval is put back at the end.
"""

import asyncio
import itertools

from campaigns.engine.context import StepContext
from campaigns.engine.frames import Frame
from campaigns.engine.replies import CallReply
from campaigns.engine.results import Outcome

NUMBER = 2
CRITERIA = ("2.a", "2.b", "2.c")

KEY = "HeartbeatInterval"
MAX_INTERVAL = 3600  # "at least every 1 hour"
HEARTBEATS = 2  # periodic Heartbeats to observe after the change: one whole gap to measure


async def run(ctx: StepContext) -> None:
    original, read = await _read_interval(ctx)
    _check_default(ctx, original, read)
    await _check_trigger(ctx)
    try:
        gaps = await _check_new_interval(ctx)
    finally:
        # Not when aborted or out of time: the ending must not wait for another call.
        if original is not None and not asyncio.current_task().cancelling():
            await _restore(ctx, original)
    if all(result.outcome == Outcome.PASSED for result in ctx.results):
        ctx.summary(f"Ok, heartbeat every {ctx.params.heartbeat_interval} s (gaps {gaps} s), "
                    "triggered heartbeat received")  # fmt: skip


async def _read_interval(ctx: StepContext) -> tuple[str | None, CallReply]:
    reply = await ctx.call("GetConfiguration", {"key": [KEY]})
    payload = reply.payload if reply.ok and isinstance(reply.payload, dict) else {}
    entries = payload.get("configurationKey") or []
    value = next((e.get("value") for e in entries if isinstance(e, dict) and e.get("key") == KEY),
                 None)  # fmt: skip
    return value, reply


def _check_default(ctx: StepContext, value: str | None, reply: CallReply) -> None:
    if value is None:
        detail = f"GetConfiguration [{KEY}] answered {reply.describe()}: {KEY} was not reported"
        ctx.check("2.c", False, detail, evidence=reply.frames, key="2.c#default")
        return
    seconds = _seconds(value)
    ok = seconds is not None and 0 < seconds <= MAX_INTERVAL
    detail = f"{KEY} on the station is {value!r}" + (
        f" s: a Heartbeat at least every {MAX_INTERVAL} s"
        if ok
        else f": not a number of seconds between 1 and {MAX_INTERVAL}"
    )
    ctx.check("2.c", ok, detail, evidence=reply.frames, key="2.c#default")


async def _check_trigger(ctx: StepContext) -> None:
    if ctx.lacks("2.b"):
        return  # no RemoteTrigger profile declared: not applicable (the engine said why)
    start = ctx.mark()  # a triggered message may arrive before the CALLRESULT
    reply = await ctx.call("TriggerMessage", {"requestedMessage": "Heartbeat"})
    sent = f"TriggerMessage Heartbeat answered {reply.describe()}"
    if reply.status != "Accepted":
        ctx.check("2.b", False, sent, evidence=reply.frames, key="2.b#trigger")
        return
    window = ctx.params.status_window
    beat = await ctx.expect("Heartbeat", within=window, since=start)
    detail = f"{sent}; " + (
        f"a Heartbeat followed after {_seconds_between(reply.request, beat):.1f} s"
        if beat
        else f"no Heartbeat followed within {window} s"
    )
    ctx.check("2.b", beat is not None, detail, evidence=[*reply.frames, beat], key="2.b#trigger")


async def _check_new_interval(ctx: StepContext) -> str:
    """Set the lab's interval, read it back and measure the Heartbeats; return the gaps seen."""
    interval = ctx.params.heartbeat_interval
    change = await ctx.call("ChangeConfiguration", {"key": KEY, "value": str(interval)})
    ok = change.status == "Accepted"
    detail = f"ChangeConfiguration {KEY}={interval} answered {change.describe()}"
    ctx.check("2.c", ok, detail, evidence=change.frames, key="2.c#change")
    if not ok:
        ctx.check("2.a", None, f"Periodic Heartbeats not measured: {KEY} could not be set to "
                  f"{interval} s.", evidence=change.frames, key="2.a#periodic")  # fmt: skip
        return ""
    since = ctx.mark()
    value, read = await _read_interval(ctx)
    detail = f"GetConfiguration reads {KEY} back as {value!r}" + (
        "" if value == str(interval) else f", not {interval!r}"
    )
    ctx.check("2.c", value == str(interval), detail, evidence=read.frames, key="2.c#readback")

    # One interval of slack for a station that lets its running timer expire first.
    window = interval * (HEARTBEATS + 1) * (1 + ctx.params.heartbeat_tolerance)
    beats = await ctx.expect_count("Heartbeat", count=HEARTBEATS, within=window, since=since,
                                   criteria=("2.a", "2.c"))  # fmt: skip
    beats = beats[:HEARTBEATS]
    if not beats:
        none = f"No periodic Heartbeat arrived within {window:.0f} s after {KEY} was set to "
        ctx.check("2.a", False, f"{none}{interval} s.", evidence=change.frames, key="2.a#periodic")
        ignored = (
            f"{KEY}={interval} was accepted but not honoured: no Heartbeat within "
            f"{window:.0f} s, one was due every {interval} s."
        )
        ctx.check("2.c", False, ignored, evidence=change.frames, key="2.c#honoured")
        return ""
    ctx.check(
        "2.a",
        len(beats) == HEARTBEATS,
        f"{len(beats)} periodic Heartbeat(s) of {HEARTBEATS} expected arrived within "
        f"{window:.0f} s of setting {KEY} to {interval} s",
        evidence=beats,
        key="2.a#periodic",
    )
    return await _check_gaps(ctx, beats, interval)


async def _check_gaps(ctx: StepContext, beats: list[Frame], interval: int) -> str:
    tolerance = ctx.params.heartbeat_tolerance
    gaps = [_seconds_between(a, b) for a, b in itertools.pairwise(beats)]
    if not gaps:
        ctx.check("2.c", False, f"Only one Heartbeat arrived: no gap to compare with {interval} s.",
                  evidence=beats, key="2.c#honoured")  # fmt: skip
        return ""
    low, high = interval * (1 - tolerance), interval * (1 + tolerance)
    judged = [await _judge_gap(ctx, a, b, low, high) for a, b in itertools.pairwise(beats)]
    off = [gap for gap, (verdict, _) in zip(gaps, judged, strict=True) if verdict is False]
    unseen = [why for verdict, why in judged if verdict is None]
    late = [why for verdict, why in judged if verdict and why]
    shown = ", ".join(f"{gap:.1f}" for gap in gaps)
    head = f"Gaps between Heartbeats {shown} s against {KEY}={interval} s ± {tolerance:.0%}"
    if unseen and not off:
        detail = f"{head}: {'; '.join(unseen)}"
        ctx.lab_side("2.a", detail, key="2.a#gaps")
        ctx.lab_side("2.c", detail, key="2.c#honoured")
        return shown
    detail = head + (
        f": {len(off)} outside {low:.1f}-{high:.1f} s" if off else ": the new interval is honoured"
    ) + "".join(f"; {why}" for why in late)  # fmt: skip
    ctx.check("2.a", not off, detail, evidence=beats, key="2.a#gaps")
    ctx.check("2.c", not off, detail, evidence=beats, key="2.c#honoured")
    return shown


async def _judge_gap(
    ctx: StepContext, first: Frame, second: Frame, low: float, high: float
) -> tuple[bool | None, str]:
    """One gap: (True, "") within the tolerance; (True, why) within it counted from CertLab's
    late answer to the first Heartbeat (a station may start its timer when the answer comes);
    None when CertLab's answer came too late to tell; False the station's own (too soon, or
    too late even counted from CertLab's answer)."""
    gap = _seconds_between(first, second)
    if low <= gap <= high:
        return True, ""
    if gap < low:
        return False, ""  # too soon: a late answer only makes the station's gap longer
    # CertLab always answers (a CALLRESULT or an InternalError): one not seen yet is late, and
    # answer_to waits for it, ending the step lab-side if it never comes.
    answer = ctx.answered(first) or await ctx.answer_to(first)
    late = _seconds_between(first, answer)
    if answer.timestamp >= second.timestamp:
        return None, (
            f"CertLab answered the Heartbeat of {first.timestamp:%H:%M:%S} only after the next "
            f"one ({late:.1f} s late), so the station's timer cannot be judged"
        )
    from_answer = _seconds_between(answer, second)
    if low <= from_answer <= high:
        return True, (
            f"the gap of {gap:.1f} s is {from_answer:.1f} s counted from CertLab's answer, "
            f"which CertLab sent {late:.1f} s late"
        )
    return False, ""


async def _restore(ctx: StepContext, original: str) -> None:
    reply = await ctx.call("ChangeConfiguration", {"key": KEY, "value": original})
    await ctx.note(f"{KEY} restored to {original}: {reply.describe()}.")


def _seconds(value: str) -> int | None:
    try:
        return int(value.strip())
    except (AttributeError, ValueError):
        return None


def _seconds_between(first: Frame | None, second: Frame | None) -> float:
    if first is None or second is None:
        return 0.0
    return (second.timestamp - first.timestamp).total_seconds()
