"""6 · Start charge transaction (both local notification and remote trigger).

Remote (OCTT TC_011_1/TC_010): RemoteStartTransaction must be Accepted and lead to a
StartTransaction with that idTag, which CertLab answers with its transactionId, and to
StatusNotifications (in either order relative to StartTransaction) whose every transition the
OCPP 1.6 state machine allows, reaching Charging (or SuspendedEV/EVSE); Preparing may be hidden
by MinimumStatusDuration (Available to Charging is valid).
Local (TC_004_1/TC_003): a valid tag at the station gives Authorize, answered Accepted, then a
StartTransaction with that tag. Invalid tag (TC_023): Authorize answered Invalid and no
StartTransaction (nor Charging) within the window, even with the cable in. Every transaction the
step starts is stopped again, so the station ends idle.
"""

from campaigns.engine.charging import (
    Session,
    await_start,
    finish,
    plug_in,
    remote_start,
    status_frames,
    unplug,
)
from campaigns.engine.connector_states import CHARGING_STATES, check_statuses, status_before
from campaigns.engine.context import StepContext
from campaigns.engine.prompts import SimulatorAction

NUMBER = 6
CRITERIA = ("6.a", "6.b", "6.c")


async def run(ctx: StepContext) -> None:
    connector, tag = ctx.params.connector_id, ctx.params.valid_id_tag
    remote = await remote_start(ctx, connector, tag, needed_by=("6.a",))
    _check_remote(ctx, remote)
    await finish(ctx, remote)
    local = Session(connector, tag, since=ctx.mark())
    await _local_start(ctx, local)
    await finish(ctx, local)
    await _invalid_tag(ctx)
    if ctx.criteria_passed():
        ctx.summary(
            f"Ok, remote start (transaction {remote.transaction_id}), local start "
            f"(transaction {local.transaction_id}), invalid tag refused"
        )


def _check_remote(ctx: StepContext, session: Session) -> None:
    reply = session.remote
    ctx.check(
        "6.a",
        reply.status == "Accepted",
        f"RemoteStartTransaction (connector {session.connector_id}, idTag {session.id_tag}) "
        f"answered {reply.describe()}",
        evidence=reply.frames,
        key="6.a#remote",
    )
    if reply.status == "Accepted":
        _check_start(ctx, "6.a", session)


async def _local_start(ctx: StepContext, session: Session) -> None:
    # A clean start: an empty authorization cache makes the station ask CertLab (Authorize).
    cleared = await ctx.call("ClearCache")
    await ctx.note(f"ClearCache before the local start answered {cleared.describe()}.")
    answer = await ctx.prompt(
        f"Present the valid RFID tag {session.id_tag} at connector {session.connector_id} "
        "(plug the cable in when the station asks for it).",
        input_label="idTag presented",
        simulator=SimulatorAction.of(
            "present_tag", connector_id=session.connector_id, id_tag=session.id_tag
        ),
        needed_by=("6.b",),
    )
    if not answer.done:
        return  # 6.b is not observed (the engine said why); a start meanwhile is cleaned up
    session.id_tag = answer.value.strip() or session.id_tag
    early = ctx.frames("Authorize", {"idTag": session.id_tag}, since=session.since)
    early = [f for f in early if f.seq < answer.asked]
    if early:
        ctx.unexpected("6.b", early, "an Authorize before the tag was asked for", key="6.b#early")
    authorize = await ctx.expect(
        "Authorize", {"idTag": session.id_tag}, within=ctx.params.status_window,
        since=answer.asked,
    )  # fmt: skip
    if authorize is None:
        ctx.check(
            "6.b",
            False,
            f"No Authorize for {session.id_tag} within "
            f"{ctx.params.status_window} s after the tag was presented (prompt answered "
            f"{answer.choice or 'nothing'})",
            key="6.b#authorize",
        )
        return
    verdict = await ctx.answer_to(authorize)  # CertLab's own: never missing (LabTrouble)
    status = _id_tag_status(verdict)
    ctx.check(
        "6.b",
        status == "Accepted",
        f"Authorize {session.id_tag} answered {status} by CertLab",
        evidence=[authorize, verdict],
        key="6.b#authorize",
    )
    if status != "Accepted":
        return
    await await_start(ctx, session, needed_by=("6.b",))
    _check_start(ctx, "6.b", session)


async def _invalid_tag(ctx: StepContext) -> None:
    connector, window = ctx.params.connector_id, ctx.params.quiet_window
    since = ctx.mark()
    # Without the cable in, "no start" proves nothing: that check needs it.
    plugged = await plug_in(
        ctx, connector, " and leave it in (the next tag must not start)",
        needed_by=("6.c#no-start",),
    )  # fmt: skip
    try:
        answer = await ctx.prompt(
            f"Present the unknown RFID tag {ctx.params.invalid_id_tag} at connector {connector}.",
            input_label="idTag presented",
            simulator=SimulatorAction.of(
                "present_tag", connector_id=connector, id_tag=ctx.params.invalid_id_tag
            ),
            needed_by=("6.c",),
        )
        if not answer.done:
            return
        tag = answer.value.strip() or ctx.params.invalid_id_tag
        authorize = await ctx.expect("Authorize", {"idTag": tag}, within=window, since=answer.asked)
        if authorize is None:
            ctx.check(
                "6.c",
                None,
                f"No Authorize for the invalid tag {tag} within {window} s: "
                "the station may refuse it locally; QA to confirm",
                key="6.c#authorize",
            )
        else:
            verdict = await ctx.answer_to(authorize)
            status = _id_tag_status(verdict)
            ctx.check(
                "6.c",
                status not in (None, "Accepted"),
                f"Authorize {tag} answered {status} by CertLab",
                evidence=[authorize, verdict],
                key="6.c#authorize",
            )
        if ctx.blocked("6.c#no-start"):
            return  # no cable: a missing start would prove nothing
        after = since if authorize is None else authorize.seq
        await ctx.collect(None, during=window, since=after)
        starts = ctx.frames("StartTransaction", {"connectorId": connector}, since=after)
        charging = [
            f
            for f in status_frames(ctx, connector, after)
            if f.payload.get("status") in ("Charging", "SuspendedEV", "SuspendedEVSE")
        ]
        cable = "with the cable in" if plugged else "(cable not confirmed)"
        if starts or charging:
            detail = f"The sequence went on after the invalid tag {tag} {cable}: " + ", ".join(
                f.describe() for f in [*starts, *charging]
            )
        else:
            detail = (
                f"No StartTransaction and no Charging within {window} s after the invalid "
                f"tag {tag} {cable}"
            )
        ctx.check(
            "6.c",
            not (starts or charging),
            detail,
            evidence=[*starts, *charging],
            key="6.c#no-start",
        )
    finally:
        for start in ctx.frames("StartTransaction", {"connectorId": connector}, since=since):
            stray = Session(
                connector, str(start.payload.get("idTag")), since=since, start=start,
                answer=await ctx.answer_to(start),
            )  # fmt: skip
            await finish(ctx, stray)
        if plugged:
            await unplug(ctx, connector, " (clean-up)")


def _check_start(ctx: StepContext, criterion: str, session: Session) -> None:
    for note in session.notes:
        ctx.check(criterion, None, note, key=f"{criterion}#cable")
    start = session.start
    if start is None:
        ctx.check(
            criterion,
            False,
            f"No StartTransaction on connector {session.connector_id} "
            f"within {ctx.params.transaction_window} s"
            + (" after the cable was plugged in" if session.plugged else ""),
            evidence=session.evidence,
            key=f"{criterion}#start",
        )
        return
    tag = start.payload.get("idTag")
    problems = []
    if tag != session.id_tag:
        problems.append(f"idTag is {tag!r}, expected {session.id_tag!r}")
    if session.transaction_id is None:
        problems.append("CertLab's answer carries no transactionId")
    detail = session.describe_start()
    ctx.check(
        criterion,
        not problems,
        detail + (": " + "; ".join(problems) if problems else ""),
        evidence=session.evidence,
        key=f"{criterion}#start",
    )
    _check_statuses(ctx, criterion, session)


def _check_statuses(ctx: StepContext, criterion: str, session: Session) -> None:
    """ "Several StatusNotification messages (according to OCPP 1.6)": every transition one the
    1.6 state machine allows, ending in a charging state. Preparing is not required: Available
    to Charging is a valid transition (A3) and MinimumStatusDuration hides Preparing."""
    check_statuses(
        ctx,
        criterion,
        status_frames(ctx, session.connector_id, session.since),
        connector_id=session.connector_id,
        start=status_before(ctx, session.connector_id, session.since),
        reaches=CHARGING_STATES,
        key=f"{criterion}#status",
        what=f"StatusNotifications of the {'remote' if criterion == '6.a' else 'local'} start",
    )


def _id_tag_status(answer) -> str | None:
    payload = answer.payload if answer is not None else None
    if not isinstance(payload, dict):
        return None
    return (payload.get("idTagInfo") or {}).get("status")
