"""11 · Charging cable connection status.

11.a: plugging the cable in gives Preparing, unplugging gives Available again, in valid
StatusNotifications (status from the 1.6 list, errorCode NoError), and every status change of
the step is one the OCPP 1.6 state machine allows. While the cable is in without
any authorization the step also watches one ConnectionTimeOut and records what the station does
(many stay in Preparing; the seed reports saw "Error").
11.b, the connection timeout (OCTT TC_011_2): ConnectionTimeOut is read and set to the lab's value;
a RemoteStartTransaction without a cable puts the connector in Preparing, and after
ConnectionTimeOut the station gives up: back to Available (or Faulted, the seed reports' "Error"),
with no StartTransaction. The original ConnectionTimeOut is restored.
Both need the connector's short states reported: a MinimumStatusDuration above 0 (which hides a
Preparing shorter than it) is set to 0 for the step, OCTT's clean start, and put back after.
"""

from campaigns.engine.charging import (
    Session,
    change_key,
    finish,
    plug_in,
    read_key,
    status_frames,
    unplug,
)
from campaigns.engine.connector_states import check_statuses, status_before
from campaigns.engine.context import StepContext
from campaigns.engine.frames import Frame

NUMBER = 11
CRITERIA = ("11.a", "11.b")

STATUSES = {
    "Available",
    "Preparing",
    "Charging",
    "SuspendedEV",
    "SuspendedEVSE",
    "Finishing",
    "Reserved",
    "Unavailable",
    "Faulted",
}
GAVE_UP = ("Available", "Faulted")


async def run(ctx: StepContext) -> None:
    start = ctx.mark()
    current, _ = await read_key(ctx, "MinimumStatusDuration")
    if current and current.isdigit() and int(current) > 0:  # the engine puts it back after
        await change_key(ctx, "MinimumStatusDuration", "0")
    timeout, restore = await _connection_timeout(ctx)
    await _plug_and_unplug(ctx, timeout)
    await _timeout_without_cable(ctx, timeout)
    if restore is not None:
        await change_key(ctx, "ConnectionTimeOut", restore)
    frames = ctx.frames("StatusNotification", since=start)
    connector = ctx.params.connector_id
    if status_frames(ctx, connector, start):  # every status change as the 1.6 table allows
        check_statuses(ctx, "11.a", frames, connector_id=connector, key="11.a#sequence",
                       start=status_before(ctx, connector, start),
                       what="StatusNotifications of the step")  # fmt: skip
    ctx.attach(
        "cable_statuses",
        [
            {
                "timestamp": f.timestamp.isoformat(),
                "connectorId": f.payload.get("connectorId"),
                "status": f.payload.get("status"),
                "errorCode": f.payload.get("errorCode"),
            }
            for f in frames
            if isinstance(f.payload, dict)
        ],
    )
    if ctx.criteria_passed():
        ctx.summary(
            f"Ok, Available → Preparing → Available; ConnectionTimeOut {timeout} s observed"
        )


async def _connection_timeout(ctx: StepContext) -> tuple[int, str | None]:
    """(the ConnectionTimeOut in force, the value to restore or None)."""
    wanted = ctx.params.connection_timeout
    current, reply = await read_key(ctx, "ConnectionTimeOut")
    if current is None:
        await ctx.note(
            f"GetConfiguration ConnectionTimeOut answered {reply.describe()}: the "
            f"value is unknown, so it is set to {wanted} s and left there."
        )
    else:
        await ctx.note(f"ConnectionTimeOut is {current} s.")
    if current == str(wanted):
        return wanted, None
    changed = await change_key(ctx, "ConnectionTimeOut", str(wanted))
    if changed.status == "Accepted":
        return wanted, current
    if current is not None and current.isdigit():
        return int(current), None
    return wanted, None


async def _plug_and_unplug(ctx: StepContext, timeout: int) -> None:
    connector, window = ctx.params.connector_id, ctx.params.status_window
    for action, wanted in (("plug", "Preparing"), ("unplug", "Available")):
        since = ctx.mark()
        if action == "plug":
            done = await plug_in(ctx, connector, " without presenting a tag", needed_by=("11.a",))
        else:  # a cable still in would also spoil 11.b, which needs none
            done = await unplug(ctx, connector, needed_by=("11.a", "11.b"))
        if not done:
            return  # not observed (the engine said why); nothing to unplug after no plug
        found = await ctx.expect(
            "StatusNotification",
            {"connectorId": connector, "status": wanted},
            within=window,
            since=since,
        )
        frames = status_frames(ctx, connector, since)
        seen = " → ".join(str(f.payload.get("status")) for f in frames) or "no StatusNotification"
        detail = f"Cable {action}ged: {seen}"
        if found is None:
            detail += f"; expected {wanted} within {window} s"
        problems = _invalid(frames)
        ctx.check(
            "11.a",
            found is not None and not problems,
            detail + ("; " + "; ".join(problems) if problems else ""),
            evidence=frames,
            key=f"11.a#{action}",
        )
        if action == "plug":
            await _watch_plugged(ctx, since, timeout)


async def _watch_plugged(ctx: StepContext, since: int, timeout: int) -> None:
    """What the station does with a cable in and no authorization for one ConnectionTimeOut."""
    connector = ctx.params.connector_id
    await ctx.collect("StatusNotification", during=timeout + 1, since=since)
    frames = status_frames(ctx, connector, since)
    last = frames[-1].payload.get("status") if frames else "unknown"
    await ctx.note(
        f"With the cable in and no authorization, connector {connector} is {last} "
        f"{timeout + 1} s later (ConnectionTimeOut {timeout} s)."
    )


async def _timeout_without_cable(ctx: StepContext, timeout: int) -> None:
    connector, window = ctx.params.connector_id, ctx.params.status_window
    if ctx.blocked("11.b"):
        return
    since = ctx.mark()
    reply = await ctx.call(
        "RemoteStartTransaction", {"connectorId": connector, "idTag": ctx.params.valid_id_tag}
    )
    if reply.status != "Accepted":
        ctx.check(
            "11.b",
            None,
            f"RemoteStartTransaction (to wait without a cable) answered "
            f"{reply.describe()}: the connection timeout could not be provoked",
            evidence=reply.frames,
            key="11.b#remote",
        )
        return
    preparing = await ctx.expect(
        "StatusNotification",
        {"connectorId": connector, "status": "Preparing"},
        within=window,
        since=since,
    )
    begun = preparing or reply.response or ctx.history[since]  # (a stream late under load)
    gave_up = await ctx.expect(
        "StatusNotification",
        lambda p: p["connectorId"] == connector and p["status"] in GAVE_UP,
        within=timeout + window,
        since=begun.seq,
    )
    starts = ctx.frames("StartTransaction", {"connectorId": connector}, since=since)
    evidence: list[Frame] = [*reply.frames, preparing, gave_up, *starts]
    lead = (
        f"RemoteStartTransaction Accepted without a cable: "
        f"{'Preparing' if preparing else 'no Preparing'}, then "
    )
    if starts:
        ctx.check(
            "11.b",
            False,
            lead + "a StartTransaction although no cable was plugged in",
            evidence=evidence,
            key="11.b#timeout",
        )
        for start in starts:  # the station is left idle, whatever the verdict
            tag = str(start.payload.get("idTag"))
            answer = await ctx.answer_to(start)
            await finish(ctx, Session(connector, tag, since=since, start=start, answer=answer))
        return
    if gave_up is None:
        ctx.check(
            "11.b",
            False,
            lead + f"still no Available/Faulted {timeout + window} s later "
            f"(ConnectionTimeOut {timeout} s)",
            evidence=evidence,
            key="11.b#timeout",
        )
        return
    elapsed = (gave_up.timestamp - begun.timestamp).total_seconds()
    early = elapsed < timeout - max(1.0, 0.2 * timeout)
    detail = (
        lead + f"{gave_up.payload['status']} after {elapsed:.1f} s (ConnectionTimeOut "
        f"{timeout} s)" + ("; too early" if early else "")
    )
    ctx.check("11.b", not early, detail, evidence=evidence, key="11.b#timeout")


def _invalid(frames: list[Frame]) -> list[str]:
    problems = []
    for frame in frames:
        status, error = frame.payload.get("status"), frame.payload.get("errorCode")
        if status not in STATUSES:
            problems.append(f"status {status!r} is not an OCPP 1.6 status")
        if not error:
            problems.append(f"{status} without errorCode")
        if frame.error:
            problems.append(f"schema: {frame.error}")
    return problems
