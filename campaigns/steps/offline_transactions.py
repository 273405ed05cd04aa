"""14 · Get past charge transactions.

A transaction runs (started remotely, MeterValueSampleInterval set to the lab's interval) when the
station loses its network (OCTT TC_036); the operator stops it while the station is offline
(TC_038). After the reconnect the station must send what it queued by itself: the MeterValues
sampled during the outage and the StopTransaction (and the StartTransaction of a transaction begun
offline), in time order, each with the transactionId CertLab gave. If the transaction is still
running after the first outage (the built-in simulator cannot be reached while offline), a second
prompt stops it by a power cut, which the station also reports after it is back. The step waits a
bounded time after each reconnect and reports exactly what arrived and what did not. A
transaction the station ends by itself before the network is cut, or live after the reconnect,
left nothing queued to judge: that part is not observed, shown for QA, never failed or passed.

The connector's StatusNotifications over the step (Preparing, Charging, then Finishing and
Available, or only the status after the outage: a station need not queue them) are judged by the
OCPP 1.6 state machine (section 4.9), once the connector is back to Available: an allowed
sequence passes, an unexpected transition is flagged for QA, a forbidden one fails. 14.a asks
only for the queued transaction messages, so this is a finding beside it (OCPP 1.6 §4.9).
"""

import asyncio
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from campaigns.engine.charging import (
    Session,
    change_key,
    finish,
    read_key,
    remote_start,
    status_frames,
    wait_available,
)
from campaigns.engine.connector_states import check_statuses, status_before
from campaigns.engine.context import StepContext
from campaigns.engine.frames import Frame
from campaigns.engine.prompts import SimulatorAction, TimedAction

NUMBER = 14
CRITERIA = ("14.a",)

TRANSACTION_ACTIONS = ("StartTransaction", "StopTransaction", "MeterValues")
POLL = 0.2  # s between looks at the connection
# A periodic sample stamped this close before the reconnect may be a fresh one, not a queued one.
MARGIN = timedelta(seconds=0.5)
ACTION_SECONDS = 30  # s the operator is given for each local action of the outage


@dataclass(frozen=True)
class Outage:
    old_connection: int | None
    dropped_at: datetime | None  # when the outage was asked for; None: the connection never dropped
    back: Frame | None  # the first frame on the next connection; None: not back

    def sampled_during(self, frame: Frame) -> bool:
        when = _station_time(frame)
        return (self.back is not None and self.dropped_at is not None and when is not None
                and frame.connection_id == self.back.connection_id
                and self.dropped_at <= when < self.back.timestamp - MARGIN)  # fmt: skip


async def run(ctx: StepContext) -> None:
    interval = str(ctx.params.meter_interval)
    current, _ = await read_key(ctx, "MeterValueSampleInterval")
    changed = (
        current != interval
        and (await change_key(ctx, "MeterValueSampleInterval", interval)).status == "Accepted"
    )
    # The samples to expect during the outage come at the interval in force: the lab's, or the
    # station's own when it would not take the lab's.
    in_force = (ctx.params.meter_interval if changed or current == interval or not current
                or not current.isdigit() or int(current) <= 0 else int(current))  # fmt: skip
    session = await remote_start(
        ctx, ctx.params.connector_id, ctx.params.valid_id_tag, needed_by=("14.a",)
    )
    if session.transaction_id is None:
        ctx.check(
            "14.a",
            None,
            "Precondition not met: no transaction could be started "
            f"(RemoteStartTransaction {session.remote.describe()}, "
            f"{session.describe_start()})",
            evidence=session.evidence,
        )
    else:
        await _offline_and_back(ctx, session, in_force)
    await finish(ctx, session)
    if session.transaction_id is not None:
        await _check_statuses(ctx, session)
    if changed and current is not None:
        await change_key(ctx, "MeterValueSampleInterval", current)


async def _offline_and_back(ctx: StepContext, session: Session, interval: int) -> None:
    tx, seconds = session.transaction_id, ctx.params.offline_seconds
    since = ctx.mark()
    prompts = (
        (
            f"Cut the station's network while connector {session.connector_id} charges and stop "
            "the transaction while it is offline, one action after the other:",
            SimulatorAction.of("go_offline", seconds=float(seconds)),
            (
                TimedAction("Take it off the network: unplug its Ethernet cable or switch off "
                            "its modem.", ACTION_SECONDS),
                TimedAction("Leave it offline while it charges.", seconds),
                TimedAction("Stop the transaction at the station while it is still offline: "
                            f"present the tag {session.id_tag} again, or unplug the cable.",
                            ACTION_SECONDS),
                TimedAction("Restore the network, then answer Done.", ACTION_SECONDS),
            ),
        ),
        (
            f"Transaction {tx} is still running. Stop it while the station is off the network: "
            "switch the station off and on again, or cut the network, stop the transaction at "
            "the station and restore the network.",
            SimulatorAction.of("power_cycle"),
            (),
        ),
    )  # fmt: skip
    outages: list[Outage] = []
    # Without the first outage nothing is queued; without the second only the stop is missing.
    needs = (("14.a",), ("14.a#stop",))
    for (text, action, steps), needed_by in zip(prompts, needs, strict=True):
        mark, asked_at = ctx.mark(), datetime.now(UTC)
        connection = _connection(ctx, mark)
        answer = await ctx.prompt(text, simulator=action, needed_by=needed_by, steps=steps)
        if not answer.done:
            break
        outage = await _outage(ctx, mark, connection, seconds, asked_at)
        outages.append(outage)
        if outage.back is None:
            break  # not back: what did arrive is still reported below
        await _replay(ctx, mark, tx, outage.back)
        if _stop_of(ctx, since, tx):
            break
    _evaluate(ctx, since, session, outages, interval)


async def _check_statuses(ctx: StepContext, session: Session) -> None:
    """The connector's statuses from the remote start to Available again, by section 4.9."""
    connector = session.connector_id
    await wait_available(ctx, connector)
    check_statuses(
        ctx,
        "14.a",
        status_frames(ctx, connector, session.since),
        connector_id=connector,
        start=status_before(ctx, connector, session.since),
        key="14.a#status",
        what=f"StatusNotifications of transaction {session.transaction_id} across the outage",
        finding="OCPP 1.6 §4.9",
    )


def _connection(ctx: StepContext, since: int) -> int | None:
    """The connection the station's latest frame came on."""
    frames = [f for f in ctx.history[:since] if f.direction == "in" and f.connection_id]
    return frames[-1].connection_id if frames else None


def _first_on_new_connection(ctx: StepContext, since: int, old: int | None) -> Frame | None:
    return next(
        (
            f
            for f in ctx.history[since:]
            if f.direction == "in" and f.connection_id not in (None, old)
        ),
        None,
    )


async def _outage(ctx, mark: int, old: int | None, seconds: int, asked_at: datetime) -> Outage:
    """Whether the connection dropped, and the first frame on the next connection."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.params.status_window
    dropped = False
    while loop.time() < deadline and not dropped:
        dropped = bool(_first_on_new_connection(ctx, mark, old)) or await ctx.wait_disconnected(
            within=POLL
        )
    if not dropped:
        return Outage(old, None, None)
    await ctx.note("The station is offline; waiting for it to come back.")
    await ctx.wait_connected(within=seconds + ctx.params.reconnect_timeout)
    first = await _first_frame(ctx, mark, old)
    if first is None and await ctx.port.is_connected():
        # Connected again but silent: nothing was queued (no sample fell in the outage, or the
        # one in flight was confirmed before the drop) and no status changed, so a station
        # need send nothing until its next Heartbeat. Its answer to a harmless question shows
        # the new connection; without it the step would say it never came back.
        await ctx.note("The station is back but silent; asking for its HeartbeatInterval.")
        await ctx.call("GetConfiguration", {"key": ["HeartbeatInterval"]})
        first = await _first_frame(ctx, mark, old)
    return Outage(old, asked_at, first)


async def _first_frame(ctx: StepContext, mark: int, old: int | None) -> Frame | None:
    """The first frame on a new connection, waited for a status window."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.params.status_window
    while (first := _first_on_new_connection(ctx, mark, old)) is None and loop.time() < deadline:
        await asyncio.sleep(POLL)
    return first


async def _replay(ctx: StepContext, mark: int, tx: int, back: Frame) -> None:
    """Wait (bounded) for what the criterion is about: the queued StopTransaction of ``tx``,
    which a station sends after the samples of the outage (time order). A live MeterValues
    after the reconnect says nothing about the queue (a station may send one first), so the
    wait never ends on one."""
    await ctx.expect(
        "StopTransaction", {"transactionId": tx}, within=ctx.params.status_window, since=back.seq
    )


def _stop_of(ctx: StepContext, since: int, tx: int) -> Frame | None:
    return next(iter(ctx.frames("StopTransaction", {"transactionId": tx}, since=since)), None)


def _evaluate(ctx, since: int, session: Session, outages: list[Outage], interval: int) -> None:
    tx = session.transaction_id
    if not outages or outages[0].dropped_at is None:
        ctx.check(
            "14.a",
            None,
            "The station's connection never dropped, so nothing could be "
            "queued; QA to repeat with the network really cut",
            key="14.a#outage",
        )
        return
    if outages[-1].dropped_at is not None and outages[-1].back is None:
        ctx.check(
            "14.a",
            False,
            "The station did not come back within "
            f"{ctx.params.offline_seconds + ctx.params.reconnect_timeout} s after the "
            "outage",
            key="14.a#outage",
        )
    if (early := _stop_of(ctx, since, tx)) is not None and early.connection_id not in {
        o.back.connection_id for o in outages if o.back is not None
    }:
        # Ended before the network was cut (by the station itself, say): nothing to queue.
        ctx.unexpected("14.a", [early], f"transaction {tx} ended before the network was cut, "
                       "so nothing of it could be queued", key="14.a#outage")  # fmt: skip
        return
    backs = {o.back.connection_id: o for o in outages if o.back is not None}
    replay = [
        f
        for f in ctx.frames(None, since=since)
        if f.action in TRANSACTION_ACTIONS and f.connection_id in backs and _of_transaction(f)
    ]
    ctx.attach(
        "offline_replay",
        [
            {
                "action": f.action,
                "transactionId": (f.payload or {}).get("transactionId"),
                "timestamp": (f.payload or {}).get("timestamp") or _meter_time(f),
                "received": f.timestamp.isoformat(),
                "connection_id": f.connection_id,
                "sampled_offline": backs[f.connection_id].sampled_during(f),
            }
            for f in replay
        ],
    )
    _check_meter_values(ctx, replay, backs, interval)
    if outages[-1].dropped_at is None and not any(f.action == "StopTransaction" for f in replay):
        # The second outage (for the stop) was answered Done but the connection stayed up, and
        # no stop came of the first: none could be queued, which says nothing of the queue.
        ctx.check(
            "14.a",
            None,
            "The station's connection never dropped when it was asked off the network again to "
            "stop the transaction offline, so no stop could be queued; QA to repeat with the "
            "network really cut",
            key="14.a#stop",
        )
    else:
        _check_stop(ctx, since, tx, replay, backs)
    _check_order(ctx, replay, tx, backs)
    if all(r.outcome == "passed" for r in ctx.results):
        count = sum(f.action == "MeterValues" for f in replay)
        ctx.summary(
            f"Ok, after reconnect: {count} MeterValues and the StopTransaction of "
            f"transaction {tx}, in time order"
        )


def _check_meter_values(ctx, replay: list[Frame], backs: dict[int, Outage], interval: int) -> None:
    meters = [f for f in replay if f.action == "MeterValues"]
    offline = [f for f in meters if backs[f.connection_id].sampled_during(f)]
    resent = [
        f
        for f in meters
        if (_station_time(f) or f.timestamp) < (backs[f.connection_id].dropped_at or f.timestamp)
    ]
    expected = sum(
        int((o.back.timestamp - o.dropped_at).total_seconds() // interval) for o in backs.values()
    )
    windows = ", ".join(
        f"{o.dropped_at:%H:%M:%S} to {o.back.timestamp:%H:%M:%S}" for o in backs.values()
    )
    detail = (
        f"Outage {windows}: {len(offline)} MeterValues sampled during it arrived after "
        f"the reconnect (about {expected} expected at {interval} s)"
    )
    if resent:
        detail += f"; {len(resent)} sent again from before the outage"
    if not offline:
        detail += (
            "; the samples of the outage are lost"
            if expected
            else ("; the outage was shorter than the sample interval")
        )
    ok = bool(offline) if expected else None
    ctx.check("14.a", ok, detail, evidence=[*offline, *resent], key="14.a#meter-values")


def _check_stop(ctx, since: int, tx: int, replay, backs: dict[int, Outage]) -> None:
    stop = _stop_of(ctx, since, tx)
    if stop is None:
        others = [f for f in replay if f.action == "StopTransaction"]
        ids = ", ".join(str(f.payload.get("transactionId")) for f in others)
        detail = f"No StopTransaction for transaction {tx} arrived after the reconnect" + (
            f" (StopTransaction for {ids} instead)"
            if others
            else f" within {ctx.params.status_window} s"
        )
        ctx.check("14.a", False, detail, evidence=others, key="14.a#stop")
        return
    outage = backs.get(stop.connection_id)
    when = _station_time(stop)
    offline = (
        outage is not None
        and outage.dropped_at is not None
        and when is not None
        and outage.dropped_at <= when <= outage.back.timestamp
    )
    head = (
        f"StopTransaction {tx} (reason {stop.payload.get('reason', 'Local')}, stamped "
        f"{stop.payload.get('timestamp')})"
    )
    if offline:
        detail = f"{head} was queued during the outage and sent after the reconnect"
        ctx.check("14.a", True, detail, evidence=[stop], key="14.a#stop")
    elif outage is not None and when is not None and when > outage.back.timestamp:
        # Live, after the reconnect: the station ended it then (by itself, say), not offline.
        ctx.unexpected("14.a", [stop], f"{head} ended the transaction after the reconnect, "
                       "not while the station was offline: not a queued message",
                       key="14.a#stop")  # fmt: skip
    else:
        detail = (f"{head} was not stopped during an outage: it came on the same connection "
                  "or is stamped outside the outage")  # fmt: skip
        ctx.check("14.a", False, detail, evidence=[stop], key="14.a#stop")


def _check_order(ctx, replay: list[Frame], tx: int, backs: dict[int, Outage]) -> None:
    calls = replay
    known = {tx} | {_answered_id(ctx, f) for f in calls if f.action == "StartTransaction"}
    unmapped = [
        f
        for f in calls
        if f.action != "StartTransaction" and (f.payload or {}).get("transactionId") not in known
    ]
    # Time order is asked of the queue; a live sample stamped after the reconnect is not part of
    # it, wherever the station sends it.
    queued = [f for f in calls if not _live(f, backs[f.connection_id])]
    times = [(_station_time(f), f) for f in queued]
    backwards = [
        f
        for (a, _), (b, f) in itertools.pairwise(times)
        if a is not None and b is not None and b < a
    ]
    problems = []
    if unmapped:
        problems.append(
            "not mapped to transaction "
            + str(tx)
            + ": "
            + ", ".join(
                f"{f.action} with transactionId {f.payload.get('transactionId')}" for f in unmapped
            )
        )
    if backwards:
        problems.append(
            "out of time order: "
            + ", ".join(f"{f.action} stamped {_station_time(f):%H:%M:%S}" for f in backwards)
        )
    detail = f"{len(calls)} transaction messages after the reconnect, " + (
        "; ".join(problems) if problems else f"in time order, all for transaction {tx}"
    )
    ctx.check("14.a", not problems, detail, evidence=[*unmapped, *backwards], key="14.a#order")


def _of_transaction(frame: Frame) -> bool:
    """A transaction message: a MeterValues without transactionId is the connector's own sample
    (OCPP 1.6, 6.32), never queued for a transaction."""
    payload = frame.payload if isinstance(frame.payload, dict) else {}
    return frame.action != "MeterValues" or payload.get("transactionId") is not None


def _live(frame: Frame, outage: Outage) -> bool:
    when = _station_time(frame)
    return (
        frame.action == "MeterValues"
        and outage.back is not None
        and when is not None
        and when >= outage.back.timestamp - MARGIN
    )


def _answered_id(ctx: StepContext, start: Frame) -> int | None:
    """The transactionId CertLab gave a StartTransaction that arrived in the replay."""
    answer = next(
        (
            f
            for f in ctx.history[start.seq :]
            if f.unique_id == start.unique_id
            and f.direction == "out"
            and f.message_type == "CALLRESULT"
        ),
        None,
    )
    return (answer.payload or {}).get("transactionId") if answer else None


def _meter_time(frame: Frame) -> str | None:
    values = (frame.payload or {}).get("meterValue") or [{}]
    return values[0].get("timestamp")


def _station_time(frame: Frame) -> datetime | None:
    stamp = (frame.payload or {}).get("timestamp") or _meter_time(frame)
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None
