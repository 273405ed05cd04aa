"""Central-System call round trip from a Celery task to a station and back, through Redis.

    python -m bench.calls [--count 500]

The station is a minimal websockets client answering every CALL at once, so the figure is
CertLab's (bus, channel layer, consumer, frame log), not a simulator's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time

import websockets

from bench import common


async def station(url: str, stop: asyncio.Event) -> None:
    async with websockets.connect(url, subprotocols=["ocpp1.6"]) as ws:
        while not stop.is_set():
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            await ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))


async def drive(port: int, cp: str, count: int) -> list[float]:
    from celery import current_app

    out = common.LOGS / "calls.json"
    out.unlink(missing_ok=True)
    stop = asyncio.Event()
    task = asyncio.create_task(station(f"ws://127.0.0.1:{port}/ocpp/{cp}", stop))
    await asyncio.sleep(1)
    current_app.send_task("bench.call_round_trips", args=[cp, count, str(out)])
    while not out.exists():
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.2)
    stop.set()
    await task
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    common.setup_django()
    common.migrate()
    common.flush_redis()
    (cp,) = [s.charge_point_id for s in common.stations(1, "RTT")]
    import certlab.celery  # noqa: F401 - configures the Celery app from settings
    from tests.processes import free_port, wait_for_port

    port = free_port()
    worker_args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "certlab",
        "worker",
        "-I",
        "bench.tasks",
        "--pool=prefork",
        "--concurrency=1",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
    ]
    with (
        common.process(common.daphne_args(port), "daphne-rtt"),
        common.process(worker_args, "worker-rtt", {"LOG_LEVEL": "INFO"}) as worker,
    ):
        wait_for_port(port)
        worker.wait_for_log("ready", timeout=60)
        timings = asyncio.run(drive(port, cp, args.count))
    timings = timings[10:]  # warm-up: connections, schema cache
    timings.sort()
    print(
        json.dumps(
            {
                "calls": len(timings),
                "median_ms": round(statistics.median(timings), 2),
                "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 2),
                "max_ms": round(timings[-1], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    time.sleep(0)
    main()
