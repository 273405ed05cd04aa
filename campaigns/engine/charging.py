"""Charging moves the transaction steps share: start a transaction (remotely or at the station),
find CertLab's transaction id, stop it, and leave the connector idle again.

A real station starts only once the cable is in (OCPP-NOTES), so a start waits for the station
to either start or show Preparing, and only then asks for the cable. A station that shows
neither (Preparing hidden by MinimumStatusDuration) is given a short while only (the lab
parameter ``cable_prompt_wait``, 2 s by default): the remote start lapses after the station's
ConnectionTimeOut, so the cable prompt must come well inside it.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

from campaigns.engine.context import StepContext
from campaigns.engine.frames import Frame
from campaigns.engine.prompts import SimulatorAction
from campaigns.engine.replies import CallReply

GRACE = 0.5  # s a station that shows Preparing gets to start before the cable prompt


@dataclass
class Session:
    """One transaction the step started: how it was triggered and what the station sent."""

    connector_id: int
    id_tag: str
    since: int  # history mark before the start was triggered
    remote: CallReply | None = None
    start: Frame | None = None  # the station's StartTransaction
    answer: Frame | None = None  # CertLab's answer to it (carries the transactionId)
    stop: Frame | None = None  # the station's StopTransaction, once seen
    plugged: bool = False  # the step asked for the cable, so it asks to unplug it at the end
    notes: list[str] = field(default_factory=list)

    @property
    def transaction_id(self) -> int | None:
        payload = self.answer.payload if self.answer else None
        value = payload.get("transactionId") if isinstance(payload, dict) else None
        return value if isinstance(value, int) else None

    @property
    def evidence(self) -> list[Frame]:
        frames = [*(self.remote.frames if self.remote else ()), self.start, self.answer]
        return [f for f in frames if f is not None]

    def describe_start(self) -> str:
        if self.start is None:
            return "no StartTransaction"
        tag = self.start.payload.get("idTag") if isinstance(self.start.payload, dict) else None
        return (
            f"StartTransaction (connector {self.connector_id}, idTag {tag}) answered with "
            f"transactionId {self.transaction_id}"
        )


def status_frames(ctx: StepContext, connector_id: int, since: int) -> list[Frame]:
    """The connector's StatusNotifications, those that break the schema with a connectorId
    "1" included: a step judges them (connector_states.check_statuses), never overlooks them."""
    return ctx.frames("StatusNotification", lambda p: str(p["connectorId"]) == str(connector_id),
                      since=since)  # fmt: skip


def status_names(frames: list[Frame]) -> list[str]:
    return [str(f.payload.get("status")) for f in frames if isinstance(f.payload, dict)]


async def plug_in(
    ctx: StepContext, connector_id: int, why: str = "", *, needed_by: tuple[str, ...] = ()
) -> bool:
    """Ask for the cable; ``needed_by`` as for ``ctx.prompt`` (not observed when not done)."""
    answer = await ctx.prompt(
        f"Plug the charging cable into connector {connector_id}{why}.",
        simulator=SimulatorAction.of("plug_in", connector_id=connector_id),
        needed_by=needed_by,
    )
    return answer.done


async def unplug(
    ctx: StepContext, connector_id: int, why: str = "", *, needed_by: tuple[str, ...] = ()
) -> bool:
    answer = await ctx.prompt(
        f"Unplug the charging cable from connector {connector_id}{why}.",
        simulator=SimulatorAction.of("unplug", connector_id=connector_id),
        needed_by=needed_by,
    )
    return answer.done


async def await_start(ctx: StepContext, session: Session, needed_by: tuple[str, ...] = ()) -> None:
    """The StartTransaction that follows an accepted start, asking for the cable if the station
    waits for it (``needed_by``: what is not observed when the cable cannot be plugged); then
    CertLab's answer with the transaction id."""
    connector = session.connector_id

    def started_or_waiting(payload: dict) -> bool:
        return str(payload["connectorId"]) == str(connector) and (
            "meterStart" in payload or payload.get("status") == "Preparing"
        )

    wait = min(ctx.params.status_window, ctx.params.cable_prompt_wait)
    await ctx.expect(None, started_or_waiting, within=wait, since=session.since)
    # A station already plugged in may show Preparing just before it starts: a moment's grace.
    start = await ctx.expect(
        "StartTransaction", {"connectorId": connector}, within=GRACE, since=session.since
    )
    if start is None:
        plugged = await plug_in(
            ctx, connector, " so that the transaction can start", needed_by=needed_by
        )
        session.plugged = plugged
        # Not plugged: only a start already on its way is taken, no long wait.
        start = await ctx.expect(
            "StartTransaction",
            {"connectorId": connector},
            within=ctx.params.transaction_window if plugged else GRACE,
            since=session.since,
        )
        if start is None and not plugged:
            session.notes.append(
                f"The operator could not plug the cable into connector {connector}."
            )
    if start:
        session.start = start
        session.answer = await ctx.answer_to(start)
        await ctx.expect(
            "StatusNotification",
            {"connectorId": connector, "status": "Charging"},
            within=ctx.params.status_window,
            since=session.since,
        )


async def remote_start(
    ctx: StepContext, connector_id: int, id_tag: str, needed_by: tuple[str, ...] = ()
) -> Session:
    """RemoteStartTransaction once the connector is idle, then the StartTransaction it leads to
    (see ``await_start``)."""
    await wait_available(ctx, connector_id)
    session = Session(connector_id, id_tag, since=ctx.mark())
    session.remote = await ctx.call(
        "RemoteStartTransaction", {"connectorId": connector_id, "idTag": id_tag}
    )
    if session.remote.status == "Accepted":
        await await_start(ctx, session, needed_by)
    return session


def last_status(ctx: StepContext, connector_id: int) -> str | None:
    """The connector's status as the station last reported it during this step."""
    frames = status_frames(ctx, connector_id, 0)
    return status_names(frames)[-1] if frames else None


async def wait_available(ctx: StepContext, connector_id: int) -> bool:
    """Wait (status window) for the connector to report Available when its last status in this
    step said otherwise (Finishing after a stop): the next part needs an idle connector. True
    when it is Available or nothing says it is not."""
    status = last_status(ctx, connector_id)
    if status in (None, "Available"):
        return True
    found = await ctx.expect(
        "StatusNotification",
        {"connectorId": connector_id, "status": "Available"},
        within=ctx.params.status_window,
        since=status_frames(ctx, connector_id, 0)[-1].seq,
    )
    if found is None:
        await ctx.note(
            f"Connector {connector_id} is still {last_status(ctx, connector_id)} "
            f"{ctx.params.status_window} s later (not Available)."
        )
    return found is not None


async def remote_stop(ctx: StepContext, session: Session) -> CallReply | None:
    """RemoteStopTransaction by CertLab's transaction id, and the StopTransaction it leads to."""
    tx = session.transaction_id
    if tx is None:
        return None
    since = ctx.mark()
    reply = await ctx.call("RemoteStopTransaction", {"transactionId": tx})
    if reply.status == "Accepted":
        session.stop = await ctx.expect(
            "StopTransaction",
            {"transactionId": tx},
            within=ctx.params.transaction_window,
            since=since,
        )
    return reply


async def finish(ctx: StepContext, session: Session | None) -> None:
    """Leave the connector idle: stop the transaction if it still runs (remotely, else by the
    operator at the station), take the cable out."""
    if session is None:
        return
    tx = session.transaction_id
    if tx is not None and session.stop is None:
        session.stop = next(
            iter(ctx.frames("StopTransaction", {"transactionId": tx}, since=session.since)), None
        )
        reply = None
        if session.stop is None:
            reply = await remote_stop(ctx, session)
            await ctx.note(
                f"Clean-up: RemoteStopTransaction {tx} answered "
                f"{reply.describe() if reply else 'nothing'}."
            )
        # Rejected: the station says the transaction no longer runs; a tag would start one.
        if session.stop is None and (reply is None or reply.status != "Rejected"):
            since = ctx.mark()
            stopped = await ctx.prompt(
                f"Transaction {tx} still runs: stop it at the station (present the tag "
                f"{session.id_tag} again, or press stop).",
                simulator=SimulatorAction.of(
                    "present_tag", connector_id=session.connector_id, id_tag=session.id_tag
                ),
            )
            session.stop = next(
                iter(ctx.frames("StopTransaction", {"transactionId": tx}, since=session.since)),
                None,
            ) or await ctx.expect(
                "StopTransaction",
                {"transactionId": tx},
                within=ctx.params.transaction_window if stopped.done else GRACE,
                since=since,
            )
            if session.stop is None:
                await ctx.note(f"Clean-up: transaction {tx} still runs at the end of the step.")
    if session.plugged:
        session.plugged = False
        await unplug(ctx, session.connector_id, " (clean-up: the connector becomes idle)")
    if session.stop is not None or tx is None:
        await wait_available(ctx, session.connector_id)


# The first value each step read of a key, so that change_key knows what to put back.
_first_read: weakref.WeakKeyDictionary[StepContext, dict[str, str | None]] = (
    weakref.WeakKeyDictionary()
)
_before: weakref.WeakKeyDictionary[StepContext, dict[str, str | None]] = weakref.WeakKeyDictionary()


async def read_key(ctx: StepContext, key: str) -> tuple[str | None, CallReply]:
    """A configuration key's value (None when the station does not list it) and the reply."""
    reply = await ctx.call("GetConfiguration", {"key": [key]})
    keys = (reply.payload or {}).get("configurationKey") if reply.ok else None
    value = None
    for item in keys or []:
        if isinstance(item, dict) and item.get("key") == key:
            value = item.get("value")
            break
    _first_read.setdefault(ctx, {}).setdefault(key, value)
    return value, reply


async def change_key(ctx: StepContext, key: str, value: str) -> CallReply:
    """ChangeConfiguration, remembering the value before the step's first change: the engine
    puts it back when the step ends, if the step has not (campaigns/engine/idle.py)."""
    before = _before.setdefault(ctx, {})
    if key not in before:
        known = _first_read.get(ctx, {})
        before[key] = known[key] if key in known else (await read_key(ctx, key))[0]
    reply = await ctx.call("ChangeConfiguration", {"key": key, "value": value})
    await ctx.note(f"ChangeConfiguration {key}={value} answered {reply.describe()}.")
    return reply


def settings_before(ctx: StepContext) -> dict[str, str | None]:
    """The keys the step changed through ``change_key``, with their values before."""
    return dict(_before.get(ctx, {}))
