"""Every frame in and out, written in batches and announced to whoever watches the station.

One writer per event loop collects Frame rows in a queue and saves whatever has gathered with
one ``bulk_create`` while the previous batch is written: no timer, so a lone frame is saved at
once and a busy process writes large batches (ARCHITECTURE.md, rule 5).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Literal, TypedDict

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from certlab.env import Env
from stations.models import Frame
from stations.registry import frames_group

logger = logging.getLogger(__name__)

BATCH = 2000


def saving_enabled() -> bool:
    """CERTLAB_SAVE_FRAMES=false only for the benchmark that measures what saving costs."""
    return getattr(settings, "CERTLAB_SAVE_FRAMES", None) is not False and Env().bool(
        "CERTLAB_SAVE_FRAMES", True
    )


class FrameEvent(TypedDict):
    """A logged frame as announced on the station's group and yielded to subscribers."""

    type: Literal["frame.logged"]
    charge_point_id: str
    connection_id: int | None
    timestamp: str
    direction: str
    message_type: str
    action: str
    unique_id: str
    raw: str
    payload: object
    error: str


class FrameWriter:
    def __init__(self) -> None:
        self.queue: list[Frame] = []
        self.wakeup = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task = asyncio.get_running_loop().create_task(self._run())

    def put(self, frame: Frame) -> None:
        self.queue.append(frame)
        self.idle.clear()
        self.wakeup.set()

    async def flush(self) -> None:
        self.wakeup.set()
        await self.idle.wait()

    async def _run(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            while self.queue:
                batch, self.queue = self.queue[:BATCH], self.queue[BATCH:]
                try:
                    await database_sync_to_async(Frame.objects.bulk_create)(batch)
                except Exception:
                    # The log must not take the endpoint down; say loudly what was lost.
                    logger.exception("Could not save %d frames", len(batch))
            self.idle.set()


_writers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def writer() -> FrameWriter:
    loop = asyncio.get_running_loop()
    w = _writers.get(loop)
    if w is None or w.task.done():
        w = _writers[loop] = FrameWriter()
    return w


async def flush() -> None:
    """Wait until every frame queued on this loop is in the database."""
    w = _writers.get(asyncio.get_running_loop())
    if w is not None:
        await w.flush()


def record(frame: Frame) -> None:
    if saving_enabled():
        writer().put(frame)


def event_for(frame: Frame, charge_point_id: str) -> FrameEvent:
    return {
        "type": "frame.logged",
        "charge_point_id": charge_point_id,
        "connection_id": frame.connection_id,
        "timestamp": frame.timestamp.isoformat(),
        "direction": frame.direction,
        "message_type": frame.message_type,
        "action": frame.action,
        "unique_id": frame.unique_id,
        "raw": frame.raw,
        "payload": frame.payload,
        "error": frame.error,
    }


async def announce(frame: Frame, charge_point_id: str) -> None:
    """Send the frame to the station's group; call only while someone watches (rule 6)."""
    await get_channel_layer().group_send(
        frames_group(charge_point_id), event_for(frame, charge_point_id)
    )
