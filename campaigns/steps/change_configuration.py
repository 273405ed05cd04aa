"""5 · Set configuration (set parameters that can be configured).

ChangeConfiguration of the read-write keys HeartbeatInterval and MeterValueSampleInterval must be
Accepted (not NotSupported, Rejected or a CALLERROR) and read back with GetConfiguration
(OCTT TC_021). An invalid value must be Rejected and leave the key as it was (TC_040_2); a
station that accepts it is shown precisely (the answer, the value read back, the Heartbeats that
followed) and the key put back at once. The station's own values are put back at the end (a key
the station did not report before cannot be, and the step says so).
"""

import asyncio

from campaigns.engine.context import StepContext
from campaigns.engine.replies import CallReply
from campaigns.engine.results import Outcome

NUMBER = 5
CRITERIA = ("5.a",)

INVALID = ("HeartbeatInterval", "abc")  # TC_040_2: not an integer


async def run(ctx: StepContext) -> None:
    wanted = {
        "HeartbeatInterval": ctx.params.heartbeat_interval,
        "MeterValueSampleInterval": ctx.params.meter_interval,
    }
    originals, _ = await _read(ctx, list(wanted))
    before = ", ".join(f"{key}={originals.get(key, '(not reported)')}" for key in wanted)
    await ctx.note(f"Values before the step: {before}.")
    edited = []
    try:
        for key, value in wanted.items():
            new = _different(value, originals.get(key))
            if await _change_and_read_back(ctx, key, new):
                edited.append(key)
        await _check_invalid(ctx)
    finally:
        # Not when aborted or out of time: the ending must not wait for more calls.
        if not asyncio.current_task().cancelling():
            await _restore(ctx, originals, list(wanted))
    if all(result.outcome == Outcome.PASSED for result in ctx.results):
        names = " and ".join(_words(key) for key in edited)
        ctx.summary(f"Ok, {names} edited")


def _different(value: int, original: str | None) -> str:
    """The lab's value, or one next to it when the station has that already: a real change."""
    return str(value + 1) if str(value) == original else str(value)


async def _read(ctx: StepContext, keys: list[str]) -> tuple[dict[str, str], CallReply]:
    reply = await ctx.call("GetConfiguration", {"key": keys})
    payload = reply.payload if reply.ok and isinstance(reply.payload, dict) else {}
    entries = [e for e in payload.get("configurationKey") or [] if isinstance(e, dict)]
    values = {e["key"]: e.get("value") for e in entries if e.get("key") in keys}
    return values, reply


async def _change_and_read_back(ctx: StepContext, key: str, value: str) -> bool:
    reply = await ctx.call("ChangeConfiguration", {"key": key, "value": value})
    detail = f"ChangeConfiguration {key}={value} answered {reply.describe()}"
    ctx.check("5.a", reply.status == "Accepted", detail, evidence=reply.frames, key=f"5.a#{key}")
    if reply.status != "Accepted":
        return False
    values, read = await _read(ctx, [key])
    got = values.get(key)
    detail = f"GetConfiguration reads {key} back as {got!r}" + (
        "" if got == value else f", not {value!r} ({read.describe()})"
    )
    ctx.check("5.a", got == value, detail, evidence=read.frames, key=f"5.a#{key}-readback")
    return got == value


async def _check_invalid(ctx: StepContext) -> None:
    key, value = INVALID
    before, _ = await _read(ctx, [key])
    since = ctx.mark()
    reply = await ctx.call("ChangeConfiguration", {"key": key, "value": value})
    after, read = await _read(ctx, [key])
    kept = after.get(key) == before.get(key)
    evidence = [*reply.frames, *read.frames]
    if reply.status == "Accepted":
        detail = await _accepted_anyway(ctx, key, value, before.get(key), after.get(key), since)
        ctx.check("5.a", False, detail, evidence=evidence, key="5.a#invalid")
        return
    ok = reply.status == "Rejected" and kept
    detail = f"ChangeConfiguration {key}={value!r} (invalid) answered {reply.describe()}" + (
        ", as it should (TC_040_2)" if reply.status == "Rejected" else ", Rejected expected"
    ) + (
        f"; {key} stays {after.get(key)!r}" if kept
        else f"; {key} changed from {before.get(key)!r} to {after.get(key)!r}"
    )  # fmt: skip
    ctx.check("5.a", ok, detail, evidence=evidence, key="5.a#invalid")


async def _accepted_anyway(
    ctx: StepContext, key: str, value: str, before: str | None, after: str | None, since: int
) -> str:
    """A station that takes a value it cannot use (real stations then send heartbeats as fast
    as their loop runs): the value is put back at once and what followed is counted."""
    detail = (
        f"The station accepts an invalid value: ChangeConfiguration {key}={value!r} (not an "
        f"integer) answered Accepted, Rejected expected (TC_040_2); {key} then reads back as "
        f"{after!r}" + ("" if after == value else f" (it was {before!r})")
    )
    if before is None or after == before:
        return detail
    restored = await ctx.call("ChangeConfiguration", {"key": key, "value": before})
    beats = ctx.frames("Heartbeat", since=since)
    detail += f"; put back to {before!r} at once ({restored.describe()})"
    if beats:
        span = (beats[-1].timestamp - beats[0].timestamp).total_seconds()
        detail += f"; meanwhile {len(beats)} Heartbeat{'s' if len(beats) > 1 else ''}"
        detail += f" in {span:.1f} s" if len(beats) > 1 else ""
    return detail


async def _restore(ctx: StepContext, originals: dict[str, str], keys: list[str]) -> None:
    for key in keys:
        value = originals.get(key)
        if value is None:
            await ctx.note(f"{key} cannot be put back: the station did not report its value "
                           "before the step.")  # fmt: skip
            continue
        reply = await ctx.call("ChangeConfiguration", {"key": key, "value": value})
        await ctx.note(f"{key} restored to {value}: {reply.describe()}.")


def _words(key: str) -> str:
    """HeartbeatInterval -> heartbeat interval, as the seed reports write it."""
    return "".join(f" {c.lower()}" if c.isupper() else c for c in key).strip()
