"""Frames as a step sees them, and matching a payload against an expectation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from campaigns.engine.texts import summarise

Where = Mapping[str, Any] | Callable[[Any], bool] | None


@dataclass(frozen=True)
class Frame:
    """One logged frame (or a connection event: message_type CONNECTED / DISCONNECTED)."""

    direction: str  # "in" (from the station) or "out"
    message_type: str  # CALL, CALLRESULT, CALLERROR, INVALID, CONNECTED, DISCONNECTED
    action: str
    unique_id: str
    payload: Any
    timestamp: datetime
    raw: str = ""
    connection_id: int | None = None
    error: str = ""
    seq: int = field(default=0, compare=False)

    @classmethod
    def from_event(cls, event: Mapping[str, Any], seq: int = 0) -> Frame:
        stamp = event.get("timestamp")
        when = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
        return cls(
            direction=event.get("direction", ""),
            message_type=event.get("message_type", ""),
            action=event.get("action", ""),
            unique_id=event.get("unique_id", ""),
            payload=event.get("payload"),
            timestamp=when,
            raw=event.get("raw", ""),
            connection_id=event.get("connection_id"),
            error=event.get("error", ""),
            seq=seq,
        )

    def ref(self) -> dict[str, Any]:
        """What evidence keeps of a frame: enough to find it in the log and to show it."""
        return {
            "timestamp": self.timestamp.isoformat(),
            "direction": self.direction,
            "message_type": self.message_type,
            "action": self.action,
            "unique_id": self.unique_id,
            "connection_id": self.connection_id,
            "raw": self.raw,
        }

    def describe(self) -> str:
        arrow = "←" if self.direction == "in" else "→"
        return f"{arrow} {self.message_type} {self.action} {self.timestamp:%H:%M:%S.%f}"[:-3]


def subset_matches(expected: Any, actual: Any) -> bool:
    """True when ``expected`` is contained in ``actual``: dict keys recursively, other values
    equal. Lets a step say {"status": "Charging", "connectorId": 1} of a larger payload."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and subset_matches(value, actual[key]) for key, value in expected.items()
        )
    return expected == actual


def payload_matches(where: Where, payload: Any) -> bool:
    if where is None:
        return True
    if callable(where):
        try:
            return bool(where(payload))
        except (KeyError, TypeError, ValueError, AttributeError):
            return False
    return subset_matches(where, payload)


def where_text(where: Where) -> str:
    """What a wait looks for beyond the action, in words (" (connectorId 1, status Charging)")."""
    return f" ({summarise(where)})" if isinstance(where, dict) and where else ""


def fits(frame: Frame, action: str | None, where: Where, direction: str | None,
         message_type: str | None) -> bool:  # fmt: skip
    """``frame`` is ``action`` (None: any) in ``direction`` of ``message_type``, matching
    ``where``."""
    return (
        (action is None or frame.action == action)
        and (direction is None or frame.direction == direction)
        and (message_type is None or frame.message_type == message_type)
        and payload_matches(where, frame.payload)
    )
