"""The frame log as a download, CSV or JSON Lines, streamed in flat memory.

Rows come from a server-side cursor in chunks of ``CHUNK`` (``QuerySet.iterator``; under ASGI
each chunk read in the request's sync thread) and leave as bytes chunk by chunk: a million
frames never sit in the server's memory. Under daphne the body must be an async iterator:
Django serves a sync one to an ASGI server by reading it whole into a list first
(``StreamingHttpResponse.__aiter__``).

The raw text is the record; the other columns are what CertLab made of it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Iterator
from enum import Enum
from itertools import islice

import orjson
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import register_converter

from stations.models import Frame

COLUMNS = (
    "id", "time", "direction", "message_type", "action", "unique_id", "connection", "raw", "error",
)  # fmt: skip
FIELDS = (
    "id", "timestamp", "direction", "message_type", "action", "unique_id", "connection_id", "raw",
    "error",
)  # fmt: skip
CHUNK = 2000


class Format(Enum):
    CSV = ("csv", "text/csv; charset=utf-8")
    JSONL = ("jsonl", "application/x-ndjson")

    def __init__(self, extension: str, content_type: str):
        self.extension = extension
        self.content_type = content_type

    @classmethod
    def of(cls, extension: str) -> Format:
        return {f.extension: f for f in cls}[extension]


class FormatConverter:
    """``<frames:fmt>`` in a URL: ``csv`` or ``jsonl`` as a ``Format`` (anything else: 404)."""

    regex = "csv|jsonl"

    def to_python(self, value: str) -> Format:
        return Format.of(value)

    def to_url(self, value: Format | str) -> str:
        return value.extension if isinstance(value, Format) else value


register_converter(FormatConverter, "frames")


def station_frames(station_id: int) -> QuerySet[Frame]:
    """A station's frames in log order (oldest first), through ``of_station``'s range and index
    (reversed, the sort keeps the station and walks the (station, -id) index backwards)."""
    return Frame.objects.of_station(station_id).reverse()


def _row(values: tuple) -> tuple:
    return (values[0], values[1].isoformat(), *values[2:])


def encode(rows: Iterable[tuple], fmt: Format) -> bytes:
    """One chunk of rows (``FIELDS`` order) as bytes of the format."""
    if fmt is Format.JSONL:
        return b"".join(
            orjson.dumps(dict(zip(COLUMNS, _row(r), strict=True))) + b"\n" for r in rows
        )
    buffer = io.StringIO()
    csv.writer(buffer).writerows(_row(r) for r in rows)
    return buffer.getvalue().encode()


def encode_header(fmt: Format) -> bytes:
    if fmt is Format.JSONL:
        return b""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(COLUMNS)
    return buffer.getvalue().encode()


def chunks(frames: QuerySet[Frame], fmt: Format) -> Iterator[bytes]:
    """The export as bytes, ``CHUNK`` rows at a time, read through a server-side cursor."""
    yield encode_header(fmt)
    rows = frames.values_list(*FIELDS).iterator(chunk_size=CHUNK)
    while batch := list(islice(rows, CHUNK)):
        yield encode(batch, fmt)


async def achunks(frames: QuerySet[Frame], fmt: Format) -> AsyncIterator[bytes]:
    """``chunks`` for an ASGI server: each chunk read and encoded in the request's sync thread
    (its database connection holds the cursor). Not ``QuerySet.aiterator``: for ``values_list``
    it runs the query in the event loop (SynchronousOnlyOperation)."""
    sync = chunks(frames, fmt)
    step = sync_to_async(next)
    try:
        while (chunk := await step(sync, None)) is not None:
            yield chunk
    finally:
        await sync_to_async(sync.close)()


def response(
    request: HttpRequest, frames: QuerySet[Frame], fmt: Format, name: str
) -> StreamingHttpResponse:
    """The download of ``frames`` as ``name``.<extension>, streamed as the server needs it."""
    body = achunks(frames, fmt) if isinstance(request, ASGIRequest) else chunks(frames, fmt)
    streamed = StreamingHttpResponse(body, content_type=fmt.content_type)
    streamed["Content-Disposition"] = f'attachment; filename="{name}.{fmt.extension}"'
    streamed["X-Content-Type-Options"] = "nosniff"
    return streamed
