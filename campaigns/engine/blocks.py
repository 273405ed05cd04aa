"""What a prompt answer means, once for every step.

A prompt asks the operator for an action ("present the tag again"). The step names what depends
on it: ``ctx.prompt(..., needed_by=("7.b",))`` (a whole criterion) or ``("6.c#no-start",)`` (one
check of a criterion, by its key). When the action did not happen ("Cannot do", any other choice
than "Done", or the prompt expired), the engine:

- records each of those criteria (or checks) "not observed", with the reason;
- reports what the station sent while the prompt was open, for QA to judge (never taken as the
  answer: the station may have done something by itself at that moment);
- turns every later check of what is blocked into "not observed" as well, so frames that follow
  an action that did not happen are never scored, whatever the step does next.

The step can go on with its other parts; it should skip the waits that only made sense after the
action (``if not answer.done: return``), which the engine cannot do for it.
"""

from __future__ import annotations

from collections.abc import Iterable

from campaigns.engine.frames import Frame

# Frames that say nothing about an action the operator was asked for.
BACKGROUND = frozenset({"Heartbeat"})


def criterion_of(item: str) -> str:
    """ "7.b" of "7.b" and of "7.b#stop"."""
    return item.split("#", 1)[0]


class Blocks:
    """The criteria and check keys whose action did not happen, with why."""

    def __init__(self) -> None:
        self._why: dict[str, str] = {}

    def add(self, items: Iterable[str], why: str) -> None:
        for item in items:
            self._why.setdefault(item, why)

    def reason(self, criterion: str, key: str) -> str:
        """Why a check of ``criterion`` with ``key`` cannot be scored ('' when it can)."""
        return self._why.get(key) or self._why.get(criterion) or ""

    def __contains__(self, item: str) -> bool:
        return item in self._why


def while_open(history: list[Frame], asked: int, answered: int) -> list[Frame]:
    """The station's own calls that arrived while a prompt was open."""
    return [
        f
        for f in history[asked:answered]
        if f.direction == "in" and f.message_type == "CALL" and f.action not in BACKGROUND
    ]


def describe_frames(frames: list[Frame]) -> str:
    parts = []
    for frame in frames:
        payload = frame.payload if isinstance(frame.payload, dict) else {}
        extra = [
            f"{name} {payload[name]}"
            for name in ("connectorId", "status", "transactionId", "reason", "idTag")
            if name in payload
        ]
        details = f" ({', '.join(extra)})" if extra else ""
        parts.append(f"{frame.action} at {frame.timestamp:%H:%M:%S}{details}")
    return "; ".join(parts)
