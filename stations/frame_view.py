"""How frames are filtered and shown, the same for the page's history and its live stream."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from django.db.models import QuerySet

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
            action=str(data.get("action") or "")[:64],
            direction=direction if direction in Direction.values else "",
            errors=str(data.get("errors") or "") in {"1", "true", "on", "True"},
        )

    @classmethod
    def from_query(cls, query: str) -> FrameFilter:
        return cls.from_dict({k: v[-1] for k, v in parse_qs(query).items()})

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


def frame_context(frame: Frame | dict) -> dict:
    """The values the line partial shows, from a Frame row or a streamed FrameEvent."""
    if isinstance(frame, Frame):
        data = {
            "id": frame.pk,
            "timestamp": frame.timestamp,
            "direction": frame.direction,
            "message_type": frame.message_type,
            "action": frame.action,
            "unique_id": frame.unique_id,
            "raw": frame.raw,
            "payload": frame.payload,
            "error": frame.error,
        }
    else:
        data = {**frame, "id": None, "timestamp": datetime.fromisoformat(frame["timestamp"])}
    data["pretty"] = _pretty(data["payload"], data["raw"])
    data["is_error"] = bool(data["error"]) or data["message_type"] in ("CALLERROR", "invalid")
    data["arrow"] = "→" if data["direction"] == Direction.IN else "←"
    return data


PAGE_SIZE = 50


def frame_page(
    station_id: int, flt: FrameFilter, *, before: int | None = None, size: int = PAGE_SIZE
) -> tuple[list[Frame], int | None]:
    """One page of a station's frames, newest first, and the cursor for the next (older) page.

    Keyset pagination on the id: each page is an index range scan however long the log is.
    """
    frames = flt.apply(Frame.objects.filter(station_id=station_id))
    if before is not None:
        frames = frames.filter(id__lt=before)
    rows = list(frames.order_by("-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].pk if more else None)
