"""A small recording Central System for the simulator's tests.

It speaks OCPP 1.6-J on loopback (websockets + ocpp), records every frame in both directions
with its action, answers the station-initiated requests (answers configurable per test) and lets
a test send Central System calls or raw frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from typing import Any

import pytest_asyncio
from ocpp.routing import on
from ocpp.v16 import ChargePoint
from ocpp.v16 import call_result as result
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from simulator.station import Simulator


@dataclass
class Frame:
    direction: str  # "in": station to Central System; "out": Central System to station
    message_type: int
    unique_id: str | None
    action: str | None
    payload: Any
    raw: str
    at: float  # time.monotonic()
    connection: int


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class RecordingConnection:
    def __init__(self, websocket: Any, cs: RecordingCS, number: int) -> None:
        self.websocket, self.cs, self.number = websocket, cs, number

    async def recv(self) -> str:
        text = await self.websocket.recv()
        self.cs.record("in", text, self.number)
        return text

    async def send(self, text: str) -> None:
        self.cs.record("out", text, self.number)
        await self.websocket.send(text)


class CentralSystem(ChargePoint):
    """Answers the ten station-initiated actions from the settings of its RecordingCS."""

    def __init__(self, cp_id: str, connection: RecordingConnection, cs: RecordingCS) -> None:
        super().__init__(cp_id, connection, response_timeout=10)
        self.cs = cs

    async def route_message(self, raw_msg: str) -> None:
        # A station may send a frame and go at once (exit_on_reset: the Reset answer, then the
        # socket drops). Our answer to an earlier CALL of it then fails to go out, and letting
        # that end the receive loop would leave the frames already received unread: the call
        # waiting for the Reset answer would time out although the answer arrived. Only under
        # load does our answer come late enough to meet the closed socket.
        with contextlib.suppress(ConnectionClosed):
            await super().route_message(raw_msg)

    @on("BootNotification")
    def on_boot(self, **_: Any) -> Any:
        status, interval = (
            self.cs.boot_answers.pop(0)
            if self.cs.boot_answers
            else (
                "Accepted",
                self.cs.heartbeat_interval,
            )
        )
        return result.BootNotification(current_time=_now(), interval=interval, status=status)

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any) -> Any:
        return result.Heartbeat(current_time=_now())

    @on("StatusNotification")
    def on_status(self, **_: Any) -> Any:
        return result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_tag: str, **_: Any) -> Any:
        return result.Authorize(id_tag_info={"status": self.cs.tag_status(id_tag)})

    @on("StartTransaction")
    def on_start(self, id_tag: str, **_: Any) -> Any:
        return result.StartTransaction(
            transaction_id=next(self.cs.transaction_ids),
            id_tag_info={"status": self.cs.tag_status(id_tag)},
        )

    @on("StopTransaction")
    def on_stop(self, **_: Any) -> Any:
        return result.StopTransaction(id_tag_info={"status": "Accepted"})

    @on("MeterValues")
    def on_meter_values(self, **_: Any) -> Any:
        return result.MeterValues()

    @on("DataTransfer")
    def on_data_transfer(self, **_: Any) -> Any:
        return result.DataTransfer(status="Accepted")

    @on("DiagnosticsStatusNotification")
    def on_diagnostics_status(self, **_: Any) -> Any:
        return result.DiagnosticsStatusNotification()

    @on("FirmwareStatusNotification")
    def on_firmware_status(self, **_: Any) -> Any:
        return result.FirmwareStatusNotification()


@dataclass
class RecordingCS:
    frames: list[Frame] = field(default_factory=list)
    connections: list[dict[str, Any]] = field(default_factory=list)
    boot_answers: list[tuple[str, int]] = field(default_factory=list)
    heartbeat_interval: int = 60
    invalid_tags: set[str] = field(default_factory=lambda: {"INVALID"})
    transaction_ids: Any = field(default_factory=lambda: count(100))
    port: int = 0
    expect_call_errors: bool = False  # tests of deliberately invalid frames set this

    def __post_init__(self) -> None:
        self._actions: dict[str, str] = {}
        self._changed = asyncio.Condition()
        self._points: dict[str, CentralSystem] = {}
        self._sockets: dict[str, Any] = {}

    def tag_status(self, id_tag: str) -> str:
        return "Invalid" if id_tag in self.invalid_tags else "Accepted"

    def url(self, cp_id: str = "CP1") -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp/{cp_id}"

    async def start(self) -> None:
        """Listen on a free port, or again on the previous one after stop()."""
        self._server = await serve(self._handler, "127.0.0.1", self.port, subprotocols=["ocpp1.6"])
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handler(self, websocket: Any) -> None:
        cp_id = websocket.request.path.rsplit("/", 1)[-1]
        self.connections.append(
            {
                "id": cp_id,
                "subprotocol": websocket.subprotocol,
                "authorization": websocket.request.headers.get("Authorization"),
            }
        )
        number = len(self.connections)
        cp = CentralSystem(cp_id, RecordingConnection(websocket, self, number), self)
        self._points[cp_id], self._sockets[cp_id] = cp, websocket
        with contextlib.suppress(Exception):  # the station went away, as tests provoke
            await cp.start()

    def record(self, direction: str, raw: str, connection: int) -> None:
        try:
            message = json.loads(raw)
            kind, unique_id = message[0], message[1]
        except (ValueError, IndexError, KeyError, TypeError):
            message, kind, unique_id = None, 0, None
        action = payload = None
        if kind == 2:
            action, payload = message[2], message[3]
            self._actions[unique_id] = action
        elif kind == 3:
            action, payload = self._actions.get(unique_id), message[2]
        elif kind == 4:
            action, payload = self._actions.get(unique_id), message[2:]
        frame = Frame(
            direction, kind, unique_id, action, payload, raw, time.monotonic(), connection
        )
        self.frames.append(frame)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- what the tests use ---------------------------------------------------------------
    def calls(self, action: str | None = None, since: int = 0) -> list[Frame]:
        """CALLs from the station (optionally of one action), from frame index ``since``."""
        return [
            f
            for f in self.frames[since:]
            if f.direction == "in" and f.message_type == 2 and action in (None, f.action)
        ]

    def payloads(self, action: str, since: int = 0) -> list[dict[str, Any]]:
        return [f.payload for f in self.calls(action, since)]

    def mark(self) -> int:
        """An index to pass as ``since``: only frames after this point count."""
        return len(self.frames)

    async def wait_for(
        self,
        action: str,
        where: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,
        since: int = 0,
        count: int = 1,
    ) -> list[Frame]:
        """Wait until ``count`` CALLs of ``action`` matching ``where`` arrived; returns them."""

        def matching() -> list[Frame]:
            return [f for f in self.calls(action, since) if where is None or where(f.payload)]

        async def wait() -> list[Frame]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(matching()) >= count)
            return matching()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            history = "\n".join(f"{f.direction} {f.raw}" for f in self.frames[since:])
            raise AssertionError(f"no {count} x {action} within {timeout}s:\n{history}") from None

    async def assert_none(self, action: str, within: float, since: int = 0) -> None:
        """Wait ``within`` seconds and check the station sent no ``action``."""
        await asyncio.sleep(within)
        sent = self.calls(action, since)
        assert not sent, f"unexpected {action}: {[f.raw for f in sent]}"

    async def call(self, payload: Any, cp_id: str = "CP1", **kwargs: Any) -> Any:
        return await self._points[cp_id].call(payload, **kwargs)

    async def send_raw(self, text: str, cp_id: str = "CP1", timeout: float = 5.0) -> Frame:
        """Send a raw frame; returns the station's answer with the same unique id."""
        since = self.mark()
        await self._sockets[cp_id].send(text)
        unique_id = text.split('"')[1]  # tests put the unique id first, even in broken frames

        async def answer() -> Frame:
            async with self._changed:
                await self._changed.wait_for(lambda: self._answer(unique_id, since) is not None)
            return self._answer(unique_id, since)  # type: ignore[return-value]

        return await asyncio.wait_for(answer(), timeout)

    def _answer(self, unique_id: str, since: int) -> Frame | None:
        for frame in self.frames[since:]:
            if frame.direction == "in" and frame.unique_id == unique_id:
                return frame
        return None


@pytest_asyncio.fixture
async def cs() -> AsyncIterator[RecordingCS]:
    server = RecordingCS()
    await server.start()
    yield server
    await server.stop()


SimFactory = Callable[..., Awaitable[Simulator]]


@pytest_asyncio.fixture
async def make_sim(cs: RecordingCS, tmp_path: Any) -> AsyncIterator[SimFactory]:
    """Start simulators against the recording CS (fast timing, state in tmp_path)."""
    sims: list[Simulator] = []

    async def factory(cp_id: str = "CP1", wait: bool = True, **kwargs: Any) -> Simulator:
        kwargs.setdefault("state_dir", tmp_path / "state")
        kwargs.setdefault("fast", True)
        sim = Simulator(cs.url(cp_id), **kwargs)
        sims.append(sim)
        since = cs.mark()
        await sim.start()
        if wait:
            await sim.wait_online()
            # Let the boot's StatusNotifications go out before the test acts.
            await cs.wait_for("StatusNotification", since=since, count=len(sim.connectors))
        return sim

    yield factory
    for sim in sims:
        await sim.stop()
    # Everything the station sent must have passed the Central System's schema checks.
    errors = [f.raw for f in cs.frames if f.direction == "out" and f.message_type == 4]
    assert cs.expect_call_errors or not errors, f"the CS answered CALLERRORs: {errors}"
