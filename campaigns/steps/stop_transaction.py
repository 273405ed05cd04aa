"""7 · Stop charge transaction (both local notification and remote trigger).

Three transactions, each started remotely as a precondition and stopped another way:
RemoteStopTransaction by CertLab's transactionId, the same tag presented again at the station,
and the cable pulled out on the EV side: each must lead to a StopTransaction, and (7.a, 7.b)
to StatusNotifications that the OCPP 1.6 state machine allows, reaching Finishing or Available;
after the cable is pulled those statuses are a finding. The stop reason OCTT expects is a
finding beyond the lab's criteria: Remote (TC_012), Local (TC_068; an absent reason means Local),
EVDisconnected (TC_005_1). The station ends idle.
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
from campaigns.engine.connector_states import check_statuses, status_before
from campaigns.engine.context import StepContext
from campaigns.engine.prompts import SimulatorAction

NUMBER = 7
CRITERIA = ("7.a", "7.b", "7.c")


@dataclass(frozen=True)
class Stop:
    criterion: str
    how: str
    reason: str  # the stop reason OCTT expects (a finding: the lab's criteria do not ask)
    reference: str


STOPS = (
    Stop("7.a", "RemoteStopTransaction", "Remote", "OCTT TC_012"),
    Stop("7.b", "the same tag presented again", "Local", "OCTT TC_068"),
    Stop("7.c", "the cable unplugged", "EVDisconnected", "OCTT TC_005_1"),
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
    if len(stopped) == len(STOPS) and ctx.criteria_passed():
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
    ctx.check(
        stop.criterion,
        True,
        f"StopTransaction {tx} after {stop.how}",
        evidence=[*evidence, found],
        key=f"{stop.criterion}#stop",
    )
    # The reason is OCTT's rule, not the lab's criterion: a finding.
    reason = found.payload.get("reason", "Local")  # absent means Local (OCPP 1.6, 6.47)
    given = f"reason {reason}" if "reason" in found.payload else "no reason (which means Local)"
    ctx.finding(
        stop.criterion,
        reason == stop.reason,
        f"StopTransaction {tx} after {stop.how}: {given}"
        + ("" if reason == stop.reason else f", expected {stop.reason}"),
        reference=stop.reference,
        evidence=[found],
        key=f"{stop.criterion}#reason",
    )
    wanted = ("Finishing", "Available")
    await ctx.expect(
        "StatusNotification",
        lambda p: p["connectorId"] == connector and p["status"] in wanted,
        within=ctx.params.status_window,
        since=since,
    )
    check_statuses(
        ctx,
        stop.criterion,
        status_frames(ctx, connector, since),
        connector_id=connector,
        start=status_before(ctx, connector, since),
        reaches=wanted,
        key=f"{stop.criterion}#status",
        what="StatusNotifications after the stop",
        # 7.c asks only for the StopTransaction; the statuses after it are OCPP's rule.
        finding="OCPP 1.6 §4.9" if stop.criterion == "7.c" else "",
    )


async def _ev_side_setting(ctx: StepContext) -> str:
    """Why a station may keep a transaction after the cable is pulled: say what it is set to."""
    value, _ = await read_key(ctx, "StopTransactionOnEVSideDisconnect")
    return f" (StopTransactionOnEVSideDisconnect is {value})" if value is not None else ""
