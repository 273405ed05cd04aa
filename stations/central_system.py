"""The Central System side of one station's connection: an ``ocpp.v16.ChargePoint`` whose
handlers answer the 10 station-initiated actions, routed and checked the OCPP-J 1.6 way.

The ``ocpp`` package's routing is replaced (``route_message``) so that every frame is logged with
what was wrong with it and bad input gets its 1.6 CALLERROR; its ``@on`` route map, payload
translation and dataclasses are kept. Central-System calls (``run_call``) keep their own table of
outstanding unique ids instead of ``ChargePoint.call()``, which drops responses to unknown ids
silently and cannot send raw frames.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.routing import create_route_map, on
from ocpp.v16 import ChargePoint, call_result

from stations import ocpp_j, services
from stations.answers import answer_db
from stations.frame_log import LoggedFrame
from stations.models import Direction, MessageType, PendingStation, Station

logger = logging.getLogger(__name__)

_TYPE = {
    ocpp_j.CALL: MessageType.CALL,
    ocpp_j.CALLRESULT: MessageType.CALLRESULT,
    ocpp_j.CALLERROR: MessageType.CALLERROR,
}


# The largest connector id the live state holds (PositiveSmallIntegerField).
MAX_CONNECTOR_ID = 32767


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class Socket:
    """The adapter the ChargePoint reads from and writes to: ``recv()`` awaits what the
    consumer's ``receive()`` queued; ``send()`` writes to the websocket.

    A list and one waiter instead of an ``asyncio.Queue`` (four deques, some 3 KB per idle
    station): one reader, and frames are fed in order from the same loop."""

    __slots__ = ("_send", "_waiter", "queue")

    def __init__(self, send: Callable[[str], Awaitable[None]]) -> None:
        self.queue: collections.deque[tuple[str, datetime, str]] | None = None
        self._waiter: asyncio.Future | None = None
        self._send = send

    def feed(self, text: str, received: datetime, unreadable: str = "") -> None:
        """Queue a frame; ``unreadable``: why it cannot be read as text (binary, not UTF-8),
        ``text`` then holds its bytes decoded with replacement characters."""
        if self.queue is None:
            self.queue = collections.deque()
        self.queue.append((text, received, unreadable))
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def recv(self) -> tuple[str, datetime, str]:
        while not self.queue:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self.queue.popleft()
        if not self.queue:
            self.queue = None  # an idle station keeps no deque
        return item

    async def send(self, text: str) -> None:
        await self._send(text)


class CallOutcome(dict):
    """What a Central-System call came to, as sent back to the bus caller."""


class CentralSystem(ChargePoint):
    """One connected station. ``log`` receives every frame for the frame log."""

    def __init__(
        self,
        station: Station,
        socket: Socket,
        *,
        connection_id: int | None,
        log: Callable[[LoggedFrame], None],
    ) -> None:
        self.station: Station | None = station
        self._attach(station, socket, connection_id=connection_id, log=log)

    def _attach(
        self,
        owner: Station | PendingStation,
        socket: Socket,
        *,
        connection_id: int | None,
        log: Callable[[LoggedFrame], None],
    ) -> None:
        # ChargePoint.__init__ is not called: its per-instance route map of bound methods and
        # response queue cost kilobytes per idle station, and neither is used here (the route
        # map is built once per class, the answers to our calls go through ``_outstanding``).
        self.id = owner.charge_point_id
        self._connection = socket
        self.logger = logger
        # What the frame log files the frames under: the Station's id, or the PendingStation's.
        self.owner_id = owner.pk
        self.connection_id = connection_id
        self._log = log
        self._outstanding: dict[str, tuple[str, asyncio.Future]] = {}
        # Ids of calls already answered or given up, so a late answer is named as such.
        self._finished: OrderedDict[str, str] | None = None
        self._call_lock = asyncio.Lock()  # one outstanding call per station, FIFO
        self.current_payload: dict = {}
        self.frames_in = 0  # frames logged as the station's: a frame is never logged twice

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.route_map = create_route_map(cls)

    # --- the loop ------------------------------------------------------------------------------

    async def start(self) -> None:
        while True:
            text, received, unreadable = await self._connection.recv()
            logged = self.frames_in
            try:
                if unreadable:
                    await self.route_unreadable(text, received, unreadable)
                else:
                    await self.route_message(text, received)
            except Exception as exc:
                logger.exception("%s: could not handle %.200s", self.id, text)
                if self.frames_in == logged:  # the frame is still logged, with why
                    self.log_frame(
                        text,
                        Direction.IN,
                        message_type=MessageType.INVALID,
                        error=f"CertLab could not handle this frame: {type(exc).__name__}",
                        timestamp=received,
                    )

    def log_frame(
        self,
        raw: str,
        direction: str,
        *,
        message_type: str,
        action: str = "",
        unique_id: str = "",
        payload: Any = None,
        error: str = "",
        timestamp: datetime | None = None,
    ) -> LoggedFrame:
        if direction == Direction.IN:
            self.frames_in += 1
        frame = LoggedFrame(
            station_id=self.owner_id,
            connection_id=self.connection_id,
            timestamp=timestamp or _now(),
            direction=str(direction),
            message_type=str(message_type),
            action=action[:64],
            unique_id=unique_id[:64],
            raw=raw,
            payload=payload,
            error=error,
            has_error=bool(error) or message_type in (MessageType.CALLERROR, MessageType.INVALID),
        )
        self._log(frame)
        return frame

    async def _send_frame(self, text: str, **fields: Any) -> None:
        self.log_frame(text, Direction.OUT, **fields)
        await self._connection.send(text)

    async def send_error(self, unique_id: str, code: str, description: str, action: str = ""):
        await self._send_frame(
            ocpp_j.error_frame(unique_id, code, description),
            message_type=MessageType.CALLERROR,
            action=action,
            unique_id=unique_id,
            payload={"errorCode": code, "errorDescription": description, "errorDetails": {}},
        )

    async def route_message(self, raw: str, received: datetime | None = None) -> None:
        received = received or _now()
        try:
            msg = ocpp_j.parse(raw)
        except ocpp_j.FrameError as exc:
            self.log_frame(
                raw,
                Direction.IN,
                message_type=MessageType.INVALID,
                action=exc.action if isinstance(exc.action, str) else "",
                unique_id=exc.unique_id,
                error=f"{exc.code}: {exc.description}",
                timestamp=received,
            )
            if exc.unique_id:
                await self.send_error(exc.unique_id, exc.code, exc.description)
            return
        if msg.message_type == ocpp_j.CALL:
            await self._handle_station_call(msg, raw, received)
        else:
            self._handle_response(msg, raw, received)

    async def route_unreadable(self, text: str, received: datetime, why: str) -> None:
        """A frame that is not OCPP-J text (a binary frame, a text frame not UTF-8): logged
        with why, answered FormationViolation when a CALL's unique id can be read from it."""
        try:
            msg = ocpp_j.parse(text)
            unique_id = msg.unique_id if msg.message_type == ocpp_j.CALL else ""
        except ocpp_j.FrameError as exc:
            unique_id = exc.unique_id  # set where the sender deserves an answer
        self.log_frame(
            text,
            Direction.IN,
            message_type=MessageType.INVALID,
            unique_id=unique_id,
            error=f"{ocpp_j.FORMATION_VIOLATION}: {why}",
            timestamp=received,
        )
        # An id holding a replacement character may be one CertLab's decoding made up from
        # bytes that were not UTF-8: no station sent it, so nobody is answered with it.
        if unique_id and "\ufffd" not in unique_id:
            await self.send_error(unique_id, ocpp_j.FORMATION_VIOLATION, why)

    # --- station-initiated calls ---------------------------------------------------------------

    def refusal(self, action: str, payload: Any) -> tuple[str, str] | None:
        """The CALLERROR (code, description) a station's call gets instead of an answer."""
        handlers = self.route_map.get(action)
        if handlers is None or "_on_action" not in handlers:
            if action in ocpp_j.KNOWN_ACTIONS:
                return (ocpp_j.NOT_SUPPORTED, f"{action} is not sent by a charge point")
            return (ocpp_j.NOT_IMPLEMENTED, f"Unknown action {action!r}")
        problem = ocpp_j.schema_error(action, payload)
        if problem is None and "connectorId" in payload:
            connector = payload["connectorId"]
            if not 0 <= connector <= MAX_CONNECTOR_ID:
                return (
                    ocpp_j.PROPERTY_CONSTRAINT_VIOLATION,
                    f"{action} connectorId {connector}: connectors are numbered from 0 "
                    f"(the station) up; CertLab records up to {MAX_CONNECTOR_ID}",
                )
        return problem

    async def _handle_station_call(self, msg: ocpp_j.Message, raw: str, received: datetime):
        action, uid = msg.action, msg.unique_id
        problem = self.refusal(action, msg.payload)
        self.log_frame(
            raw,
            Direction.IN,
            message_type=MessageType.CALL,
            action=action,
            unique_id=uid,
            payload=msg.logged_payload,
            error=f"{problem[0]}: {problem[1]}" if problem else "",
            timestamp=received,
        )
        if problem:
            await self.send_error(uid, *problem, action=action)
            return
        # Logged as sent; the handlers get text the database takes (NUL only comes escaped).
        if "\\u0000" in raw:
            msg.payload = ocpp_j.without_nul(msg.payload)
        self.current_payload = msg.payload
        # The class's function: the route map is per class.
        handler = self.route_map[action]["_on_action"]
        try:
            response = handler(self, **camel_to_snake_case(msg.payload))
            if inspect.isawaitable(response):
                response = await response
        except Exception:
            logger.exception("%s: handler for %s failed", self.id, action)
            await self.send_error(uid, ocpp_j.INTERNAL_ERROR, f"CertLab failed on {action}", action)
            return
        payload = snake_to_camel_case(remove_nones(serialize_as_dict(response)))
        await self._send_frame(
            ocpp_j.result_frame(uid, payload),
            message_type=MessageType.CALLRESULT,
            action=action,
            unique_id=uid,
            payload=payload,
        )

    # --- responses to Central-System calls -----------------------------------------------------

    def _handle_response(self, msg: ocpp_j.Message, raw: str, received: datetime) -> None:
        uid = msg.unique_id
        entry = self._outstanding.pop(uid, None)
        error = ""
        if entry is None:
            action = self._finished.get(uid, "") if self._finished else ""
            error = (
                "Response after the call was given up"
                if action
                else "Response to unknown unique id"
            )
        else:
            action = entry[0]
            if msg.message_type == ocpp_j.CALLRESULT and action:
                problem = ocpp_j.schema_error(action, msg.payload, response=True)
                if problem:
                    error = f"{problem[0]}: {problem[1]}"
        self.log_frame(
            raw,
            Direction.IN,
            message_type=_TYPE[msg.message_type],
            action=action,
            unique_id=uid,
            payload=msg.logged_payload,
            error=error,
            timestamp=received,
        )
        if entry is not None and not entry[1].done():
            entry[1].set_result((msg, error))

    def _remember(self, uid: str, action: str) -> None:
        if self._finished is None:
            self._finished = OrderedDict()
        self._finished[uid] = action
        while len(self._finished) > 1000:
            self._finished.popitem(last=False)

    async def run_call(
        self,
        *,
        action: str = "",
        payload: Any = None,
        raw: str | None = None,
        unique_id: str | None = None,
        deadline: float,
        wait: bool = True,
    ) -> CallOutcome:
        """Send one call (or a raw frame) once the calls before it are done; await the answer."""
        loop = asyncio.get_running_loop()
        async with self._call_lock:
            if loop.time() >= deadline:
                return CallOutcome(
                    status="timeout", detail="Timed out in the station's queue", where="queue"
                )
            message_type, logged_payload, error = MessageType.CALL, payload, ""
            if raw is not None:
                text = raw
                try:
                    parsed = ocpp_j.parse(raw)
                    uid, action = parsed.unique_id, parsed.action or action
                    message_type = _TYPE[parsed.message_type]
                    logged_payload = parsed.logged_payload
                except ocpp_j.FrameError as exc:
                    uid, message_type = exc.unique_id, MessageType.INVALID
                    logged_payload, error = None, f"Sent on purpose: {exc.code}: {exc.description}"
                wait = wait and message_type == MessageType.CALL
            else:
                uid = unique_id or str(uuid.uuid4())
                text = ocpp_j.call_frame(uid, action, payload)
            future: asyncio.Future = loop.create_future()
            if wait:
                self._outstanding[uid] = (action, future)
            try:
                await self._send_frame(
                    text,
                    message_type=message_type,
                    action=action,
                    unique_id=uid,
                    payload=logged_payload,
                    error=error,
                )
                if not wait:
                    return CallOutcome(status="sent")
                try:
                    msg, error = await asyncio.wait_for(future, deadline - loop.time())
                except TimeoutError:
                    return CallOutcome(status="timeout", detail=f"No answer to {action} {uid}")
            finally:
                self._outstanding.pop(uid, None)
                if wait:
                    self._remember(uid, action)
        if msg.message_type == ocpp_j.CALLERROR:
            return CallOutcome(
                status="call_error",
                code=msg.error_code,
                description=msg.error_description,
                details=msg.error_details,
                unique_id=uid,
            )
        return CallOutcome(status="result", payload=msg.payload, error=error, unique_id=uid)

    # --- handlers: the 10 station-initiated actions -------------------------------------------

    @on("BootNotification")
    async def on_boot_notification(self, **kwargs):
        status, interval = await answer_db(services.boot_answer)(
            station=self.station, payload=self.current_payload
        )
        return call_result.BootNotification(
            current_time=_iso(_now()), interval=interval, status=status
        )

    @on("Heartbeat")
    def on_heartbeat(self):
        return call_result.Heartbeat(current_time=_iso(_now()))

    @on("StatusNotification")
    async def on_status_notification(self, connector_id, error_code, status, **kwargs):
        await answer_db(services.status_record)(
            station=self.station,
            connector_id=connector_id,
            status=status,
            error_code=error_code,
            info=kwargs.get("info", ""),
            vendor_id=kwargs.get("vendor_id", ""),
            vendor_error_code=kwargs.get("vendor_error_code", ""),
            timestamp=kwargs.get("timestamp"),
        )
        return call_result.StatusNotification()

    @on("Authorize")
    async def on_authorize(self, id_tag):
        info = await answer_db(services.id_tag_info)(id_tag=id_tag)
        return call_result.Authorize(id_tag_info=info)

    @on("StartTransaction")
    async def on_start_transaction(self, connector_id, id_tag, meter_start, timestamp, **kwargs):
        tx, info = await answer_db(services.transaction_start)(
            station=self.station,
            connector_id=connector_id,
            id_tag=id_tag,
            meter_start=meter_start,
            timestamp=timestamp,
            reservation_id=kwargs.get("reservation_id"),
        )
        return call_result.StartTransaction(transaction_id=tx.pk, id_tag_info=info)

    @on("StopTransaction")
    async def on_stop_transaction(self, transaction_id, meter_stop, timestamp, **kwargs):
        info = await answer_db(services.transaction_stop)(
            station=self.station,
            transaction_id=transaction_id,
            meter_stop=meter_stop,
            timestamp=timestamp,
            id_tag=kwargs.get("id_tag"),
            reason=kwargs.get("reason"),
            transaction_data=self.current_payload.get("transactionData"),
        )
        return call_result.StopTransaction(id_tag_info=info)

    @on("MeterValues")
    async def on_meter_values(self, connector_id, meter_value, **kwargs):
        await answer_db(services.meter_values_record)(
            station=self.station,
            connector_id=connector_id,
            transaction_id=kwargs.get("transaction_id"),
            meter_value=self.current_payload["meterValue"],
        )
        return call_result.MeterValues()

    @on("DataTransfer")
    def on_data_transfer(self, vendor_id, **kwargs):
        # The lab implements no vendor extension: OCPP 1.6 answers UnknownVendorId.
        return call_result.DataTransfer(status="UnknownVendorId")

    @on("DiagnosticsStatusNotification")
    async def on_diagnostics_status_notification(self, status):
        await answer_db(services.live_update)(station=self.station, diagnostics_status=status)
        return call_result.DiagnosticsStatusNotification()

    @on("FirmwareStatusNotification")
    async def on_firmware_status_notification(self, status):
        await answer_db(services.live_update)(station=self.station, firmware_status=status)
        return call_result.FirmwareStatusNotification()


CentralSystem.route_map = create_route_map(CentralSystem)


class PendingCentralSystem(CentralSystem):
    """An unknown station while CERTLAB_ALLOW_UNKNOWN_STATIONS is on: its boot is answered
    Pending and recorded for QA to adopt, its heartbeats are answered, any other call is refused
    with a SecurityError. Its frames are checked and logged like a known station's, under its
    PendingStation (until QA adopt it: services.pending_station_adopt)."""

    SERVED = frozenset({"BootNotification", "Heartbeat"})
    PENDING_INTERVAL = 60  # s: how soon it boots again (and may be accepted by then)

    def __init__(
        self,
        pending: PendingStation,
        socket: Socket,
        *,
        connection_id: int | None,
        log: Callable[[LoggedFrame], None],
    ) -> None:
        self.station = None
        self._attach(pending, socket, connection_id=connection_id, log=log)

    def refusal(self, action: str, payload: Any) -> tuple[str, str] | None:
        if action not in self.SERVED:
            return (ocpp_j.SECURITY_ERROR, "Station not adopted by the lab yet")
        return super().refusal(action, payload)

    @on("BootNotification")
    async def on_boot_notification(self, **kwargs):
        await answer_db(services.pending_station_booted)(
            pending_id=self.owner_id, boot_payload=self.current_payload
        )
        return call_result.BootNotification(
            current_time=_iso(_now()), interval=self.PENDING_INTERVAL, status="Pending"
        )
