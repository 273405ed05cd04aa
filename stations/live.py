"""The browser's live frame log: ``ws/stations/<pk>/frames/?after=<frame id>&<filter>``.

Who may watch is decided through the selectors (a vendor only its own manufacturer's stations)
on connect, then again every ``RECHECK_AFTER`` seconds in the background (the user, the session
and the station read afresh; watchers start at random phases so that they do not all ask at
once), and every event is checked against that decision: a watcher that lost the right is
disconnected, and should the background check fall behind (a slow database) the event waits for
a fresh decision rather than trust an old one. No database trip sits on a frame's way to the
browser in the normal case.

The page renders its history up to some frame id and connects with ``after=<that id>``; once the
station's consumer streams (it acknowledges after flushing what it logged before), the frames
saved after that id are replayed from the database, then the stream follows, so nothing that
arrived between the page and the socket is missed and nothing is shown twice. Lines go out as
compact JSON (``frame_json``), one message per batch the station announced; the page renders
them with the same template as its history (``stations/_frame_line.html``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.sockets import watching_user
from stations import frame_log, registry, selectors
from stations.dispatch import DirectDispatchMixin
from stations.frame_log import FrameEvent, FramesEvent
from stations.frame_view import FrameFilter, frame_json, frame_key, replay_after

RECHECK_AFTER = 5.0  # seconds between background permission checks; a decision lives twice that


class FrameStreamConsumer(DirectDispatchMixin, AsyncWebsocketConsumer):
    closing = False

    async def connect(self) -> None:
        self.pk = self.scope["url_route"]["kwargs"]["pk"]
        station = await database_sync_to_async(self._visible_station)()
        if station is None:
            await self.close()
            return
        self.allowed_until = time.monotonic() + 2 * RECHECK_AFTER
        self.charge_point_id = station.charge_point_id
        query = self.scope.get("query_string", b"").decode()
        self.filter = FrameFilter.from_query(query)
        self.after = _after(query)
        self.ready = False
        self.held: list[FrameEvent] = []  # streamed before the replay: shown after it
        self.replayed: set[str] = set()
        self.group = registry.frames_group(self.charge_point_id)
        # Frames logged by this process come straight to deliver(); the group brings the
        # frames of a station held by another process.
        self.inbox: asyncio.Queue[list[FrameEvent]] = asyncio.Queue()
        self.pump = asyncio.create_task(self._pump())
        self.checker = asyncio.create_task(self._keep_checking())
        frame_log.watch_locally(self.charge_point_id, self)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await registry.watch(self.charge_point_id, self.channel_name)
        holder = await registry.channel_of(self.charge_point_id)
        await self.accept()
        if holder:
            # "ready" once the station's consumer streams (watch_ack), so a page or test can
            # trigger something knowing its frames will show.
            await self.channel_layer.send(
                holder, {"type": "watch.start", "reply_to": self.channel_name}
            )
        else:
            await self._replay_and_go(online=False)

    def _visible_station(self):
        """The station if the scope's user, read afresh, may still watch it; else None."""
        user = watching_user(self.scope)
        if user is None:
            return None
        return selectors.stations_for(user=user).filter(pk=self.pk).first()

    async def _allowed(self) -> bool:
        if self.closing:
            return False
        if time.monotonic() < self.allowed_until:
            return True
        return await self._check_again()

    async def _check_again(self) -> bool:
        station = await database_sync_to_async(self._visible_station)()
        if self.closing:
            return False
        if station is None or station.charge_point_id != self.charge_point_id:
            self.closing = True  # nothing more is sent
            await self.close()
            return False
        self.allowed_until = time.monotonic() + 2 * RECHECK_AFTER
        return True

    async def _keep_checking(self) -> None:
        await asyncio.sleep(random.uniform(0, RECHECK_AFTER))
        while await self._check_again():
            await asyncio.sleep(RECHECK_AFTER)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """The page sends its filter as JSON when the user changes it."""
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            self.filter = FrameFilter.from_dict(json.loads(text_data or "{}"))

    def deliver(self, frames: list[FrameEvent]) -> None:
        """Frames logged in this process (frame_log calls this; they are shown in order)."""
        self.inbox.put_nowait(frames)

    async def _pump(self) -> None:
        while True:
            await self._frames(await self.inbox.get())

    async def frames_logged(self, event: FramesEvent) -> None:
        if event.get("origin") == frame_log.ORIGIN:
            return  # this process's frames: delivered directly
        await self._frames(event["frames"])

    async def _frames(self, events: list[FrameEvent]) -> None:
        frames = [f for f in events if f["charge_point_id"] == self.charge_point_id]
        if not frames or not await self._allowed():
            return
        if not self.ready:
            self.held.extend(frames)
            return
        await self._send_lines(frames)

    async def _send_lines(self, events: list[FrameEvent]) -> None:
        lines = []
        for event in events:
            if not self.filter.matches(event):
                continue
            if self.replayed and frame_key(event) in self.replayed:
                continue
            lines.append(frame_json(event))
        if lines:
            await self.send(text_data=json.dumps({"frames": lines}))

    async def watch_ack(self, event: dict) -> None:
        await self._replay_and_go(online=True)

    async def _replay_and_go(self, *, online: bool) -> None:
        if self.ready or self.closing:
            return
        if self.after is not None:
            rows = await database_sync_to_async(replay_after)(
                self.pk, self.filter, after=self.after
            )
            if rows:
                self.replayed = {row["key"] for row in rows}
                await self.send(text_data=json.dumps({"frames": rows, "replay": True}))
        self.ready = True
        held, self.held = self.held, []
        await self._send_lines(held)
        await self.send(text_data=json.dumps({"ready": True, "online": online}))

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "group"):
            return
        frame_log.unwatch_locally(self.charge_point_id, self)
        self.pump.cancel()
        self.checker.cancel()
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await registry.unwatch(self.charge_point_id, self.channel_name)
        holder = await registry.channel_of(self.charge_point_id)
        if holder:
            await self.channel_layer.send(holder, {"type": "watch.stop"})


def _after(query: str) -> int | None:
    value = FrameFilter.query_value(query, "after")
    return int(value) if value.isdigit() else None
