"""The baseline: a bare ``websockets`` + ``ocpp`` Central System answering Heartbeats, schemas
validated inline (``ASYNC_VALIDATION = False``, its fastest setting). Nothing saved.

    python -m bench.bare_cs PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import UTC, datetime

import ocpp.messages
import websockets
import websockets.exceptions
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result

ocpp.messages.ASYNC_VALIDATION = False


class CentralSystem(ChargePoint):
    @on("Heartbeat")
    def on_heartbeat(self):
        return call_result.Heartbeat(current_time=datetime.now(UTC).isoformat())


async def handler(socket) -> None:
    await CentralSystem(socket.request.path.rsplit("/", 1)[-1], socket).start()


async def main(port: int) -> None:
    import logging

    logging.getLogger("ocpp").setLevel(logging.WARNING)
    async with websockets.serve(handler, "127.0.0.1", port, subprotocols=["ocpp1.6"]):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    with contextlib.suppress(websockets.exceptions.ConnectionClosed, KeyboardInterrupt):
        asyncio.run(main(int(sys.argv[1])))
