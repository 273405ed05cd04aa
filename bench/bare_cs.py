"""The baseline: a bare ``websockets`` + ``ocpp`` Central System answering Heartbeats, schemas
validated inline (``ASYNC_VALIDATION = False``, its fastest setting). Nothing saved.

    python -m bench.bare_cs PORT [--calls N --out FILE]

With ``--calls`` it also calls ClearCache N times, one after the other, on the first station to
connect and writes the round trips (ms) to FILE as JSON: the baseline of ``bench.calls``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import ocpp.messages
import websockets
import websockets.exceptions
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result

ocpp.messages.ASYNC_VALIDATION = False


class CentralSystem(ChargePoint):
    @on("Heartbeat")
    def on_heartbeat(self):
        return call_result.Heartbeat(current_time=datetime.now(UTC).isoformat())


async def call_round_trips(central_system: CentralSystem, count: int, out: Path) -> None:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        await central_system.call(call.ClearCache())
        timings.append((time.perf_counter() - started) * 1000)
    out.write_text(json.dumps(timings))


async def main(port: int, calls: int, out: Path | None) -> None:
    import logging

    logging.getLogger("ocpp").setLevel(logging.WARNING)

    async def handler(socket) -> None:
        central_system = CentralSystem(socket.request.path.rsplit("/", 1)[-1], socket)
        if calls and out is not None and not out.exists():
            out.touch()  # the first station only
            serving = asyncio.create_task(central_system.start())
            await call_round_trips(central_system, calls, out)
            await serving
        else:
            await central_system.start()

    async with websockets.serve(handler, "127.0.0.1", port, subprotocols=["ocpp1.6"]):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--calls", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with contextlib.suppress(websockets.exceptions.ConnectionClosed, KeyboardInterrupt):
        asyncio.run(main(args.port, args.calls, args.out))
