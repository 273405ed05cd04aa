"""A scripted charger behind the StationPort protocol: unit tests of the step context and of
single steps, with no socket, database or Redis. Steps run against the real simulator and the
real endpoint elsewhere (test_steps_against_simulator.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from campaigns.engine.port import CallRejected, CallTimedOut, StationGone

Reply = dict | Callable[[dict], dict] | CallRejected | None


class ScriptedStation:
    def __init__(self, charge_point_id: str = "SCRIPTED-1") -> None:
        self.charge_point_id = charge_point_id
        self.connected = True
        self.connection_id = 1  # a reconnect is a new connection, as on CertLab's endpoint
        self.replies: dict[str, tuple[Reply, list[tuple[str, dict, float]]]] = {}
        self.calls: list[tuple[str, dict]] = []
        self._events: asyncio.Queue[dict] = asyncio.Queue()
        self._ids = count(1)

    # --- scripting ---------------------------------------------------------------------------
    def on(self, action: str, reply: Reply, *, then: list[tuple[str, dict, float]] = ()) -> None:
        """Answer ``action`` with ``reply`` (None: never answer), then send ``then`` frames
        (action, payload, delay in s) as the station."""
        self.replies[action] = (reply, list(then))

    def emit(
        self, action: str, payload: dict, delay: float = 0.0, *, answered_after: float | None = None
    ) -> None:
        """Send ``action`` as the station after ``delay`` s; ``answered_after``: CertLab's
        answer (an empty CALLRESULT) follows that many seconds later."""
        loop, unique_id = asyncio.get_running_loop(), f"st-{next(self._ids)}"
        # Stamped with the time the script says, not when a busy loop got round to the timer: a
        # late timer would move the frame and shorten the gap to the next one, so a test of
        # intervals would judge the machine's load instead of the scripted station.
        at = datetime.now(UTC) + timedelta(seconds=delay)
        loop.call_later(delay, self._push, "in", "CALL", action, unique_id, payload, at)
        if answered_after is not None:
            loop.call_later(delay + answered_after, self._push, "out", "CALLRESULT", action,
                            unique_id, {}, at + timedelta(seconds=answered_after))  # fmt: skip

    def disconnect(self, delay: float = 0.0) -> None:
        asyncio.get_running_loop().call_later(delay, self._set_connected, False)

    def reconnect(self, delay: float = 0.0) -> None:
        asyncio.get_running_loop().call_later(delay, self._set_connected, True)

    def _set_connected(self, value: bool) -> None:
        if value and not self.connected:
            self.connection_id += 1  # a reconnect is a new connection, as on CertLab's endpoint
        self.connected = value

    def _push(
        self, direction: str, kind: str, action: str, unique_id: str, payload: Any,
        at: datetime | None = None,
    ) -> None:  # fmt: skip
        self._events.put_nowait({
            "type": "frame.logged", "charge_point_id": self.charge_point_id,
            "connection_id": self.connection_id, "timestamp": (at or datetime.now(UTC)).isoformat(),
            "direction": direction, "message_type": kind, "action": action,
            "unique_id": unique_id, "raw": json.dumps(payload), "payload": payload, "error": "",
        })  # fmt: skip

    # --- the StationPort protocol ---------------------------------------------------------------
    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def is_connected(self) -> bool:
        return self.connected

    async def frames(self) -> AsyncIterator[dict]:
        while True:
            yield await self._events.get()

    async def call(self, action: str, payload: dict, *, timeout: float, unique_id: str) -> dict:
        if not self.connected:
            raise StationGone(f"{self.charge_point_id} is not connected")
        self.calls.append((action, payload))
        self._push("out", "CALL", action, unique_id, payload)
        reply, then = self.replies.get(action, (CallRejected("NotImplemented"), []))
        if reply is None:
            await asyncio.sleep(timeout)
            raise CallTimedOut(action)
        try:
            if isinstance(reply, CallRejected):
                raise reply
            answer = reply(payload) if callable(reply) else reply
        except CallRejected:  # a CALLERROR is logged like any answer
            self._push("in", "CALLERROR", action, unique_id, {})
            raise
        if answer is None:  # a callable may leave this one call unanswered
            await asyncio.sleep(timeout)
            raise CallTimedOut(action)
        self._push("in", "CALLRESULT", action, unique_id, answer)
        for then_action, then_payload, delay in then:
            self.emit(then_action, then_payload, delay)
        return answer

    async def send_raw(self, frame: str, *, timeout: float) -> dict:
        return {"status": "sent"}
