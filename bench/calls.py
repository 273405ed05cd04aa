"""Central-System call round trip from a Celery task to a station and back, through Redis.

    python -m bench.calls [--count 500]

The station is a minimal websockets client answering every CALL at once, so the figure is
CertLab's (bus, channel layer, consumer, frame log), not a simulator's. The same station is
then called by the bare ``websockets`` + ``ocpp`` Central System from its own process (no
Celery, no Redis: the floor of a call's round trip), and the ratios are printed.
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


async def drive_bare(port: int, cp: str, out) -> list[float]:
    stop = asyncio.Event()
    task = asyncio.create_task(station(f"ws://127.0.0.1:{port}/ocpp/{cp}", stop))
    while not (out.exists() and out.stat().st_size):
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.2)
    stop.set()
    await task
    return json.loads(out.read_text())


def summary(timings: list[float]) -> dict:
    timings = sorted(timings[10:])  # warm-up: connections, schema cache
    return {
        "calls": len(timings),
        "median_ms": round(statistics.median(timings), 2),
        "p99_ms": round(timings[int(len(timings) * 0.99) - 1], 2),
        "max_ms": round(timings[-1], 2),
    }


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
    ours = summary(timings)
    port = free_port()
    out = common.LOGS / "calls-bare.json"
    out.unlink(missing_ok=True)
    bare_args = [sys.executable, "-m", "bench.bare_cs", str(port)]
    with common.process([*bare_args, "--calls", str(args.count), "--out", str(out)], "bare-rtt"):
        wait_for_port(port)
        bare = summary(asyncio.run(drive_bare(port, cp, out)))
    print(
        json.dumps(
            {
                "certlab_from_a_celery_task": ours,
                "bare_from_its_own_process": bare,
                "median_vs_bare": round(ours["median_ms"] / bare["median_ms"], 2),
                "p99_vs_bare": round(ours["p99_ms"] / bare["p99_ms"], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    time.sleep(0)
    main()
