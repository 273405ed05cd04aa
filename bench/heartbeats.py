"""Station-initiated Heartbeats per second from one daphne process, against the bare baseline.

    python -m bench.heartbeats [--stations 50] [--seconds 10]

Runs, one after the other on the same machine: the bare ``websockets`` + ``ocpp`` Central
System; CertLab saving every frame to PostgreSQL, nobody watching; CertLab with saving off;
CertLab saving with a browser websocket watching every station. Each station sends its next
Heartbeat as soon as the previous one is answered. Prints calls/s, the ratios, and for the
saving runs the frame rows against the frames sent.
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


async def _station(url: str, stop: float, counter: list[int], subprotocols=("ocpp1.6",)):
    async with websockets.connect(url, subprotocols=list(subprotocols), max_queue=None) as ws:
        n = 0
        while time.monotonic() < stop:
            n += 1
            await ws.send(f'[2,"h{n}","Heartbeat",{{}}]')
            await ws.recv()
            counter[0] += 1


async def _browser(url: str, cookie: str, origin: str, stop: float, seen: list[int]):
    async with websockets.connect(
        url, additional_headers={"Cookie": cookie, "Origin": origin}, max_queue=None
    ) as ws:
        await ws.recv()  # ready
        while time.monotonic() < stop + 1:
            try:
                await asyncio.wait_for(ws.recv(), 1)
                seen[0] += 1
            except TimeoutError:
                continue


async def load(
    port: int,
    ids: list[str],
    seconds: float,
    warmup: float = 2.0,
    browsers: list[tuple[str, str, str]] = (),
) -> tuple[float, int]:
    counter = [0]
    seen = [0]
    start = time.monotonic()
    stop = start + warmup + seconds
    watchers = [asyncio.create_task(_browser(u, c, o, stop, seen)) for u, c, o in browsers]
    if watchers:
        await asyncio.sleep(1)
        stop += 1
    tasks = [
        asyncio.create_task(_station(f"ws://127.0.0.1:{port}/ocpp/{cp}", stop, counter))
        for cp in ids
    ]
    await asyncio.sleep(warmup)
    base, t0 = counter[0], time.monotonic()
    await asyncio.gather(*tasks)
    rate = (counter[0] - base) / (time.monotonic() - t0)
    await asyncio.gather(*watchers)
    return rate, counter[0]


def run_bare(port: int, ids: list[str], seconds: float) -> float:
    with common.process([sys.executable, "-m", "bench.bare_cs", str(port)], "bare") as proc:
        proc.wait_for_log("ready")
        rate, _ = asyncio.run(load(port, ids, seconds))
    return rate


def run_certlab(port: int, stations: list, seconds: float, *, save: bool, watch: bool) -> dict:
    from stations.models import Frame
    from tests.processes import wait_for_port

    common.flush_redis()
    ids = [s.charge_point_id for s in stations]
    before = Frame.objects.filter(station__in=stations).count()
    browsers = []
    if watch:
        from django.test import Client

        from accounts.models import User

        user, _ = User.objects.get_or_create(username="bench-qa", defaults={"role": "qa"})
        client = Client()
        client.force_login(user)
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        browsers = [
            (
                f"ws://127.0.0.1:{port}/ws/stations/{s.pk}/frames/",
                cookie,
                f"http://127.0.0.1:{port}",
            )
            for s in stations
        ]
    env = {"CERTLAB_SAVE_FRAMES": "true" if save else "false"}
    with common.process(common.daphne_args(port), f"daphne-{save}-{watch}", env) as proc:
        wait_for_port(port)
        rate, total = asyncio.run(load(port, ids, seconds, browsers=browsers))
        time.sleep(2)  # let the last batch land
        rows = Frame.objects.filter(station__in=stations).count() - before
        rss = common.rss_kb(proc.pid)
    return {"rate": rate, "frames_sent": 2 * total, "rows": rows, "rss_kb": rss}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=1, help="phases repeated, order alternating")
    args = parser.parse_args()
    common.setup_django()
    common.migrate()
    stations = common.stations(args.stations, "HB")
    ids = [s.charge_point_id for s in stations]
    from tests.processes import free_port

    # Phases alternate their order from round to round, so a change of load on this shared
    # machine does not always hit the same phase; the figures are the medians over the rounds.
    phases = {
        "bare": lambda: {"rate": run_bare(free_port(), ids, args.seconds)},
        "saved": lambda: run_certlab(free_port(), stations, args.seconds, save=True, watch=False),
        "unsaved": lambda: run_certlab(
            free_port(), stations, args.seconds, save=False, watch=False
        ),
        "watched": lambda: run_certlab(free_port(), stations, args.seconds, save=True, watch=True),
    }
    runs: dict[str, list[dict]] = {name: [] for name in phases}
    for round_ in range(args.rounds):
        order = list(phases) if round_ % 2 == 0 else list(reversed(phases))
        for name in order:
            runs[name].append(phases[name]())

    def median(name: str) -> float:
        return statistics.median(r["rate"] for r in runs[name])

    bare, saved, unsaved, watched = (median(n) for n in ("bare", "saved", "unsaved", "watched"))
    per_round = [
        round(s["rate"] / u["rate"], 3) for s, u in zip(runs["saved"], runs["unsaved"], strict=True)
    ]
    result = {
        "stations": args.stations,
        "rounds": args.rounds,
        "bare_per_s": round(bare),
        "certlab_saved_per_s": round(saved),
        "certlab_unsaved_per_s": round(unsaved),
        "certlab_watched_per_s": round(watched),
        "saved_vs_bare": round(saved / bare, 3),
        "saved_vs_unsaved": round(saved / unsaved, 3),
        "saved_vs_unsaved_per_round": per_round,
        "watched_vs_bare": round(watched / bare, 3),
        "saved_rows_vs_frames_sent": [f"{r['rows']}/{r['frames_sent']}" for r in runs["saved"]],
        "watched_rows_vs_frames_sent": [f"{r['rows']}/{r['frames_sent']}" for r in runs["watched"]],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
