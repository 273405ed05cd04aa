"""Fuzz the OCPP endpoint: random and mutated frames of every action and message type
(tests/stations/fuzzing.py, the generator of the hypothesis suite) from a few stations at once
to one daphne, then the figures the suite checks: rows in the frame log against frames sent,
answers that are not valid OCPP-J 1.6, tracebacks in daphne's log, connections lost.

    python -m bench.fuzz --frames 100000 [--stations 8] [--seed 1] [--write]

``--write`` puts the figures in docs/PERFORMANCE.md (between the ``fuzz`` markers).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import sys
import time

import websockets

from bench import common

BATCH = 20


async def _station(url: str, fuzzer, quota: int, stats: dict, cap: int) -> None:
    from tests.stations.fuzzing import answer_problem

    async with websockets.connect(url, subprotocols=["ocpp1.6"], max_size=None) as socket:
        sent = 0
        while sent < quota:
            frames = [fuzzer.frame() for _ in range(min(BATCH, quota - sent))]
            for fuzzed in frames:
                stats["kinds"][fuzzed.kind] += 1
                stats["bytes"] += fuzzed.size
                if fuzzed.kind == "binary":
                    await socket.send(fuzzed.data, text=False)
                elif fuzzed.kind == "bad-utf8":
                    await socket.send(fuzzed.data, text=True)
                else:
                    await socket.send(fuzzed.data)
            sentinel = f"alive-{fuzzer.prefix}{sent}"
            await socket.send(f'[2,"{sentinel}","Heartbeat",{{}}]')
            sent += len(frames) + 1
            stats["sent"] += len(frames) + 1
            while True:
                try:
                    answer = await asyncio.wait_for(socket.recv(), 60)
                except (TimeoutError, websockets.ConnectionClosed) as exc:
                    stats["lost"] += 1
                    stats["lost_how"].append(f"{type(exc).__name__} after {sent} frames")
                    return
                if f'"{sentinel}"' in answer:
                    break
                stats["answers"] += 1
                problem = answer_problem(answer, frames)
                if problem:
                    stats["bad"] += 1
                    stats["bad_examples"].append(f"{problem}: {answer[:160]}")


async def load(port: int, ids: list[str], total: int, seed: int, cap: int) -> dict:
    from tests.stations.fuzzing import FrameFuzzer

    stats = {
        "sent": 0,
        "answers": 0,
        "bad": 0,
        "lost": 0,
        "bytes": 0,
        "kinds": collections.Counter(),
        "bad_examples": [],
        "lost_how": [],
    }
    quota = -(-total // len(ids))
    await asyncio.gather(
        *(
            _station(
                f"ws://127.0.0.1:{port}/ocpp/{cp}",
                FrameFuzzer(random.Random(seed * 1000 + i), cap=cap, prefix=f"s{i}-"),
                quota,
                stats,
                cap,
            )
            for i, cp in enumerate(ids)
        )
    )
    return stats


def _rows(stations, expected: int, timeout: float = 120) -> int:
    from stations.models import Frame

    deadline = time.monotonic() + timeout
    while True:
        rows = Frame.objects.filter(station__in=stations, direction="in").count()
        if rows >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def write_doc(result: dict) -> None:
    kinds = result["kinds"]
    lines = [
        f"Fuzz run of {result['date']} (`python -m bench.fuzz --frames {result['asked']} "
        f"--stations {result['stations']} --seed {result['seed']}`):",
        "",
        "| Figure | Target | Measured |",
        "|---|---|---|",
        f"| Frames sent (text / not UTF-8 / binary) | ≥ 100,000 | {result['sent']:,} "
        f"({kinds.get('text', 0):,} / {kinds.get('bad-utf8', 0):,} / "
        f"{kinds.get('binary', 0):,}), {result['mb']} MB in {result['seconds']} s "
        f"({result['per_s']:,} frames/s, machine load {result.get('load', '?')}) |",
        f"| Rows in the frame log (incoming) | = frames sent | {result['rows']:,} "
        f"{'✔' if result['rows'] == result['sent'] else '✘'} |",
        f"| Answers not valid OCPP-J 1.6 (of {result['answers']:,} answers) | 0 | "
        f"{result['bad']} {'✔' if not result['bad'] else '✘'} |",
        f"| Tracebacks in daphne's log | 0 | {result['tracebacks']} "
        f"{'✔' if not result['tracebacks'] else '✘'} |",
        f"| Connections lost | 0 | {result['lost']} {'✔' if not result['lost'] else '✘'} |",
    ]
    common.write_figures("fuzz", "Fuzzing the endpoint", lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--stations", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write", action="store_true", help="put the figures in the doc")
    args = parser.parse_args()
    common.setup_django()
    common.migrate()
    from django.conf import settings

    from stations.models import Frame
    from tests.processes import free_port, wait_for_port

    stations = common.stations(args.stations, "FUZZ")
    Frame.objects.filter(station__in=stations).delete()
    common.flush_redis()
    cap = settings.CERTLAB_OCPP_MAX_FRAME_BYTES
    port = free_port()
    with common.process(common.daphne_args(port), "daphne-fuzz", {"LOG_LEVEL": "INFO"}) as proc:
        wait_for_port(port)
        t0 = time.monotonic()
        stats = asyncio.run(
            load(port, [s.charge_point_id for s in stations], args.frames, args.seed, cap)
        )
        seconds = time.monotonic() - t0
        rows = _rows(stations, stats["sent"])
        log = proc.log()
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "asked": args.frames,
        "stations": args.stations,
        "seed": args.seed,
        "sent": stats["sent"],
        "kinds": dict(stats["kinds"]),
        "mb": round(stats["bytes"] / 1e6, 1),
        "seconds": round(seconds),
        "per_s": round(stats["sent"] / seconds),
        "rows": rows,
        "answers": stats["answers"],
        "bad": stats["bad"],
        "bad_examples": stats["bad_examples"][:10],
        "tracebacks": log.count("Traceback"),
        "lost": stats["lost"],
        "lost_how": stats["lost_how"][:10],
        "load": round(os.getloadavg()[0], 1),
    }
    if result["tracebacks"]:
        at = log.index("Traceback")
        result["first_traceback"] = log[max(0, at - 300) : at + 3000]
    print(json.dumps(result, indent=2))
    if args.write:
        write_doc(result)
    sys.exit(0 if rows == stats["sent"] and not (stats["bad"] or stats["lost"]) else 1)


if __name__ == "__main__":
    main()
