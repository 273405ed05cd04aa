"""The station bus: talk to a connected station from any process (Celery worker, view, shell).

    payload = await bus.call("CP-1", "Reset", {"type": "Soft"}, timeout=30)

    async with bus.subscribe("CP-1") as frames:     # subscribe BEFORE triggering anything
        await bus.call("CP-1", "TriggerMessage", {"requestedMessage": "Heartbeat"})
        frame = await frames.next(timeout=10, action="Heartbeat", direction="in")

A call goes over the channel layer to the channel that holds the station (looked up in the Redis
registry, so an unconnected station fails at once) and its outcome comes back on a reply
channel. The consumer runs one call per station at a time, the others wait in arrival order.
Sync code uses ``call_sync``; a Celery task wraps its whole coroutine in one ``async_to_sync``
(ARCHITECTURE.md, rule 8).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import channels_redis.core
from asgiref.sync import async_to_sync
from channels.layers import DEFAULT_CHANNEL_LAYER, InMemoryChannelLayer, channel_layers
from django.conf import settings

from stations import ocpp_j, registry
from stations.channel_layer import RedisChannelLayer
from stations.frame_log import FrameEvent
from stations.models import Station

OFFLINE_AFTER = 1.0  # s for a holder to acknowledge a call before its process is looked at
# s without a beat of the holder's process (registry.holder_beat) after which it is gone: two
# of its refreshes missed. A process that beats is busy, not gone, however late its ack.
BEAT_LOST = 2 * registry.REFRESH_EVERY
BEAT_POLL = 0.5  # s between looks at a slow holder's beat
GRACE = 2.0  # the consumer times the call out itself; this covers the trip back

CS_ACTIONS = ocpp_j.CS_ACTIONS


class BusError(Exception):
    """Base of everything the bus raises."""


class StationOffline(BusError):
    pass


class Timeout(BusError):
    pass


class LabTimeout(Timeout):
    """CertLab's own part took too long (the call waited in the station's queue, or the process
    holding the station never reported back): not the station's slowness."""


class InvalidPayload(BusError, ValueError):
    """The payload we were asked to send breaks the action's schema (nothing was sent)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class CallError(BusError):
    """The station answered with a CALLERROR."""

    def __init__(self, code: str, description: str, details: dict | None = None, unique_id=""):
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.details = details or {}
        self.unique_id = unique_id


class InvalidResponse(BusError):
    """The station's CALLRESULT breaks the response schema; ``payload`` is what it sent."""

    def __init__(self, payload: Any, error: str) -> None:
        super().__init__(error)
        self.payload = payload
        self.error = error


_layers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def channel_layer():
    """The channel layer for the running event loop.

    A Celery task runs each coroutine on a loop of its own (one async_to_sync per task), and
    channels_redis keeps receive state bound to the loop that first received: a receive left
    pending when an earlier loop closed breaks every later loop with "bound to a different event
    loop". One layer instance per loop keeps loops apart. The in-memory layer (unit tests) only
    works as one shared instance, so it stays shared.
    """
    shared = channel_layers[DEFAULT_CHANNEL_LAYER]
    if isinstance(shared, InMemoryChannelLayer):
        return shared
    loop = asyncio.get_running_loop()
    layer = _layers.get(loop)
    if layer is None:
        config = settings.CHANNEL_LAYERS[DEFAULT_CHANNEL_LAYER]
        if isinstance(shared, channels_redis.core.RedisChannelLayer):
            # Same layer, fewer Redis round trips (stations/channel_layer.py).
            layer = RedisChannelLayer(**config.get("CONFIG", {}))
        else:
            layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        _layers[loop] = layer
    return layer


# The channel that held each station when this process last sent to it. Only a hint: a send
# goes through only while the registry still names that channel (one Redis round trip for the
# look-up and the send); when it does not, the registry is read again.
_holders: dict[str, str] = {}


def _registry_beside(layer) -> bool:
    """Whether the registry's Redis carries the layer's channels (needed by send_to_holder)."""
    return isinstance(layer, RedisChannelLayer) and [h.get("address") for h in layer.hosts] == [
        settings.REDIS_URL
    ]


async def _send_to_holder(layer, charge_point_id: str, message: dict) -> str:
    """Send ``message`` to the channel holding the station and return that channel; raise
    StationOffline when no channel holds it."""
    if not _registry_beside(layer):
        holder = await registry.channel_of(charge_point_id)
        if not holder:
            raise StationOffline(_not_connected(charge_point_id))
        await layer.send(holder, message)
        return holder
    holder = _holders.get(charge_point_id)
    for _attempt in range(3):  # a fresh look-up can only lose to a reconnection in between
        if holder is None:
            holder = await registry.channel_of(charge_point_id)
            if not holder:
                _holders.pop(charge_point_id, None)
                raise StationOffline(_not_connected(charge_point_id))
        if await layer.send_to_holder(
            holder,
            message,
            registry_key=registry.ONLINE_KEY,
            field=charge_point_id,
            alive_key=registry.holder_key(holder),
        ):
            _holders[charge_point_id] = holder
            return holder
        holder = None
    _holders.pop(charge_point_id, None)
    raise StationOffline(f"station offline: {charge_point_id} keeps reconnecting")


def _not_connected(charge_point_id: str) -> str:
    return f"station offline: {charge_point_id} is not connected to CertLab"


def _cp_id(station: Station | str) -> str:
    return station if isinstance(station, str) else station.charge_point_id


async def _request(charge_point_id: str, message: dict, timeout: float) -> dict:
    layer = channel_layer()
    reply_to = await layer.new_channel("bus")
    message = {**message, "reply_to": reply_to, "timeout": timeout}
    holder = await _send_to_holder(layer, charge_point_id, message)
    loop = asyncio.get_running_loop()
    sent = loop.time()
    deadline = sent + timeout + GRACE
    try:
        reply = await asyncio.wait_for(layer.receive(reply_to), min(OFFLINE_AFTER, timeout + GRACE))
    except TimeoutError:
        reply = await _from_slow_holder(layer, reply_to, charge_point_id, holder, sent, deadline)
    while reply["type"] == "bus.ack":
        try:
            reply = await asyncio.wait_for(layer.receive(reply_to), deadline - loop.time())
        except TimeoutError:
            raise LabTimeout(
                f"the CertLab server holding {charge_point_id}'s connection did not report back "
                f"on the call within {timeout + GRACE:.0f} s"
            ) from None
    status = reply["status"]
    if status == "offline":
        raise StationOffline(f"{charge_point_id}: {reply.get('detail', 'disconnected')}")
    if status == "timeout":
        kind = LabTimeout if reply.get("where") == "queue" else Timeout
        raise kind(f"{charge_point_id}: {reply.get('detail', 'no answer')}")
    return reply


async def _from_slow_holder(
    layer, reply_to: str, charge_point_id: str, holder: str, sent: float, deadline: float
) -> dict:
    """The first word from a holder that did not acknowledge within ``OFFLINE_AFTER``: its
    process is gone, the station left meanwhile, or the process is only busy (its event loop
    late under load). A busy process still beats, and is waited for until the call's deadline;
    that it never took the call is then CertLab's trouble, not the station's (issue 12: a
    soak's slow daphne read as stations offline). No beat for ``BEAT_LOST`` s, or the station
    no longer held there: offline, and the registration is forgotten."""
    loop = asyncio.get_running_loop()
    beat, beat_at = await registry.holder_beat(holder), sent
    while True:
        gone = beat is None or loop.time() - beat_at > BEAT_LOST
        if gone or await registry.channel_of(charge_point_id) != holder:
            _holders.pop(charge_point_id, None)
            await registry.release(charge_point_id, holder)
            raise StationOffline(
                f"station offline: the CertLab server holding {charge_point_id}'s connection did "
                "not answer (it has stopped, or the connection was just lost)"
            )
        left = deadline - loop.time()
        if left <= 0:
            raise LabTimeout(
                f"the CertLab server holding {charge_point_id}'s connection is running but did "
                f"not take the call within {deadline - sent:.0f} s (it is overloaded)"
            )
        try:
            return await asyncio.wait_for(layer.receive(reply_to), min(BEAT_POLL, left))
        except TimeoutError:
            now = await registry.holder_beat(holder)
            if now != beat:
                beat, beat_at = now, loop.time()


def _raise_or_return(reply: dict) -> Any:
    if reply["status"] == "call_error":
        raise CallError(
            reply["code"], reply["description"], reply.get("details"), reply.get("unique_id", "")
        )
    if reply.get("error"):
        raise InvalidResponse(reply.get("payload"), reply["error"])
    return reply.get("payload")


async def call(
    station: Station | str,
    action: str,
    payload: dict | None = None,
    timeout: float = 30.0,
    *,
    unique_id: str | None = None,
) -> dict:
    """Send one Central-System call and return the station's response payload.

    Raises InvalidPayload (before sending), StationOffline (within seconds), Timeout,
    CallError (the station answered with a CALLERROR) or InvalidResponse.
    """
    payload = {} if payload is None else payload
    if action not in CS_ACTIONS:
        raise InvalidPayload(ocpp_j.NOT_IMPLEMENTED, f"{action} is not a Central System action")
    problem = ocpp_j.schema_error(action, payload)
    if problem:
        raise InvalidPayload(*problem)
    message = {"type": "station.call", "action": action, "payload": payload}
    if unique_id:
        message["unique_id"] = unique_id
    return _raise_or_return(await _request(_cp_id(station), message, timeout))


async def send_raw(station: Station | str, frame: str, timeout: float = 30.0, *, wait=True) -> dict:
    """Send a frame exactly as given (for negative tests), unchecked.

    When the frame is a CALL with a readable unique id and ``wait`` is true, wait for the answer
    and return ``{"status": "result", "payload": ...}`` or ``{"status": "call_error", "code": ...,
    "description": ..., "details": ...}``; otherwise return ``{"status": "sent"}`` once written.
    """
    message = {"type": "station.call", "raw": frame, "wait": wait}
    return await _request(_cp_id(station), message, timeout)


async def disconnect(station: Station | str, reason: str, *, end_reason: str = "certlab") -> bool:
    """Close the station's socket (``reason`` goes on its connection record, ``end_reason``, an
    ``EndReason``, says whose doing it was); False when it is not connected."""
    message = {"type": "station.close", "reason": reason, "end_reason": end_reason}
    try:
        await _send_to_holder(channel_layer(), _cp_id(station), message)
    except StationOffline:
        return False
    return True


call_sync = async_to_sync(call)
send_raw_sync = async_to_sync(send_raw)
disconnect_sync = async_to_sync(disconnect)


class Subscription:
    """A station's frames from now on, in order: ``async with subscribe(...) as frames``."""

    def __init__(self, station: Station | str) -> None:
        self.charge_point_id = _cp_id(station)
        self.group = registry.frames_group(self.charge_point_id)
        self.buffer: list[FrameEvent] = []

    async def __aenter__(self) -> Subscription:
        self.layer = channel_layer()
        self.channel = await self.layer.new_channel("watch")
        await self.layer.group_add(self.group, self.channel)
        await registry.watch(self.charge_point_id, self.channel)
        holder = await registry.channel_of(self.charge_point_id)
        if holder:
            # Wait until the station's consumer streams: nothing sent after this is missed.
            await self.layer.send(holder, {"type": "watch.start", "reply_to": self.channel})
            loop = asyncio.get_running_loop()
            deadline = loop.time() + OFFLINE_AFTER
            while True:
                try:
                    message = await asyncio.wait_for(
                        self.layer.receive(self.channel), deadline - loop.time()
                    )
                except TimeoutError:
                    break  # the holder is gone; a new connection reads the watcher list
                if message["type"] == "watch.ack":
                    break
                self.buffer.append(message)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.layer.group_discard(self.group, self.channel)
        await registry.unwatch(self.charge_point_id, self.channel)
        holder = await registry.channel_of(self.charge_point_id)
        if holder:
            await self.layer.send(holder, {"type": "watch.stop"})

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> FrameEvent:
        while True:
            message = self.buffer.pop(0) if self.buffer else await self.layer.receive(self.channel)
            if message["type"] == "frames.logged":  # a station's frames of one loop iteration
                self.buffer[:0] = message["frames"]
            elif message["type"] == "frame.logged":
                return message

    async def next(self, timeout: float, **match: str) -> FrameEvent:
        """The next frame whose fields equal ``match`` (e.g. action=..., direction="in");
        raises Timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                frame = await asyncio.wait_for(self.__anext__(), deadline - loop.time())
            except TimeoutError:
                raise Timeout(f"No frame matching {match} within {timeout} s") from None
            if all(frame.get(key) == value for key, value in match.items()):
                return frame


def subscribe(station: Station | str) -> Subscription:
    return Subscription(station)
