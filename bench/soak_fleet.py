"""A light fleet of OCPP 1.6-J stations for the soak: one asyncio coroutine and one
``websockets`` connection each, no ``ocpp`` package, a few hundred bytes of state.

Each station boots, reports its connector Available, then until told to stop: a Heartbeat every
``heartbeat`` seconds (jittered ±10 %) while idle, and now and then (exponentially distributed
idle gaps of mean ``session_gap`` seconds) a charging session: Preparing, StartTransaction,
Charging, MeterValues every ``meter_interval`` seconds for 2 to 6 of them (one session in three
suspended by the EV for a while), StopTransaction, Finishing, Available. Every frame the station
sends and every frame it receives is counted; a station that is told to stop finishes the call
it is in (so that nothing sent is left unanswered) and closes its socket cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import websockets

ID_TAG = "SOAK-TAG"


@dataclass
class Rates:
    heartbeat: float = 60.0
    session_gap: float = 240.0
    meter_interval: float = 30.0


@dataclass
class FleetStats:
    sent: int = 0  # frames the stations sent (CertLab logs them as "in")
    received: int = 0  # frames the stations received (CertLab logs them as "out")
    by_action: dict[str, int] = field(default_factory=dict)
    connected: int = 0
    booted: int = 0
    closed_by_server: int = 0
    errors: list[str] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)

    def count(self, action: str) -> None:
        self.by_action[action] = self.by_action.get(action, 0) + 1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class LightStation:
    __slots__ = ("cp", "meter", "next_id", "rng", "socket", "stats")

    def __init__(self, cp: str, stats: FleetStats, rng: random.Random) -> None:
        self.cp = cp
        self.stats = stats
        self.rng = rng
        self.next_id = 0
        self.meter = 0
        self.socket = None

    async def call(self, action: str, payload: dict) -> object:
        """Send a CALL, then read until its answer (answering any CALL CertLab makes meanwhile)."""
        self.next_id += 1
        uid = str(self.next_id)
        started = time.monotonic()
        await self.socket.send(json.dumps([2, uid, action, payload], separators=(",", ":")))
        self.stats.sent += 1
        self.stats.count(action)
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), 120))
            self.stats.received += 1
            if message[0] == 2:  # CertLab asks something: not expected in the soak, answered
                await self.socket.send(json.dumps([3, message[1], {}]))
                self.stats.sent += 1
                self.stats.count(f"answer to {message[2]}")
                continue
            if message[1] == uid:
                self.stats.answer_ms.append((time.monotonic() - started) * 1000)
                return message[2] if message[0] == 3 else None

    async def status(self, connector: int, status: str) -> None:
        await self.call(
            "StatusNotification",
            {"connectorId": connector, "errorCode": "NoError", "status": status,
             "timestamp": _now()},
        )  # fmt: skip

    async def meter_values(self, transaction_id: int) -> None:
        self.meter += self.rng.randint(150, 250)  # Wh in 30 s at about 22 kW
        sample = [
            {"value": str(self.meter), "measurand": "Energy.Active.Import.Register",
             "unit": "Wh", "context": "Sample.Periodic"},
            {"value": f"{self.rng.uniform(15000, 22000):.0f}",
             "measurand": "Power.Active.Import", "unit": "W", "context": "Sample.Periodic"},
        ]  # fmt: skip
        await self.call(
            "MeterValues",
            {"connectorId": 1, "transactionId": transaction_id,
             "meterValue": [{"timestamp": _now(), "sampledValue": sample}]},
        )  # fmt: skip

    async def session(self, rates: Rates, stop: asyncio.Event) -> None:
        await self.status(1, "Preparing")
        answer = await self.call(
            "StartTransaction",
            {"connectorId": 1, "idTag": ID_TAG, "meterStart": self.meter, "timestamp": _now()},
        )
        transaction_id = answer["transactionId"] if isinstance(answer, dict) else 0
        await self.status(1, "Charging")
        end = time.monotonic() + self.rng.uniform(2, 6) * rates.meter_interval
        suspended = self.rng.random() < 1 / 3
        suspend_at = time.monotonic() + 1.3 * rates.meter_interval if suspended else None
        while time.monotonic() < end and not stop.is_set():
            await _sleep(rates.meter_interval, stop)
            if stop.is_set():
                break
            await self.meter_values(transaction_id)
            if suspend_at and time.monotonic() > suspend_at:
                await self.status(1, "SuspendedEV")
                await _sleep(rates.meter_interval, stop)
                await self.status(1, "Charging")
                suspend_at = None
        await self.call(
            "StopTransaction",
            {"transactionId": transaction_id, "meterStop": self.meter, "timestamp": _now(),
             "idTag": ID_TAG, "reason": "EVDisconnected"},
        )  # fmt: skip
        await self.status(1, "Finishing")
        await self.status(1, "Available")

    async def run(self, url: str, rates: Rates, stop: asyncio.Event, connects) -> None:
        try:
            async with connects:
                self.socket = await websockets.connect(
                    url, subprotocols=["ocpp1.6"], open_timeout=120, ping_interval=None,
                    close_timeout=30, max_queue=None,
                )  # fmt: skip
        except Exception as exc:
            self.stats.errors.append(f"{self.cp}: not connected: {type(exc).__name__} {exc}")
            return
        self.stats.connected += 1
        try:
            await self.call(
                "BootNotification",
                {"chargePointVendor": "Soak", "chargePointModel": "Light",
                 "chargePointSerialNumber": self.cp},
            )  # fmt: skip
            await self.status(0, "Available")
            await self.status(1, "Available")
            self.stats.booted += 1
            # Spread the fleet's beats over the interval instead of all at once.
            next_beat = time.monotonic() + self.rng.uniform(0, rates.heartbeat)
            next_session = time.monotonic() + self.rng.expovariate(1 / rates.session_gap)
            while not stop.is_set():
                await _sleep(min(next_beat, next_session) - time.monotonic(), stop)
                if stop.is_set():
                    break
                now = time.monotonic()
                if now >= next_session:
                    await self.session(rates, stop)
                    next_session = time.monotonic() + self.rng.expovariate(1 / rates.session_gap)
                    next_beat = time.monotonic() + rates.heartbeat * self.rng.uniform(0.9, 1.1)
                elif now >= next_beat:
                    await self.call("Heartbeat", {})
                    next_beat = now + rates.heartbeat * self.rng.uniform(0.9, 1.1)
        except websockets.ConnectionClosed as exc:
            self.stats.closed_by_server += 1
            self.stats.errors.append(f"{self.cp}: closed {exc}")
        except Exception as exc:
            self.stats.errors.append(f"{self.cp}: {type(exc).__name__} {exc}")
        finally:
            await self.socket.close()


async def _sleep(seconds: float, stop: asyncio.Event) -> None:
    if seconds > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


class Fleet:
    """The stations, run on an event loop of their own (a thread of the bench process)."""

    def __init__(self, urls: dict[str, str], rates: Rates, seed: int = 1) -> None:
        self.urls = urls
        self.rates = rates
        self.stats = FleetStats()
        self.seed = seed
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        connects = asyncio.Semaphore(20)  # handshakes in flight: a ramp, not a stampede
        stations = [
            LightStation(cp, self.stats, random.Random(f"{self.seed}-{cp}")) for cp in self.urls
        ]
        await asyncio.gather(
            *(s.run(self.urls[s.cp], self.rates, self.stop_event, connects) for s in stations)
        )

    def stop(self) -> None:
        assert self.loop is not None and self.stop_event is not None
        self.loop.call_soon_threadsafe(self.stop_event.set)
