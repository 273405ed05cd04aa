"""Soak: a thousand light stations on the distributed setup for ten minutes while campaigns run.

    python -m bench.soak [--stations 1000] [--seconds 600] [--warmup 60] [--write]
    python -m bench.soak --quick          # 50 stations, 60 s, fast rates: a short check

Starts what the README's distributed mode runs (two daphne processes, two Celery workers, the
FTP server; tests/faults/distributed.py) against a fresh PostgreSQL database of its own
(``certlab_soak_bench``, dropped at the end) and Redis db 12 (``SOAK_DATABASE_URL``,
``SOAK_REDIS_URL`` override them). First one fast campaign on the simulator with no load (the
reference, which also warms the workers up); then the fleet (bench/soak_fleet.py, one asyncio
thread) connects, half the stations to each daphne, and runs for the warm-up; every CertLab
process's resident memory (with its children) is sampled; for ``--seconds`` fast campaigns run
back to back on a fresh simulator (16 steps through the workers, the station on daphne A); the
memory is sampled again with the fleet still connected; the fleet stops (each station finishes
its call) and the frame log is counted.

Targets (issue 12): rows in the frame log for the fleet's stations equal the frames they sent
("in") and the frames they received ("out"); every campaign's steps end as the reference's (the
compliant simulator's: all finished, proposed Ok); each process's memory at the end within
10 % of after the warm-up. ``--write`` puts the figures in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import threading
import time

from bench import common
from bench.soak_fleet import ID_TAG, Fleet, Rates

DATABASE_URL = os.environ.get(
    "SOAK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/certlab_soak_bench"
)
REDIS_URL = os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/12")
SAMPLE_EVERY = 30.0


class MemorySampler:
    """Every CertLab process's RSS (with its children) now and then, in a thread."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.series: list[tuple[float, dict[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.t0 = time.monotonic()

    def sample(self) -> dict[str, int]:
        values = {name: common.rss_tree_kb(pid) for name, pid in self.pids.items()}
        self.series.append((round(time.monotonic() - self.t0), values))
        return values

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            self.sample()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values) or [0.0]
    at = lambda q: round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1)  # noqa: E731
    return {"p50": at(0.5), "p99": at(0.99), "max": round(ordered[-1], 1)}


def _redis_db_unused() -> None:
    """Refuse a Redis db some other process is connected to: flushing it would wipe another
    engineer's broker queue and station registrations (the machine is shared)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    db = str(client.connection_pool.connection_kwargs.get("db", 0))
    me = str(client.client_id())
    others = [c for c in client.client_list() if str(c["db"]) == db and str(c["id"]) != me]
    if others:
        raise SystemExit(
            f"Redis db {db} has {len(others)} other clients: choose a free one (SOAK_REDIS_URL)"
        )


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} not within {timeout:.0f} s")
        time.sleep(0.5)


def _rows(station_ids: list[int], sent: int, received: int, timeout: float = 180) -> dict:
    """Rows of the fleet's frames, once they reach what was sent (the writer lingers)."""
    from django.db.models import Count

    from stations.models import Frame

    def count() -> dict:
        rows = Frame.objects.filter(station_id__in=station_ids).values("direction")
        return {r["direction"]: r["n"] for r in rows.annotate(n=Count("id"))}

    deadline = time.monotonic() + timeout
    while True:
        counts = count()
        done = counts.get("in", 0) >= sent and counts.get("out", 0) >= received
        if done or time.monotonic() > deadline:
            return {"in": counts.get("in", 0), "out": counts.get("out", 0)}
        time.sleep(1)


def _campaigns_during(setup, station, lab: dict, until: float, estimate: float) -> list:
    """Fast campaigns back to back on a fresh simulator while the soak lasts."""
    from bench.parallel import run_side_by_side

    results = []
    while time.monotonic() + estimate < until or not results:
        [(seconds, steps)] = run_side_by_side(setup.http_port, [station], lab)
        results.append((round(seconds, 1), steps))
        print(f"campaign {len(results)} under load: {seconds:.1f} s", flush=True)
        for number, status, proposed in steps:
            if (status, proposed) != ("finished", "ok"):
                print(f"  step {number} {status} {proposed}: {_why(station, number)}", flush=True)
    return results


def _why(station, number: int) -> str:
    """What the latest attempt of step ``number`` on ``station`` proposed, and its failed
    checks (the database is dropped at the end)."""
    from campaigns.models import Attempt

    attempt = (
        Attempt.objects.filter(plan_item__campaign__station=station,
                               plan_item__function__number=number)
        .order_by("-pk").first()
    )  # fmt: skip
    if attempt is None:
        return "no attempt"
    failed = attempt.checks.exclude(outcome__in=("passed", "not_applicable"))
    details = "; ".join(f"{c.key} {c.outcome}: {c.detail}" for c in failed)
    return f"{attempt.proposed_text} [{details}] ({attempt.ending_reason})"


def run(args: argparse.Namespace) -> dict:
    from django.db import connection

    from bench.parallel import _stations, run_side_by_side
    from stations.models import AuthorizationTag
    from tests.faults.distributed import distributed

    fleet_stations = common.stations(args.stations, "SOAK")
    AuthorizationTag.objects.get_or_create(id_tag=ID_TAG)
    [campaign_station] = _stations(1)
    connection.close()
    env = {**common.ENV, "LOG_LEVEL": "INFO"}
    shutil.rmtree(common.LOGS / "soak", ignore_errors=True)
    result: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with distributed(
        common.LOGS / "soak", env, daphne_args=("--websocket_connect_timeout", "30")
    ) as setup:
        lab = setup.process_env
        pids = {"daphne A": setup.daphnes["a"].pid, "daphne B": setup.daphnes["b"].pid,
                "worker 1": setup.workers["w1"].pid, "worker 2": setup.workers["w2"].pid,
                "FTP server": setup.others[0].pid}  # fmt: skip
        [(alone, reference)] = run_side_by_side(setup.http_port, [campaign_station], lab)
        print(f"reference campaign, no load: {alone:.1f} s", flush=True)

        ports = (setup.http_port, setup.other_port)
        urls = {
            s.charge_point_id: f"ws://127.0.0.1:{ports[i % 2]}/ocpp/{s.charge_point_id}"
            for i, s in enumerate(fleet_stations)
        }
        fleet = Fleet(urls, args.rates)
        stats = fleet.stats
        thread = threading.Thread(target=asyncio.run, args=(fleet.run(),), daemon=True)
        t_connect = time.monotonic()
        thread.start()
        _wait(lambda: stats.booted + len(stats.errors) >= args.stations, 600, "the fleet's boot")
        result["connect_s"] = round(time.monotonic() - t_connect, 1)
        print(f"{stats.booted} stations booted in {result['connect_s']} s", flush=True)
        time.sleep(args.warmup)
        sampler = MemorySampler(pids)
        warm = sampler.sample()
        sent_at_warm, answers_at_warm = stats.sent, len(stats.answer_ms)
        sampler.start()
        load_warm = os.getloadavg()
        started = time.monotonic()
        campaigns = _campaigns_during(
            setup, campaign_station, lab, started + args.seconds, 1.3 * alone
        )
        if (left := started + args.seconds - time.monotonic()) > 0:
            time.sleep(left)
        result["soak_s"] = round(time.monotonic() - started)
        sampler.stop()
        end = sampler.sample()
        load_end = os.getloadavg()
        fleet.stop()
        thread.join(300)
        rows = _rows([s.pk for s in fleet_stations], stats.sent, stats.received)
        logs = {name: p.log() for name, p in {**setup.daphnes, **setup.workers}.items()}
    booting = _percentiles(stats.answer_ms[:answers_at_warm])
    soaking = _percentiles(stats.answer_ms[answers_at_warm:])
    result.update(
        stations=args.stations,
        rates=vars(args.rates),
        booted=stats.booted,
        sent=stats.sent,
        received=stats.received,
        sent_during_soak=stats.sent - sent_at_warm,
        by_action=stats.by_action,
        rows=rows,
        errors=stats.errors[:10],
        error_count=len(stats.errors),
        answer_ms_boot_and_warmup=booting,
        answer_ms_soak=soaking,
        memory_mb={n: [round(warm[n] / 1024), round(end[n] / 1024)] for n in warm},
        memory_ratio={n: round(end[n] / warm[n], 3) for n in warm},
        memory_series=[(t, {n: round(v / 1024) for n, v in s.items()}) for t, s in sampler.series],
        alone_s=round(alone, 1),
        reference=reference,
        campaigns=[(seconds, steps == reference) for seconds, steps in campaigns],
        campaign_differences=[
            [(a, b) for a, b in zip(steps, reference, strict=True) if a != b]
            for _, steps in campaigns
        ],
        reference_all_ok=all(s[1:] == ("finished", "ok") for s in reference),
        tracebacks={name: log.count("Traceback") for name, log in logs.items()},
        load=[round(x, 2) for x in (*load_warm, *load_end)],
    )
    result["ok"] = (
        rows == {"in": stats.sent, "out": stats.received}
        and not stats.errors
        and result["reference_all_ok"]
        and all(same for _, same in result["campaigns"])
        and all(ratio <= 1.10 for ratio in result["memory_ratio"].values())
    )
    return result


def write_doc(result: dict, command: str) -> None:
    mark = lambda ok: "✔" if ok else "✘"  # noqa: E731
    rows, sent, received = result["rows"], result["sent"], result["received"]
    same = sum(1 for _, s in result["campaigns"] if s)
    memory = " · ".join(
        f"{name} {warm} → {end} MB ({result['memory_ratio'][name]:.2f})"
        for name, (warm, end) in result["memory_mb"].items()
    )
    rates = result["rates"]
    soak, boot = result["answer_ms_soak"], result["answer_ms_boot_and_warmup"]
    lines = [
        f"Soak of {result['date']} (`{command}`), 1-minute load average {result['load'][0]} "
        f"after the warm-up and {result['load'][3]} at the end:",
        "",
        "| Figure | Target | Measured |",
        "|---|---|---|",
        f"| Stations, split over the two daphne processes | ≥ 1,000 | {result['booted']:,} booted "
        f"in {result['connect_s']} s; Heartbeat every {rates['heartbeat']:.0f} s ±10 %, a "
        f"session every ~{rates['session_gap']:.0f} s idle (MeterValues every "
        f"{rates['meter_interval']:.0f} s); {result['error_count']} connection errors |",
        f"| Duration after the warm-up | ≥ 600 s | {result['soak_s']} s |",
        f'| Frames the stations sent = rows logged "in" | equal | {sent:,} = {rows["in"]:,} '
        f"{mark(sent == rows['in'])} |",
        f'| Frames the stations received = rows logged "out" | equal | {received:,} = '
        f"{rows['out']:,} {mark(received == rows['out'])} |",
        f"| Campaigns under load (fast mode, 16 steps each) | as with no load: all Ok | "
        f"{same} of {len(result['campaigns'])} as the reference "
        f"{mark(same == len(result['campaigns']) and result['reference_all_ok'])}; "
        f"{' · '.join(str(s) for s, _ in result['campaigns'])} s (no load: "
        f"{result['alone_s']} s) |",
        f"| Resident memory, after warm-up → end (ratio) | ≤ 1.10 | {memory} "
        f"{mark(all(r <= 1.10 for r in result['memory_ratio'].values()))} |",
        f"| A station's call answered (its own clock), p50 / p99 / max | — | during the soak "
        f"{soak['p50']} / {soak['p99']} / {soak['max']} ms; while the fleet booted and warmed "
        f"up {boot['p50']} / {boot['p99']} / {boot['max']} ms |",
        f"| Tracebacks in the processes' logs | 0 | {sum(result['tracebacks'].values())} |",
    ]
    common.write_figures("soak", "Soak (issue 12)", lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--warmup", type=float, default=60)
    parser.add_argument("--heartbeat", type=float, default=60)
    parser.add_argument("--session-gap", type=float, default=240)
    parser.add_argument("--meter-interval", type=float, default=30)
    parser.add_argument("--quick", action="store_true", help="50 stations, 60 s, fast rates")
    parser.add_argument("--write", action="store_true", help="put the figures in the doc")
    args = parser.parse_args()
    if args.quick:
        args.stations, args.seconds, args.warmup = 50, 60, 15
        args.heartbeat, args.session_gap, args.meter_interval = 10, 20, 5
    args.rates = Rates(args.heartbeat, args.session_gap, args.meter_interval)
    common.use(database_url=DATABASE_URL, redis_url=REDIS_URL)
    common.setup_django()
    _redis_db_unused()
    common.migrate()
    common.flush_redis()
    try:
        result = run(args)
    finally:
        with contextlib.suppress(SystemExit):
            _redis_db_unused()
            common.flush_redis()
        common.drop_database()
    series = result.pop("memory_series")
    print(json.dumps(result, indent=2, default=str))
    print("resident memory (MB) every 30 s:")
    for seconds, values in series:
        print(f"  {seconds:4d} s  {values}")
    if args.write:
        write_doc(result, "python -m bench.soak " + " ".join(sys.argv[1:]))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
