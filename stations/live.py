"""The browser's live frame log: ``ws/stations/<pk>/frames/``.

Who may watch is decided on connect through the selectors (a vendor only its own manufacturer's
stations); while the socket is open the station's consumer streams to it. Each line is rendered
from ``stations/_frame_line.html``, the partial the page's history uses too.
"""

from __future__ import annotations

import contextlib
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from stations import registry, selectors
from stations.frame_log import FrameEvent
from stations.frame_view import FrameFilter, frame_context


class FrameStreamConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        pk = self.scope["url_route"]["kwargs"]["pk"]
        station = (
            await database_sync_to_async(
                lambda: selectors.stations_for(user=user).filter(pk=pk).first()
            )()
            if user is not None
            else None
        )
        if station is None:
            await self.close()
            return
        self.charge_point_id = station.charge_point_id
        self.filter = FrameFilter.from_query(self.scope.get("query_string", b"").decode())
        self.group = registry.frames_group(self.charge_point_id)
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
            await self.send(text_data=json.dumps({"ready": True, "online": False}))

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """The page sends its filter as JSON when the user changes it."""
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            self.filter = FrameFilter.from_dict(json.loads(text_data or "{}"))

    async def frame_logged(self, event: FrameEvent) -> None:
        if not self.filter.matches(event):
            return
        html = render_to_string("stations/_frame_line.html", {"f": frame_context(event)})
        await self.send(text_data=json.dumps({"html": html, "timestamp": event["timestamp"]}))

    async def watch_ack(self, event: dict) -> None:
        await self.send(text_data=json.dumps({"ready": True, "online": True}))

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "group"):
            return
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await registry.unwatch(self.charge_point_id, self.channel_name)
        holder = await registry.channel_of(self.charge_point_id)
        if holder:
            await self.channel_layer.send(holder, {"type": "watch.stop"})
