"""Every frame in and out, written in batches and announced to whoever watches the station.

One writer per event loop collects frames (plain ``LoggedFrame`` tuples: a model instance per
frame costs more than the rest of the frame's journey) in a queue and saves whatever has gathered
in one statement while the previous batch is written: no timer, so a lone frame is saved at once
and a busy process writes large batches (ARCHITECTURE.md, rule 5). PostgreSQL gets them by
``COPY``, SQLite by ``bulk_create``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from datetime import datetime
from typing import Any, Literal, NamedTuple, TypedDict

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

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


class LoggedFrame(NamedTuple):
    """One frame as logged: the columns of ``stations.Frame`` (see its docstring)."""

    station_id: int
    connection_id: int | None
    timestamp: datetime
    direction: str
    message_type: str
    action: str
    unique_id: str
    raw: str
    payload: Any
    error: str
    has_error: bool


_COLUMNS = ", ".join(LoggedFrame._fields)


def _pg_row(frame: LoggedFrame) -> tuple:
    # PostgreSQL text and jsonb refuse NUL; a station may still send one.
    payload = None if frame.payload is None else json.dumps(frame.payload)
    if payload is not None and "\\u0000" in payload:
        payload = payload.replace("\\u0000", "\\ufffd")
    row = [*frame[:8], payload, *frame[9:]]
    for i in (5, 6, 7, 9):  # action, unique_id, raw, error
        if "\x00" in row[i]:
            row[i] = row[i].replace("\x00", "\ufffd")
    return tuple(row)


def _save(batch: list[LoggedFrame]) -> None:
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY stations_frame ({_COLUMNS}) FROM STDIN") as copy,
        ):
            for frame in batch:
                copy.write_row(_pg_row(frame))
    else:
        Frame.objects.bulk_create(Frame(**frame._asdict()) for frame in batch)


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
        self.queue: list[LoggedFrame] = []
        self.wakeup = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task = asyncio.get_running_loop().create_task(self._run())

    def put(self, frame: LoggedFrame) -> None:
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
                    await database_sync_to_async(_save)(batch)
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


def record(frame: LoggedFrame) -> None:
    if saving_enabled():
        writer().put(frame)


def event_for(frame: LoggedFrame, charge_point_id: str) -> FrameEvent:
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


async def announce(frame: LoggedFrame, charge_point_id: str) -> None:
    """Send the frame to the station's group; call only while someone watches (rule 6)."""
    await get_channel_layer().group_send(
        frames_group(charge_point_id), event_for(frame, charge_point_id)
    )
