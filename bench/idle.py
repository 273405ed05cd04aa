"""Idle stations held by one daphne process: RSS per connected station, against the bare
``websockets`` + ``ocpp`` Central System.

    python -m bench.idle [--stations 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import websockets

from bench import common


async def hold(port: int, ids: list[str], pid: int) -> tuple[int, int, int]:
    sockets = []
    for cp in ids[:10]:
        sockets.append(
            await websockets.connect(f"ws://127.0.0.1:{port}/ocpp/{cp}", subprotocols=["ocpp1.6"])
        )
    await asyncio.sleep(2)
    before = common.rss_kb(pid)
    sem = asyncio.Semaphore(50)

    async def one(cp: str):
        async with sem:
            sockets.append(
                await websockets.connect(
                    f"ws://127.0.0.1:{port}/ocpp/{cp}",
                    subprotocols=["ocpp1.6"],
                    open_timeout=60,
                    ping_interval=None,
                )
            )

    await asyncio.gather(*(one(cp) for cp in ids[10:]))
    await asyncio.sleep(5)
    after = common.rss_kb(pid)
    held = sum(1 for s in sockets if s.state.name == "OPEN")
    for s in sockets:
        await s.close()
    return before, after, held


def measure(args: list[str], name: str, port: int, ids: list[str], ready=None) -> dict:
    from tests.processes import wait_for_port

    with common.process(args, name) as proc:
        wait_for_port(port)
        before, after, held = asyncio.run(hold(port, ids, proc.pid))
    return {
        "held": held,
        "rss_before_kb": before,
        "rss_after_kb": after,
        "kb_per_station": round((after - before) / max(held - 10, 1), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=5000)
    args = parser.parse_args()
    common.setup_django()
    common.migrate()
    common.flush_redis()
    ids = [s.charge_point_id for s in common.stations(args.stations, "IDLE")]
    from tests.processes import free_port

    port = free_port()
    bare = measure([sys.executable, "-m", "bench.bare_cs", str(port)], "idle-bare", port, ids)
    port = free_port()
    certlab = measure(common.daphne_args(port), "idle-daphne", port, ids)
    print(
        json.dumps(
            {
                "bare": bare,
                "certlab": certlab,
                "ratio": round(certlab["kb_per_station"] / bare["kb_per_station"], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    time.sleep(0)
    main()
