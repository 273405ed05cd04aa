"""Every frame in and out, written in batches and announced to whoever watches the station.

Frames are plain ``LoggedFrame`` tuples (a model instance per frame costs more than the rest of
the frame's journey). The event loop only appends them to a list; once per loop iteration the
list is handed to one writer thread per process, which has a database connection of its own and
saves whatever has gathered in one statement after a 50 ms linger (``flush()`` cuts it short):
few wake-ups when quiet, large batches when busy (ARCHITECTURE.md, rule 5). The thread keeps
the COPY, the JSON encoding and the database round trip off the event loop and out of the queue
of the async ORM's single database thread. PostgreSQL gets the rows by ``COPY``, SQLite by
``bulk_create``.

A pending station's frames (an unknown id let in by CERTLAB_ALLOW_UNKNOWN_STATIONS) go in
through ``record_pending``: a list of their own, saved the careful way under the
``pending_station`` column, so that a known station's frames pay nothing for them.

Announcements are batched the same way: the frames a station logs during one loop iteration go
out together (rule 6: only while someone watches). Watchers in this process (the browsers' live
pages served by the same daphne) get them directly, with no trip through Redis; the station's
channel-layer group gets one ``frames.logged`` message only while a watcher elsewhere (a Celery
worker's subscription, a page on another daphne) listens. A local watcher ignores the group's
copies of its own process's frames (``origin``), so it sees each frame once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import re
import threading
import time
import uuid
import weakref
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal, NamedTuple, Protocol, TypedDict

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction

from stations.models import Frame
from stations.registry import frames_group

logger = logging.getLogger(__name__)

BATCH = 2000
# Seconds the writer gathers after a wake-up before it writes (cut short by flush()): each
# wake-up and each database round trip of a batch (about six) takes the GIL back from the event
# loop, and on this VM every such hand-over stalls the loop for a thread wake-up. Fewer, larger
# batches keep the loop's latency down and saving nearly free (50 ms: saved/unsaved 0.84, 200
# ms: 0.88, docs/PERFORMANCE.md); nothing waits on the rows but flush().
LINGER = 0.2
# While the database is away (restarting, a network cut) the writer keeps the frames it could not
# save and tries again, backing off up to OUTAGE_BACKOFF s, for OUTAGE_PATIENCE s in all.
OUTAGE_PATIENCE = 300.0
OUTAGE_BACKOFF = 2.0


class LoggedFrame(NamedTuple):
    """One frame as logged: the columns of ``stations.Frame`` (see its docstring).

    For a frame given to ``record_pending``, ``station_id`` is its PendingStation's id.
    """

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
_PENDING_COLUMNS = ", ".join(("pending_station_id", *LoggedFrame._fields[1:]))
_dumps = json.JSONEncoder(separators=(",", ":")).encode


# --- PostgreSQL: the batch goes in as COPY text into a temporary table, then one INSERT --------
#
# The writer thread shares the GIL with the event loop, so every microsecond it spends per frame
# is taken from the stations. Handing psycopg a tuple per frame (its adaptation of each value,
# the payload serialised again to JSON, the timestamp formatted) cost 3.5 µs a frame; a text
# line costs about 1 µs: the timestamp goes as integer microseconds, and the payload of a CALL
# or CALLRESULT is not sent at all when PostgreSQL can take it from the raw text (the element the
# parser took it from), so PostgreSQL's own process does that work, off the GIL.

_STAGE = """
CREATE TEMPORARY TABLE IF NOT EXISTS certlab_frame_batch (
    n integer NOT NULL,
    station_id bigint NOT NULL,
    connection_id bigint,
    micros bigint NOT NULL,
    direction varchar(3) NOT NULL,
    message_type varchar(10) NOT NULL,
    action varchar(64) NOT NULL,
    unique_id varchar(64) NOT NULL,
    raw text NOT NULL,
    payload text,
    payload_from_raw boolean NOT NULL,
    error text NOT NULL,
    has_error boolean NOT NULL
) ON COMMIT DELETE ROWS
"""
_COPY_STAGE = "COPY certlab_frame_batch FROM STDIN"
_INSERT_STAGED = f"""
INSERT INTO stations_frame ({_COLUMNS})
SELECT station_id, connection_id, timestamptz 'epoch' + micros * interval '1 microsecond',
       direction, message_type, action, unique_id, raw,
       CASE WHEN NOT payload_from_raw THEN payload::jsonb
            WHEN message_type = 'CALL' THEN raw::jsonb -> 3
            ELSE raw::jsonb -> 2 END,
       error, has_error
FROM certlab_frame_batch ORDER BY n
"""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NULL = "\\N"
# What COPY's text format escapes (and NUL, which PostgreSQL's text refuses).
_SPECIAL = re.compile(r"[\\\t\n\r\x00]")
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_explicit_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=str).encode


def _storable(value: str) -> str:
    """Text PostgreSQL takes: NUL replaced, and a lone surrogate (a station's "\ud800" parsed
    into an id), which UTF-8 cannot encode."""
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def _copy_text(value: str) -> str:
    return _storable(value).translate(_ESCAPE)


def _explicit_payload(payload: Any) -> str:
    """The payload as COPY text of JSON that jsonb takes, or NULL (raw keeps the frame)."""
    if payload is None:
        return _NULL
    try:
        text = _explicit_dumps(payload)
    except ValueError:  # NaN or Infinity: not JSON, and jsonb refuses them
        return _NULL
    return _copy_text(text.replace("\\u0000", "\\ufffd"))


def copy_lines(batch: list[LoggedFrame]) -> str:
    """The batch as COPY text rows of ``certlab_frame_batch``."""
    lines = []
    add = lines.append
    for n, frame in enumerate(batch):
        (station_id, connection_id, timestamp, direction, message_type) = frame[:5]
        (action, unique_id, raw, payload, error, has_error) = frame[5:]
        # The payload is the raw text's own element unless the raw text holds what the parser
        # and jsonb read differently: \u escapes (NUL, lone surrogates) or NaN and Infinity.
        from_raw = (
            payload is not None
            and (message_type == "CALL" or message_type == "CALLRESULT")
            and "\\u" not in raw
            and "NaN" not in raw
            and "Infinity" not in raw
        )
        if _SPECIAL.search(f"{raw}{action}{unique_id}{error}") is not None:
            raw, action, unique_id, error = map(_copy_text, (raw, action, unique_id, error))
        payload_text = _NULL if from_raw else _explicit_payload(payload)
        connection_text = _NULL if connection_id is None else connection_id
        micros = (timestamp - _EPOCH) // _MICROSECOND
        add(
            f"{n}\t{station_id}\t{connection_text}\t{micros}\t{direction}\t{message_type}\t"
            f"{action}\t{unique_id}\t{raw}\t{payload_text}\t{'t' if from_raw else 'f'}\t"
            f"{error}\t{'t' if has_error else 'f'}\n"
        )
    return "".join(lines)


def _save_staged(batch: list[LoggedFrame]) -> None:
    text = copy_lines(batch)
    connection.ensure_connection()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # The temporary table lives as long as the database session: created once per
            # connection (each thread has its own; the attribute is set on this thread's).
            if getattr(connection, "certlab_staged_on", None) is not connection.connection:
                cursor.execute(_STAGE)
                connection.certlab_staged_on = connection.connection
            with cursor.cursor.copy(_COPY_STAGE) as copy:
                copy.write(text)
            cursor.execute(_INSERT_STAGED)
    except BaseException:
        connection.certlab_staged_on = None  # the rollback may have undone the creation
        raise


def _pg_row(frame: LoggedFrame) -> tuple:
    # PostgreSQL text and jsonb refuse NUL; a station may still send one.
    payload = None if frame.payload is None else _dumps(frame.payload)
    if payload is not None and "\\u0000" in payload:
        payload = payload.replace("\\u0000", "\\ufffd")
    row = [*frame[:8], payload, *frame[9:]]
    for i in (5, 6, 7, 9):  # action, unique_id, raw, error
        row[i] = _storable(row[i])
    return tuple(row)


def _model(frame: LoggedFrame, pending: bool) -> Frame:
    values = frame._asdict()
    if pending:
        values["pending_station_id"] = values.pop("station_id")
    return Frame(**values)


def _save_one_by_one(batch: list[LoggedFrame], *, pending: bool = False) -> None:
    """The careful way, for a batch the staged COPY refused and for pending stations' frames:
    psycopg adapts each value. ``pending``: ``station_id`` is a PendingStation's."""
    if connection.vendor == "postgresql":
        columns = _PENDING_COLUMNS if pending else _COLUMNS
        connection.ensure_connection()
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY stations_frame ({columns}) FROM STDIN") as copy,
        ):
            write = copy.write_row
            for frame in batch:
                write(_pg_row(frame))
    else:
        Frame.objects.bulk_create(_model(frame, pending) for frame in batch)


def _save(batch: list[LoggedFrame], *, pending: bool = False) -> None:
    if connection.vendor == "postgresql" and not pending:
        _save_staged(batch)
    else:
        _save_one_by_one(batch, pending=pending)


def _save_or_retry(batch: list[LoggedFrame], *, pending: bool = False) -> None:
    """Save a batch. After a broken connection (the database restarted) try once more; when a
    row is refused (say a payload PostgreSQL's jsonb will not take), save the rows one by one
    and the refused ones without their parsed payload, so that no frame is lost."""
    try:
        _save(batch, pending=pending)
        return
    except Exception as exc:
        if connection.connection is None or not connection.is_usable():
            connection.close()
            _save(batch, pending=pending)
            return
        logger.warning("Batch of %d frames refused (%s); saving them one by one", len(batch), exc)
    for frame in batch:
        try:
            _save_one_by_one([frame], pending=pending)
        except Exception:
            logger.exception("Frame refused by the database; saved without its payload")
            try:
                _save_one_by_one([frame._replace(payload=None)], pending=pending)
            except Exception:
                logger.exception("Frame lost: %r", frame)


class FrameEvent(TypedDict):
    """A logged frame as yielded to subscribers (``frames.logged`` carries a list of them)."""

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


class FramesEvent(TypedDict):
    """What a station's group receives: the frames it logged during one loop iteration."""

    type: Literal["frames.logged"]
    origin: str
    frames: list[FrameEvent]


ORIGIN = uuid.uuid4().hex  # this process, as named in the frames it announces


class LocalWatcher(Protocol):
    channel_name: str

    def deliver(self, frames: list[FrameEvent]) -> None: ...


_local: dict[str, set[LocalWatcher]] = {}


def watch_locally(charge_point_id: str, watcher: LocalWatcher) -> None:
    """Hand this station's frames logged in this process straight to ``watcher``."""
    _local.setdefault(charge_point_id, set()).add(watcher)


def unwatch_locally(charge_point_id: str, watcher: LocalWatcher) -> None:
    watchers = _local.get(charge_point_id)
    if watchers is not None:
        watchers.discard(watcher)
        if not watchers:
            del _local[charge_point_id]


def watched_locally(charge_point_id: str) -> bool:
    return charge_point_id in _local


def local_watcher_channels(charge_point_id: str) -> set[str]:
    return {watcher.channel_name for watcher in _local.get(charge_point_id, ())}


class _Flush(NamedTuple):
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future


class _PendingFrames(list):
    """Frames of pending stations handed to the writer (``station_id``: a PendingStation's)."""


class FrameWriter(threading.Thread):
    """The process's one frame writer: batches in, rows out, in arrival order."""

    def __init__(self) -> None:
        super().__init__(name="certlab-frame-writer", daemon=True)
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.urgent = threading.Event()

    def run(self) -> None:
        while True:
            items = [self.inbox.get()]
            # Linger so that frames arriving meanwhile share the statement: fewer wake-ups of
            # this thread, fewer GIL hand-overs with the event loop. A flush() ends it at once.
            self.urgent.wait(LINGER)
            self.urgent.clear()  # before gathering: a flush() after this sets it again
            while True:  # whatever else has gathered meanwhile goes in the same statement
                try:
                    items.append(self.inbox.get_nowait())
                except queue.Empty:
                    break
            frames: list[LoggedFrame] = []
            pending: list[LoggedFrame] = []
            flushes: list[_Flush] = []
            for item in items:
                if isinstance(item, _Flush):
                    flushes.append(item)
                elif isinstance(item, _PendingFrames):
                    pending.extend(item)
                else:
                    frames.extend(item)
            # Pending frames first: when QA adopt a station, its last frames as a pending one
            # come before those of its next connection, and keep that order (ids).
            self._write(pending, pending=True)
            self._write(frames)
            for flush in flushes:
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    flush.loop.call_soon_threadsafe(_resolve, flush.future)

    @staticmethod
    def _write(frames: list[LoggedFrame], *, pending: bool = False) -> None:
        for start in range(0, len(frames), BATCH):
            batch = frames[start : start + BATCH]
            give_up = time.monotonic() + OUTAGE_PATIENCE
            wait = 0.1
            while True:
                try:
                    _save_or_retry(batch, pending=pending)
                    break
                except Exception as error:
                    if time.monotonic() + wait > give_up:
                        # The log must not take the endpoint down; say loudly what was lost.
                        logger.exception("Could not save %d frames", len(batch))
                        break
                    logger.warning("database unavailable (%s); keeping %d frames, again in "
                                   "%.1f s", error, len(batch), wait)  # fmt: skip
                    with contextlib.suppress(Exception):
                        connection.close()
                    time.sleep(wait)
                    wait = min(wait * 2, OUTAGE_BACKOFF)


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


_writer: FrameWriter | None = None
_writer_lock = threading.Lock()


def _the_writer() -> FrameWriter:
    global _writer
    if _writer is None or not _writer.is_alive():
        with _writer_lock:
            if _writer is None or not _writer.is_alive():
                _writer = FrameWriter()
                _writer.start()
    return _writer


class _LoopBuffer:
    """Frames and announcements gathered during one iteration of one event loop."""

    __slots__ = ("announce", "frames", "loop", "pending", "remote", "scheduled", "tails")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.frames: list[LoggedFrame] = []
        self.pending: list[LoggedFrame] = []  # pending stations' frames (record_pending)
        self.announce: dict[str, list[FrameEvent]] = {}
        self.remote: set[str] = set()  # stations with watchers outside this process
        self.scheduled = False
        # Each station's latest announcement still on its way to the group: the next one waits
        # for it, so a station's frames reach remote watchers in log order.
        self.tails: dict[str, asyncio.Task] = {}

    def schedule(self) -> None:
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.hand_over)

    def hand_over(self) -> None:
        self.scheduled = False
        if self.frames:
            _the_writer().inbox.put(self.frames)
            self.frames = []
        if self.pending:
            _the_writer().inbox.put(_PendingFrames(self.pending))
            self.pending = []
        if self.announce:
            announce, self.announce = self.announce, {}
            remote, self.remote = self.remote, set()
            for charge_point_id, events in announce.items():
                for watcher in _local.get(charge_point_id, ()):
                    watcher.deliver(events)
                if charge_point_id in remote:
                    before = self.tails.get(charge_point_id)
                    task = self.loop.create_task(_announce(charge_point_id, events, before))
                    self.tails[charge_point_id] = task
                    _announcing.add(task)
                    task.add_done_callback(_announcing.discard)
                    task.add_done_callback(partial(self._untail, charge_point_id))

    def _untail(self, charge_point_id: str, task: asyncio.Task) -> None:
        if self.tails.get(charge_point_id) is task:
            del self.tails[charge_point_id]


_buffers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_announcing: set[asyncio.Task] = set()


def _buffer() -> _LoopBuffer:
    loop = asyncio.get_running_loop()
    buffer = _buffers.get(loop)
    if buffer is None:
        buffer = _buffers[loop] = _LoopBuffer(loop)
    return buffer


def record(frame: LoggedFrame, charge_point_id: str, *, remote_watchers: bool = False) -> None:
    """Queue the frame for the database and for the station's watchers, local ones and, when
    ``remote_watchers``, those listening on the station's group."""
    buffer = _buffer()
    if settings.CERTLAB_SAVE_FRAMES:
        buffer.frames.append(frame)
    if remote_watchers or charge_point_id in _local:
        buffer.announce.setdefault(charge_point_id, []).append(event_for(frame, charge_point_id))
        if remote_watchers:
            buffer.remote.add(charge_point_id)
    buffer.schedule()


def record_pending(frame: LoggedFrame) -> None:
    """Queue a pending station's frame (``station_id``: its PendingStation's id) for the
    database. Nobody watches a pending station live: QA read its frames from the database."""
    if settings.CERTLAB_SAVE_FRAMES:
        buffer = _buffer()
        buffer.pending.append(frame)
        buffer.schedule()


async def flush() -> None:
    """Wait until every frame recorded on this loop is in the database and announced."""
    loop = asyncio.get_running_loop()
    buffer = _buffers.get(loop)
    if buffer is not None:
        buffer.hand_over()
    pending = [task for task in _announcing if task.get_loop() is loop]
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    future = loop.create_future()
    writer = _the_writer()
    writer.inbox.put(_Flush(loop, future))
    writer.urgent.set()
    await future


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


async def _announce(
    charge_point_id: str, events: list[FrameEvent], before: asyncio.Task | None = None
) -> None:
    # Two group_sends in flight at once can overtake each other (each takes several Redis
    # round trips, on any connection of the pool): a step then saw CertLab's answer before the
    # station's call it answers, never found it after the call, and waited 30 s for it.
    if before is not None and not before.done():
        await asyncio.wait([before])
    message: FramesEvent = {"type": "frames.logged", "origin": ORIGIN, "frames": events}
    try:
        await get_channel_layer().group_send(frames_group(charge_point_id), message)
    except Exception:
        logger.exception("Could not announce %d frames of %s", len(events), charge_point_id)
