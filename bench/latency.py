"""Frame arrival to the watching browser's websocket, with stations heartbeating at a steady pace.

    python -m bench.latency [--stations 200] [--interval 5] [--seconds 30]

Every station is watched by a browser websocket (a logged-in QA session through daphne, as the
live page connects). Once all stations and browsers are connected (connecting 200 of each is
not the steady state measured here), each station sends a Heartbeat every ``interval`` seconds,
starting at a random phase; the time from sending it to its line reaching the browser is the
latency (one process measures both ends on one clock). Prints the percentiles, the heartbeats
that never reached the browser (must be 0), and, as the bare baseline of the same run, the
Heartbeat round trip of the bare ``websockets`` + ``ocpp`` Central System under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time

import websockets

from bench import common


async def _station(
    url: str, interval: float, go: asyncio.Event, stop: list[float], sent: dict, answered: dict
) -> None:
    async with _connecting:
        ws = await websockets.connect(
            url, subprotocols=["ocpp1.6"], ping_interval=None, open_timeout=60
        )
    async with ws:
        await go.wait()  # steady state: every station connected before the first Heartbeat
        await asyncio.sleep(random.uniform(0, interval))
        n = 0
        while time.monotonic() < stop[0]:
            n += 1
            uid = f"{url.rsplit('/', 1)[-1]}-{n}"
            sent[uid] = time.monotonic()
            await ws.send(f'[2,"{uid}","Heartbeat",{{}}]')
            await ws.recv()
            answered[uid] = time.monotonic()
            await asyncio.sleep(interval)


async def _browser(url: str, cookie: str, origin: str, stop: list[float], seen: dict) -> None:
    async with _connecting:
        ws = await websockets.connect(
            url,
            additional_headers={"Cookie": cookie, "Origin": origin},
            ping_interval=None,
            open_timeout=60,
        )
    async with ws:
        while time.monotonic() < stop[0]:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 1))
            except TimeoutError:
                continue
            now = time.monotonic()
            for line in message.get("frames", ()):
                if line["direction"] == "in" and line["message_type"] == "CALL":
                    seen.setdefault(line["unique_id"], now)


_connecting: asyncio.Semaphore


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    values = sorted(values)
    pick = lambda q: values[min(len(values) - 1, int(len(values) * q))]  # noqa: E731
    return {
        "count": len(values),
        "p50_ms": round(pick(0.50) * 1000, 1),
        "p99_ms": round(pick(0.99) * 1000, 1),
        "max_ms": round(values[-1] * 1000, 1),
    }


async def _run(stations: list[str], port: int, interval: float, seconds: float, browsers=()):
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    seen: dict[str, float] = {}
    global _connecting
    _connecting = asyncio.Semaphore(25)  # within the servers' listen backlogs
    go = asyncio.Event()
    stop = [time.monotonic() + 3600]
    browsers_stop = [time.monotonic() + 3600]
    watchers = [asyncio.create_task(_browser(*b, browsers_stop, seen)) for b in browsers]
    tasks = [
        asyncio.create_task(
            _station(f"ws://127.0.0.1:{port}/ocpp/{cp}", interval, go, stop, sent, answered)
        )
        for cp in stations
    ]
    await asyncio.sleep(min(30, 3 + len(stations) / 20))  # stations and browsers connect
    stop[0] = time.monotonic() + seconds
    browsers_stop[0] = stop[0] + 2
    go.set()
    await asyncio.gather(*tasks)
    await asyncio.gather(*watchers)
    return sent, answered, seen


def run_bare(port: int, ids: list[str], interval: float, seconds: float) -> dict:
    with common.process([sys.executable, "-m", "bench.bare_cs", str(port)], "latency-bare") as p:
        p.wait_for_log("ready")
        sent, answered, _ = asyncio.run(_run(ids, port, interval, seconds))
    return _percentiles([answered[u] - sent[u] for u in answered])


def run_certlab(port: int, stations: list, interval: float, seconds: float) -> dict:
    from django.test import Client

    from accounts.models import User
    from tests.processes import wait_for_port

    common.flush_redis()
    user, _ = User.objects.get_or_create(username="bench-qa", defaults={"role": "qa"})
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    origin = f"http://127.0.0.1:{port}"
    browsers = [
        (f"ws://127.0.0.1:{port}/ws/stations/{s.pk}/frames/", cookie, origin) for s in stations
    ]
    ids = [s.charge_point_id for s in stations]
    with common.process(common.daphne_args(port), "latency-daphne"):
        wait_for_port(port)
        sent, answered, seen = asyncio.run(_run(ids, port, interval, seconds, browsers))
    result = _percentiles([seen[u] - sent[u] for u in seen if u in sent])
    result["heartbeats_sent"] = len(sent)
    result["never_reached_browser"] = len(set(sent) - set(seen))
    result["answer_rtt"] = _percentiles([answered[u] - sent[u] for u in answered])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--interval", type=float, default=5)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    common.setup_django()
    common.migrate()
    stations = common.stations(args.stations, "LAT")
    from tests.processes import free_port

    bare = run_bare(free_port(), [s.charge_point_id for s in stations], args.interval, args.seconds)
    certlab = run_certlab(free_port(), stations, args.interval, args.seconds)
    print(
        json.dumps(
            {
                "stations": args.stations,
                "interval_s": args.interval,
                "bare_heartbeat_rtt": bare,
                "certlab_frame_to_browser": certlab,
                "p99_vs_bare_rtt_p99": round(certlab.get("p99_ms", 0) / max(bare["p99_ms"], 0.1), 1)
                if certlab.get("count") and bare.get("count")
                else None,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
