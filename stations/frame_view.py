"""How frames are filtered and shown, the same for the page's history and its live stream."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from django.db.models import QuerySet
from django.utils import timezone

from stations.models import Direction, Frame


@dataclass(frozen=True)
class FrameFilter:
    action: str = ""
    direction: str = ""
    errors: bool = False

    @classmethod
    def from_dict(cls, data: dict) -> FrameFilter:
        direction = str(data.get("direction") or "")
        return cls(
            # PostgreSQL refuses NUL in text (a 500); no action name has one.
            action=str(data.get("action") or "").replace("\x00", "")[:64],
            direction=direction if direction in Direction.values else "",
            errors=str(data.get("errors") or "") in {"1", "true", "on", "True"},
        )

    @classmethod
    def from_query(cls, query: str) -> FrameFilter:
        return cls.from_dict({k: v[-1] for k, v in parse_qs(query).items()})

    @staticmethod
    def query_value(query: str, name: str) -> str:
        values = parse_qs(query).get(name)
        return values[-1] if values else ""

    def as_query(self) -> dict[str, str]:
        """The filter as the query parameters ``from_dict`` reads back (for page links)."""
        query = {"action": self.action, "direction": self.direction, "errors": "1" * self.errors}
        return {name: value for name, value in query.items() if value}

    def matches(self, event: dict) -> bool:
        if self.action and event["action"] != self.action:
            return False
        if self.direction and event["direction"] != self.direction:
            return False
        if self.errors:
            return bool(event["error"]) or event["message_type"] in ("CALLERROR", "invalid")
        return True

    def apply(self, frames: QuerySet[Frame]) -> QuerySet[Frame]:
        if self.action:
            frames = frames.filter(action=self.action)
        if self.direction:
            frames = frames.filter(direction=self.direction)
        if self.errors:
            frames = frames.filter(has_error=True)
        return frames


def _pretty(payload: Any, raw: str) -> str:
    if payload is None:
        return raw
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str)


def _truncate(text: str, length: int) -> str:
    """Like the ``truncatechars`` filter: at most ``length`` characters, the last one "…"."""
    return text if len(text) <= length else text[: length - 1] + "…"


def frame_key(frame: dict) -> str:
    """What tells a frame apart before it has an id: streamed lines and saved rows agree on it."""
    return f"{frame['timestamp']}|{frame['direction']}|{frame['unique_id']}"


def frame_json(frame: Frame | dict) -> dict:
    """A frame line's shown values, from a Frame row or a streamed FrameEvent.

    The history renders them with ``stations/_frame_line.html``; the live page fills the same
    partial (a ``<template>``) with them, so the two never drift: every format is decided here.
    """
    if isinstance(frame, Frame):
        timestamp = frame.timestamp
        data = {
            "id": frame.pk,
            "timestamp": timestamp.isoformat(),
            "direction": frame.direction,
            "message_type": frame.message_type,
            "action": frame.action,
            "unique_id": frame.unique_id,
            "raw": frame.raw,
            "payload": frame.payload,
            "error": frame.error,
        }
    else:
        timestamp = datetime.fromisoformat(frame["timestamp"])
        data = {key: frame[key] for key in _STREAMED}
        data["id"] = None
    local = timezone.localtime(timestamp)
    is_error = bool(data["error"]) or data["message_type"] in ("CALLERROR", "invalid")
    return {
        "id": data["id"],
        "key": frame_key(data),
        "datetime": local.isoformat(),
        "time": local.strftime("%H:%M:%S.%f"),
        "direction": data["direction"],
        "arrow": Direction(data["direction"]).label,  # one wording everywhere: "station → CS"
        "message_type": data["message_type"],
        "action": data["action"] or "—",
        "unique_id": data["unique_id"],
        "error": _truncate(data["error"], 160),
        "is_error": is_error,
        "pretty": _pretty(data["payload"], data["raw"]),
        "raw": _truncate(data["raw"], 4000),
    }


_STREAMED = (
    "timestamp",
    "direction",
    "message_type",
    "action",
    "unique_id",
    "raw",
    "payload",
    "error",
)
REPLAY_LIMIT = 500


def latest_frame_id(station_id: int) -> int:
    """The newest frame id of a station (0 without frames): where a page's live stream starts."""
    latest = Frame.objects.of_station(station_id).values_list("id")[:1]
    return next(iter(latest), (0,))[0]


def replay_after(station_id: int, flt: FrameFilter, *, after: int) -> list[dict]:
    """The frames saved after ``after`` (at most the newest REPLAY_LIMIT), oldest first."""
    frames = flt.apply(Frame.objects.of_station(station_id).filter(id__gt=after))
    rows = list(frames[:REPLAY_LIMIT])
    return [frame_json(f) for f in reversed(rows)]


PAGE_SIZE = 50


def frame_page(
    station_id: int, flt: FrameFilter, *, before: int | None = None, size: int = PAGE_SIZE
) -> tuple[list[Frame], int | None]:
    """One page of a station's frames, newest first, and the cursor for the next (older) page.

    Keyset pagination on the id: each page is an index range scan however long the log is.
    """
    return _page(Frame.objects.of_station(station_id), flt, before=before, size=size)


def pending_frame_page(
    pending_id: int, flt: FrameFilter, *, before: int | None = None, size: int = PAGE_SIZE
) -> tuple[list[Frame], int | None]:
    """``frame_page`` for a pending station's frames."""
    return _page(Frame.objects.of_pending_station(pending_id), flt, before=before, size=size)


def _page(
    frames: QuerySet[Frame], flt: FrameFilter, *, before: int | None, size: int
) -> tuple[list[Frame], int | None]:
    frames = flt.apply(frames)
    if before is not None:
        frames = frames.filter(id__lt=before)
    rows = list(frames[: size + 1])  # newest first: of_station's order
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].pk if more else None)
