"""7 · Stop charge transaction (both local notification and remote trigger).

Three transactions, each started remotely as a precondition and stopped another way:
RemoteStopTransaction by CertLab's transactionId (OCTT TC_012: StopTransaction reason Remote,
then Finishing or Available), the same tag presented again at the station (TC_068: reason Local,
which is also what an absent reason means), and the cable pulled out on the EV side (TC_005:
reason EVDisconnected). Each stop is followed by StatusNotifications; the station ends idle.
"""

from dataclasses import dataclass

from campaigns.engine.charging import (
    Session,
    finish,
    read_key,
    remote_start,
    remote_stop,
    status_frames,
)
from campaigns.engine.context import SimulatorAction, StepContext

NUMBER = 7
CRITERIA = ("7.a", "7.b", "7.c")


@dataclass(frozen=True)
class Stop:
    criterion: str
    how: str
    reason: str


STOPS = (
    Stop("7.a", "RemoteStopTransaction", "Remote"),
    Stop("7.b", "the same tag presented again", "Local"),
    Stop("7.c", "the cable unplugged", "EVDisconnected"),
)


async def run(ctx: StepContext) -> None:
    stopped = []
    for stop in STOPS:
        if ctx.lacks(stop.criterion):
            continue  # not applicable by the declaration (the engine recorded why)
        session = await remote_start(
            ctx, ctx.params.connector_id, ctx.params.valid_id_tag, needed_by=(stop.criterion,)
        )
        if session.transaction_id is None:
            ctx.check(
                stop.criterion,
                None,
                "Precondition not met: no transaction could be "
                f"started (RemoteStartTransaction {session.remote.describe()}, "
                f"{session.describe_start()})",
                evidence=session.evidence,
                key=f"{stop.criterion}#precondition",
            )
        else:
            await _stop(ctx, stop, session)
            stopped.append(session.transaction_id)
        await finish(ctx, session)
    if len(stopped) == len(STOPS) and all(r.outcome == "passed" for r in ctx.results):
        ctx.summary(
            f"Ok, remote stop, local stop and cable unplugged (transactions "
            f"{', '.join(map(str, stopped))})"
        )


async def _stop(ctx: StepContext, stop: Stop, session: Session) -> None:
    tx, connector = session.transaction_id, session.connector_id
    since = ctx.mark()
    evidence = []
    ended = ctx.frames("StopTransaction", {"transactionId": tx}, since=session.since)
    if ended:  # the station ended it by itself before it was asked to: proves nothing here
        session.stop = ended[0]
        ctx.unexpected(
            stop.criterion, ended, f"the station ended transaction {tx} by itself before "
            f"{stop.how}", key=f"{stop.criterion}#stop",
        )  # fmt: skip
        return
    if stop.criterion == "7.a":
        reply = await remote_stop(ctx, session)
        evidence = reply.frames
        ctx.check(
            "7.a",
            reply.status == "Accepted",
            f"RemoteStopTransaction {tx} answered {reply.describe()}",
            evidence=reply.frames,
            key="7.a#remote",
        )
        if reply.status != "Accepted":
            return
    elif stop.criterion == "7.b":
        answer = await ctx.prompt(
            f"Stop the charging at connector {connector} at the station: present the tag "
            f"{session.id_tag} again (or press the stop button).",
            simulator=SimulatorAction.of(
                "present_tag", connector_id=connector, id_tag=session.id_tag
            ),
            needed_by=("7.b",),
        )
        if not answer.done:
            return  # not observed (the engine said why); the clean-up stops the transaction
    else:
        answer = await ctx.prompt(
            f"Unplug the charging cable from connector {connector} while it charges.",
            simulator=SimulatorAction.of("unplug", connector_id=connector),
            needed_by=("7.c",),
        )
        if not answer.done:
            return
        session.plugged = False  # pulled out now: no clean-up unplug
    found = session.stop or await ctx.expect(
        "StopTransaction", {"transactionId": tx}, within=ctx.params.transaction_window, since=since
    )
    session.stop = found
    if found is None:
        extra = await _ev_side_setting(ctx) if stop.criterion == "7.c" else ""
        ctx.check(
            stop.criterion,
            False,
            f"No StopTransaction for transaction {tx} within "
            f"{ctx.params.transaction_window} s after {stop.how}{extra}",
            evidence=evidence,
            key=f"{stop.criterion}#stop",
        )
        return
    reason = found.payload.get("reason", "Local")  # absent means Local (OCPP 1.6, 6.47)
    ctx.check(
        stop.criterion,
        reason == stop.reason,
        f"StopTransaction {tx} after {stop.how}: "
        f"reason {reason}" + ("" if reason == stop.reason else f", expected {stop.reason}"),
        evidence=[*evidence, found],
        key=f"{stop.criterion}#stop",
    )
    wanted = ("Finishing", "Available")
    await ctx.expect(
        "StatusNotification",
        lambda p: p["connectorId"] == connector and p["status"] in wanted,
        within=ctx.params.status_window,
        since=since,
    )
    frames = status_frames(ctx, connector, since)
    seen = [f.payload.get("status") for f in frames]
    detail = f"StatusNotifications after the stop: {' → '.join(seen) or 'none'}"
    if not set(wanted) & set(seen):
        detail += "; expected Finishing or Available"
    ctx.check(
        stop.criterion,
        bool(set(wanted) & set(seen)),
        detail,
        evidence=frames,
        key=f"{stop.criterion}#status",
    )


async def _ev_side_setting(ctx: StepContext) -> str:
    """Why a station may keep a transaction after the cable is pulled: say what it is set to."""
    value, _ = await read_key(ctx, "StopTransactionOnEVSideDisconnect")
    return f" (StopTransactionOnEVSideDisconnect is {value})" if value is not None else ""
