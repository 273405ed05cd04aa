"""9 · Reset CS (both hard and soft reset).

Each Reset type in turn (OCTT TC_013 hard, TC_014 soft): the station must accept it, drop its
connection, come back with a BootNotification and report every connector, 0 included, with a
StatusNotification. "Accepted" without a reboot is a failure of its own (OCPP-NOTES). Resets with
a transaction running (TC_015/TC_016) are left to QA.
"""

import asyncio

from campaigns.engine.context import StepContext
from campaigns.engine.frames import Frame

NUMBER = 9
CRITERIA = ("9.a", "9.b")

RESETS = (("9.a", "Hard"), ("9.b", "Soft"))


async def run(ctx: StepContext) -> None:
    passed = []
    for criterion, kind in RESETS:
        if await _reset(ctx, criterion, kind):
            passed.append(kind)
    if len(passed) == len(RESETS):
        ctx.summary(
            f"Ok, Hard and Soft reset: reboot, BootNotification and StatusNotification for "
            f"connectors 0-{ctx.station.connector_count}"
        )


async def _reset(ctx: StepContext, criterion: str, kind: str) -> bool:
    await ctx.ensure_connected()
    start = ctx.mark()
    reply = await ctx.call("Reset", {"type": kind})
    accepted = reply.status == "Accepted"
    ctx.check(
        criterion,
        accepted,
        f"Reset {kind} answered {reply.describe()}",
        evidence=reply.frames,
        key=f"{criterion}#answer",
    )
    if not accepted:
        return False
    await ctx.note(f"Reset {kind} accepted: waiting for the station to reboot.")
    timeout = ctx.params.reconnect_timeout
    reboot = await ctx.wait_reboot(since=start, within=timeout)
    if reboot.boot is None:
        what = (
            "dropped its connection but did not come back"
            if reboot.dropped
            else "neither dropped its connection nor sent a BootNotification"
        )
        ctx.check(
            criterion,
            False,
            f"Reset {kind} was Accepted, but within {timeout} s the station {what}: no reboot.",
            evidence=reply.frames,
            key=f"{criterion}#reboot",
        )
        return False
    if not reboot.dropped:
        ctx.check(
            criterion,
            False,
            f"After Reset {kind} a BootNotification came on the same "
            "connection: the station did not disconnect and reconnect.",
            evidence=[*reply.frames, reboot.boot],
            key=f"{criterion}#reboot",
        )
        return False
    ctx.check(
        criterion,
        True,
        f"After Reset {kind} the station disconnected, reconnected and sent a BootNotification.",
        evidence=[*reply.frames, reboot.boot],
        key=f"{criterion}#reboot",
    )
    return await _statuses_after(ctx, criterion, kind, reboot.boot)


async def _statuses_after(ctx: StepContext, criterion: str, kind: str, boot: Frame) -> bool:
    """A StatusNotification for every connector, 0 included, after the boot (OCTT TC_001)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.params.status_window
    seen: dict[int, Frame] = {}
    for connector in range(ctx.station.connector_count + 1):
        frame = await ctx.expect(
            "StatusNotification",
            {"connectorId": connector},
            since=boot.seq + 1,
            within=max(0.0, deadline - loop.time()),
        )
        if frame is not None:
            seen[connector] = frame
    missing = [c for c in range(ctx.station.connector_count + 1) if c not in seen]
    reported = ", ".join(
        f"{c} {f.payload.get('status')}/{f.payload.get('errorCode')}" for c, f in seen.items()
    )
    if missing:
        detail = (
            f"After the Reset {kind} boot, no StatusNotification for connector(s) "
            f"{', '.join(map(str, missing))} within {ctx.params.status_window} s"
            + (f" (reported: {reported})" if seen else "")
        )
    else:
        detail = f"After the Reset {kind} boot, StatusNotification for every connector: {reported}"
    ctx.check(
        criterion, not missing, detail, evidence=[boot, *seen.values()], key=f"{criterion}#status"
    )
    return not missing
