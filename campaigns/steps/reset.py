"""9 · Reset CS (both hard and soft reset).

Each Reset type in turn (OCTT TC_013 hard, TC_014 soft): the station must accept it, drop its
connection, come back with a BootNotification and report every connector with a
StatusNotification. A StatusNotification for connector 0 as well is OCTT's rule (TC_001), a
finding beyond the lab's criterion. "Accepted" without a reboot is a failure of its own
(OCPP-NOTES). Resets with a transaction running (TC_015/TC_016) are left to QA.

A station declared not to reboot on Reset (its vendor's declaration, "Reboots on Reset" off on
the model or the station) cannot come online after a reset it does not do: both criteria need
the reboot, so the step is planned not applicable with that reason, shown before the run
(campaigns/engine/needs.py). Run anyway, its criteria are not applicable and it sends no Reset:
OCPP 1.6 (section 5.14) still asks a station that Accepts a Reset to restart, and a station
that cannot should answer Rejected; that is for QA to weigh with the declaration, not a verdict
CertLab can derive from a reset it was told will not happen.
"""

import asyncio

from campaigns.engine.connector_states import Transition, judge
from campaigns.engine.context import StepContext
from campaigns.engine.frames import Frame

NUMBER = 9
CRITERIA = ("9.a", "9.b")

RESETS = (("9.a", "Hard"), ("9.b", "Soft"))


async def run(ctx: StepContext) -> None:
    if reason := ctx.lacks("9"):
        await ctx.note(f"No Reset sent: {reason}.")
        ctx.summary(f"Ok, not applicable: {reason}; no Reset sent")
        return
    passed = []
    for criterion, kind in RESETS:
        if await _reset(ctx, criterion, kind):
            passed.append(kind)
    if len(passed) == len(RESETS):
        ctx.summary(
            f"Ok, Hard and Soft reset: reboot, BootNotification and StatusNotification for "
            f"connectors 1-{ctx.station.connector_count}"
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
    """ "Comes online (BootNotification, StatusNotification …)": a StatusNotification from every
    connector after the boot. One for connector 0 too is OCTT's rule (TC_001): a finding."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.params.status_window
    seen: dict[int, Frame] = {}
    for connector in range(ctx.station.connector_count + 1):
        frame = await ctx.expect(
            "StatusNotification",  # one that breaks the schema ("1", say) is judged, not missed
            lambda p, c=connector: str(p["connectorId"]) == str(c),
            since=boot.seq + 1,
            within=max(0.0, deadline - loop.time()),
        )
        if frame is not None:
            seen[connector] = frame
    connectors = range(1, ctx.station.connector_count + 1)
    missing = [c for c in connectors if c not in seen]
    wrong = [
        c for c, f in seen.items()
        if judge(None, str(f.payload.get("status")), connector_id=c) == Transition.FORBIDDEN
    ]  # fmt: skip
    reported = ", ".join(
        f"{c} {f.payload.get('status')}/{f.payload.get('errorCode')}"
        for c, f in seen.items() if c
    )  # fmt: skip
    if missing:
        detail = (
            f"After the Reset {kind} boot, no StatusNotification for connector(s) "
            f"{', '.join(map(str, missing))} within {ctx.params.status_window} s"
            + (f" (reported: {reported})" if reported else "")
        )
    else:
        detail = f"After the Reset {kind} boot, StatusNotification for every connector: {reported}"
    bad = [c for c in wrong if c]
    if bad:
        detail += "; not an OCPP 1.6 status: " + ", ".join(
            f"connector {c} {seen[c].payload.get('status')!r}" for c in bad
        )
    broken = [c for c in connectors if c in seen and seen[c].error]
    if broken:
        codes = ", ".join(dict.fromkeys(seen[c].error.split(":", 1)[0] for c in broken))
        detail += (f"; breaking the OCPP 1.6 schema: connector(s) {', '.join(map(str, broken))} "
                   f"(CertLab answered {codes})")  # fmt: skip
    ok = not missing and not bad and not broken
    ctx.check(criterion, ok, detail, evidence=[boot, *(seen[c] for c in connectors if c in seen)],
              key=f"{criterion}#status")  # fmt: skip
    zero = seen.get(0)
    if zero is None:
        text = (f"After the Reset {kind} boot, no StatusNotification for connector 0 (the Charge "
                f"Point itself) within {ctx.params.status_window} s")  # fmt: skip
    else:
        status = zero.payload.get("status")
        text = f"After the Reset {kind} boot, connector 0 reported {status}" + (
            " (connector 0 is only Available, Unavailable or Faulted)" if 0 in wrong else ""
        )
    ctx.finding(criterion, zero is not None and 0 not in wrong, text, reference="OCTT TC_001",
                evidence=[boot, zero], key=f"{criterion}#connector-0")  # fmt: skip
    return ok
