"""The OCPP endpoint ``ws://host/ocpp/<charge point id>``.

The consumer only moves frames: ``receive()`` queues them for the station's ``CentralSystem``
task, ``station_call`` events from the bus start a task of their own (a call awaited inside a
handler would wait behind its own reply: ARCHITECTURE.md, rule 1). Frames are logged in batches
and streamed only while someone watches the station (rule 6).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from datetime import UTC, datetime

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from stations import bus, daphne_hooks, disconnects, events, frame_log, registry, services, shutdown
from stations.answers import answer_db, password_ok
from stations.central_system import CentralSystem, PendingCentralSystem, Socket
from stations.dispatch import DirectDispatchMixin
from stations.frame_log import LoggedFrame
from stations.models import Connection, EndReason

logger = logging.getLogger(__name__)

SUBPROTOCOL = "ocpp1.6"
CALL_TASK = "bus-call"
ACK_AFTER = 0.25  # a bus call not answered by then is acknowledged so the caller keeps waiting
DRAIN_ON_CLOSE = 1.0  # s to handle frames a station sent just before it closed


def _basic_auth(scope) -> tuple[str, str] | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, encoded = value.decode("latin-1").partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return user, password
    return None


class OcppConsumer(DirectDispatchMixin, AsyncWebsocketConsumer):
    central_system: CentralSystem | None = None
    # Why CertLab closed the socket itself (end()); what daphne said when it closed.
    decided_end: tuple[EndReason, str, int] | None = None
    heard_end: dict | None = None

    async def connect(self) -> None:
        self.charge_point_id = self.scope["url_route"]["kwargs"]["charge_point_id"]
        client = self.scope.get("client") or ("", 0)
        self.remote_address = str(client[0] or "")
        self.remote_watched = False  # someone outside this process listens to the group
        # Tasks of bus calls and acknowledgements, kept so that disconnect can await them.
        self.tasks: set[asyncio.Task] = set()
        self.station = None
        if SUBPROTOCOL not in self.scope.get("subprotocols", []):
            logger.warning("%s refused: no %s subprotocol", self.charge_point_id, SUBPROTOCOL)
            await self.close()
            return
        station = await answer_db(services.station_for_endpoint)(
            charge_point_id=self.charge_point_id
        )
        if station is None:
            await self._connect_unknown()
            return
        if station.has_password and not await self._authenticated(station):
            return
        self.station = station
        previous = await registry.claim(self.charge_point_id, self.channel_name)
        if previous and previous != self.channel_name:
            await self.channel_layer.send(previous, {"type": "station.replaced"})
        connection = await answer_db(services.connection_open)(
            station=station, remote_address=self.remote_address
        )
        await self._count_watchers()
        self.socket = Socket(self._send_text)
        self.central_system = CentralSystem(
            station, self.socket, connection_id=connection.pk, log=self._log
        )
        await self.accept(SUBPROTOCOL)
        shutdown.track(self)  # closed as a server shutdown when the process is asked to stop
        self.task = asyncio.create_task(self.central_system.start())
        logger.info("%s connected from %s", self.charge_point_id, self.remote_address)
        await events.connection_changed(station.pk, online=True)

    async def _authenticated(self, station) -> bool:
        credentials = _basic_auth(self.scope)
        if credentials is None:
            reason = "refused: no basic-auth credentials"
        elif credentials[0] != station.charge_point_id:
            reason = f"refused: basic-auth user {credentials[0][:40]!r} is not the station id"
        elif not await password_ok(station, credentials[1]):
            reason = "refused: wrong basic-auth password"
        else:
            return True
        logger.warning("%s %s (from %s)", self.charge_point_id, reason, self.remote_address)
        await answer_db(services.connection_refuse)(
            station=station, remote_address=self.remote_address, reason=reason
        )
        await self.close()
        return False

    async def _connect_unknown(self) -> None:
        if not settings.CERTLAB_ALLOW_UNKNOWN_STATIONS:
            logger.warning(
                "%s refused: unknown charge point id (from %s)",
                self.charge_point_id,
                self.remote_address,
            )
            await self.close()
            return
        pending, connection = await answer_db(services.pending_connection_open)(
            charge_point_id=self.charge_point_id, remote_address=self.remote_address
        )
        self.station = None
        previous = await registry.claim(self.charge_point_id, self.channel_name)
        if previous and previous != self.channel_name:
            await self.channel_layer.send(previous, {"type": "station.replaced"})
        self.socket = Socket(self._send_text)
        self.central_system = PendingCentralSystem(
            pending, self.socket, connection_id=connection.pk, log=frame_log.record_pending
        )
        await self.accept(SUBPROTOCOL)
        shutdown.track(self)
        self.task = asyncio.create_task(self.central_system.start())
        logger.info("%s connected as a pending station", self.charge_point_id)

    # --- frames --------------------------------------------------------------------------------

    async def websocket_receive(self, message: dict) -> None:
        text = message.get("text")
        if text is not None:
            await self.receive(text_data=text)
        elif message.get(daphne_hooks.INVALID_UTF8):
            await self.receive_unreadable(message["bytes"], "Text frame not valid UTF-8")
        else:
            await self.receive_unreadable(
                message.get("bytes") or b"", "Binary websocket frame: OCPP-J uses text frames"
            )

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if self.central_system is None:
            return
        received = datetime.now(UTC)
        cap = settings.CERTLAB_OCPP_MAX_FRAME_BYTES
        if len(text_data) * 4 > cap and len(text_data.encode()) > cap:
            await self._refuse_oversize(text_data, len(text_data.encode()), received)
            return
        self.socket.feed(text_data, received)

    async def receive_unreadable(self, data: bytes, why: str) -> None:
        """A frame that is not text: logged (its bytes decoded with replacement characters)
        in its turn among the others, answered where a CALL's unique id can be read."""
        if self.central_system is None:
            return
        received = datetime.now(UTC)
        text = data.decode("utf-8", "replace")
        if len(data) > settings.CERTLAB_OCPP_MAX_FRAME_BYTES:
            await self._refuse_oversize(text, len(data), received)
            return
        self.socket.feed(text, received, why)

    async def _refuse_oversize(self, text: str, size: int, received: datetime) -> None:
        cap = settings.CERTLAB_OCPP_MAX_FRAME_BYTES
        why = f"frame of {size} bytes over the {cap}-byte cap"
        self._log_invalid(text[:cap], received, f"Closed: {why}")
        await self.end(EndReason.CERTLAB, f"closed by CertLab: {why}", code=1009)

    def _log_invalid(self, raw: str, received: datetime, error: str) -> None:
        self.central_system.log_frame(
            raw, "in", message_type="invalid", error=error, timestamp=received
        )

    def _log(self, frame: LoggedFrame) -> None:
        frame_log.record(frame, self.charge_point_id, remote_watchers=self.remote_watched)

    async def _count_watchers(self) -> None:
        """Whether the station's group needs its frames: watchers in this process get them
        directly (frame_log.watch_locally), the others through the channel layer."""
        channels = await registry.watchers(self.charge_point_id)
        self.remote_watched = bool(
            channels - frame_log.local_watcher_channels(self.charge_point_id)
        )

    async def _send_text(self, text: str) -> None:
        await self.send(text_data=text)

    # --- events from the bus -------------------------------------------------------------------

    def _start(self, coroutine, name: str = "") -> None:
        task = asyncio.get_running_loop().create_task(coroutine, name=name or None)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _calls(self) -> list[asyncio.Task]:
        return [task for task in self.tasks if task.get_name() == CALL_TASK]

    async def station_call(self, event: dict) -> None:
        self._start(self._run_call(event), CALL_TASK)

    async def _run_call(self, event: dict) -> None:
        loop = asyncio.get_running_loop()
        reply_to = event["reply_to"]
        replied = False

        def ack() -> None:
            if not replied:
                self._start(bus.channel_layer().send(reply_to, {"type": "bus.ack"}))

        timer = loop.call_later(ACK_AFTER, ack)
        if self.central_system is None or self.station is None:
            outcome = {"status": "offline", "detail": "Station not adopted yet"}
        else:
            try:
                outcome = await self.central_system.run_call(
                    action=event.get("action", ""),
                    payload=event.get("payload"),
                    raw=event.get("raw"),
                    unique_id=event.get("unique_id"),
                    deadline=loop.time() + float(event["timeout"]),
                    wait=event.get("wait", True),
                )
            except asyncio.CancelledError:
                outcome = {"status": "offline", "detail": "Station disconnected"}
        replied = True
        timer.cancel()
        # The bus's layer: the same Redis, a send in one round trip (stations/channel_layer.py).
        await bus.channel_layer().send(reply_to, {"type": "bus.reply", **outcome})

    async def watch_start(self, event: dict) -> None:
        """Stream from now on; acknowledge once every frame logged before is in the database,
        so a watcher that then reads the log from where its page stopped misses nothing."""
        self._start(self._ack_watch(event["reply_to"]))

    async def _ack_watch(self, reply_to: str) -> None:
        await self._count_watchers()
        await frame_log.flush()
        await self.channel_layer.send(reply_to, {"type": "watch.ack"})

    async def watch_stop(self, event: dict) -> None:
        await self._count_watchers()

    async def station_replaced(self, event: dict) -> None:
        await self.end(EndReason.REPLACED, "replaced by a new connection with the same id")

    async def station_close(self, event: dict) -> None:
        """``reason``: the sentence for the record; ``end_reason``: an EndReason (CertLab's
        by default)."""
        reason = event.get("end_reason") or EndReason.CERTLAB
        detail = event.get("reason") or ""
        if reason == EndReason.CERTLAB:
            detail = f"closed by CertLab: {detail}" if detail else "closed by CertLab"
        await self.end(EndReason(reason), detail or EndReason(reason).label, code=1000)

    # --- the end -------------------------------------------------------------------------------

    async def end(self, reason: EndReason, detail: str, *, code: int = 1000) -> None:
        """Close the socket from CertLab's side; ``reason`` and ``detail`` go on the connection
        record (the first reason given wins)."""
        if self.decided_end is None:
            self.decided_end = (reason, detail, code)
            logger.warning("%s closing: %s", self.charge_point_id, detail)
        await self.close(code=code)

    async def websocket_disconnect(self, message: dict) -> None:
        self.heard_end = message  # with daphne's reason (stations.daphne_hooks.install)
        try:
            await super().websocket_disconnect(message)
        finally:
            if ended := getattr(self, "ended", None):  # a server shutdown waits for this
                ended.set()

    async def _drain_received(self, *, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.socket.queue and loop.time() < deadline:
            await asyncio.sleep(0.01)
        answered = [task for task in self._calls() if not task.done()]
        if answered:  # calls whose answer just came: let them send it on
            await asyncio.wait(answered, timeout=max(0.0, min(0.2, deadline - loop.time())))

    async def disconnect(self, code: int) -> None:
        if self.central_system is None:
            return
        # A station may answer and drop at once (Reset.conf, then reboot): frames it sent before
        # the close are still handled, logged and handed to their callers before we stop.
        await self._drain_received(timeout=DRAIN_ON_CLOSE)
        self.task.cancel()
        for task in self._calls():
            task.cancel()
        await registry.release(self.charge_point_id, self.channel_name)
        end_reason, reason, close_code = disconnects.ending(
            self.heard_end or {"code": code}, self.decided_end
        )
        if self.station is not None:
            connection = Connection(
                pk=self.central_system.connection_id, station_id=self.station.pk
            )
            await database_sync_to_async(services.connection_close)(
                connection=connection, end_reason=end_reason, reason=reason, code=close_code
            )
            await events.connection_changed(self.station.pk, online=False)
        logger.info("%s disconnected: %s", self.charge_point_id, reason)
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await frame_log.flush()
        if self.station is None:  # after the flush: every frame it logged is in the database
            await database_sync_to_async(services.pending_connection_close)(
                connection_id=self.central_system.connection_id,
                pending_id=self.central_system.owner_id,
                charge_point_id=self.charge_point_id,
                end_reason=end_reason,
                reason=reason,
                code=close_code,
            )
