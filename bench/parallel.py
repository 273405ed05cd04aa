"""Several stations at once: N simulated stations each run the full 16-step campaign at the same
time through one real Celery worker (the embedded lab's command, its default concurrency),
one daphne and the real FTP server, against a campaign run alone on the same servers.

    python -m bench.parallel [--stations 8]

Target (issue 11): each campaign's wall time within 1.5 x the campaign run alone, and every
step's status and proposed verdict the same as alone. Prints both and the worker's memory.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from contextlib import ExitStack

from bench import common
from bench.campaign import _wait_online

PREFIX = "BENCH-PAR"


def _stations(count: int) -> list:
    """``count`` stations like the demo simulated station (same model, firmware and update),
    each with its own id and serial number, back on the firmware under test."""
    from stations.demo import DEMO_SIMULATED_STATION, DEMO_STATION_PASSWORD, seed_demo
    from stations.models import Station

    seed_demo()
    demo = Station.objects.get(charge_point_id=DEMO_SIMULATED_STATION)
    stations = []
    for i in range(count):
        station, _ = Station.objects.update_or_create(
            charge_point_id=f"{PREFIX}-{i:02d}",
            defaults={
                "charger_model": demo.charger_model,
                "expected_firmware": demo.expected_firmware,
                "serial_number": f"{demo.serial_number}-{i:02d}",
                "iccid": demo.iccid,
                "is_simulator": True,
            },
        )
        station.set_password(DEMO_STATION_PASSWORD)
        station.save(update_fields=["password_hash"])
        stations.append(station)
    return stations


def _simulator(http_port: int, station, state_dir: str) -> list[str]:
    from stations.demo import demo_simulator_arguments

    args = demo_simulator_arguments()
    args[args.index("--state-dir") + 1] = state_dir
    args[args.index("--serial") + 1] = station.serial_number
    url = f"ws://127.0.0.1:{http_port}/ocpp/{station.charge_point_id}"
    return [sys.executable, "manage.py", "simulate", "--fast", "--url", url, *args]


def one_campaign(station) -> tuple[float, list[tuple[int, str, str]]]:
    """The campaign's 16 steps in order on ``station``: its wall time and each step's outcome."""
    from django.db import connection

    from accounts.models import User
    from campaigns import services
    from campaigns.engine.params import LabParameters
    from campaigns.models import Attempt

    try:
        qa = User.objects.get(username="qa")
        campaign = services.campaign_create(
            station=station, owner=qa, parameters=LabParameters.fast()
        )
        steps = []
        started = time.perf_counter()
        for item in campaign.plan.select_related("function"):
            t0 = time.perf_counter()
            attempt = services.attempt_start(plan_item=item, user=qa)
            while (attempt := Attempt.objects.get(pk=attempt.pk)).is_active:
                if time.perf_counter() - t0 > 300:
                    services.attempt_abort(attempt=attempt)
                    raise SystemExit(f"{station}: step {item.function.number} ran over 300 s")
                time.sleep(0.1)
            steps.append((item.function.number, attempt.status, attempt.proposed_verdict))
        return time.perf_counter() - started, steps
    finally:
        connection.close()


def run_side_by_side(http: int, stations: list, lab: dict) -> list[tuple[float, list]]:
    """Fresh simulators (the firmware step leaves a station updated), then one thread each."""
    from stations.models import Station

    demo_firmware = stations[0].expected_firmware
    Station.objects.filter(pk__in=[s.pk for s in stations]).update(expected_firmware=demo_firmware)
    results: list = [None] * len(stations)
    with ExitStack() as stack:
        for station in stations:
            state = stack.enter_context(tempfile.TemporaryDirectory())
            sim = _simulator(http, station, state)
            stack.enter_context(common.process(sim, f"parallel-sim-{station.charge_point_id}", lab))
        for station in stations:
            _wait_online(station.charge_point_id, timeout=120)
        fresh = list(Station.objects.filter(pk__in=[s.pk for s in stations]).order_by("pk"))

        def run(i: int) -> None:
            results[i] = one_campaign(fresh[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fresh))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if None in results:
        raise SystemExit("a campaign did not complete (see above)")
    return results


def _passive_ports(count: int) -> tuple[int, int]:
    """``count`` free consecutive ports: one passive FTP transfer per station at a time."""
    from certlab.run import port_is_free
    from tests.processes import free_port

    for _ in range(50):
        first = free_port()
        if all(port_is_free(p) for p in range(first, first + count)):
            return first, first + count - 1
    raise SystemExit(f"no {count} consecutive free ports for FTP passive transfers")


def _processes(pid: int) -> int:
    """The worker's processes (itself and its children): 1 with the thread pool."""
    import subprocess

    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid), "-p", str(pid)],
                         capture_output=True, text=True, check=False).stdout  # fmt: skip
    return len(out.split())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=8)
    parser.add_argument(
        "--concurrency", type=int, default=0, help="CERTLAB_WORKER_CONCURRENCY (default: settings)"
    )
    args = parser.parse_args()

    common.setup_django()
    common.migrate()
    common.flush_redis()
    from certlab.run import WORKER_ARGS
    from tests.processes import free_port, wait_for_port

    http, ftp = free_port(), free_port()
    low, high = _passive_ports(2 * args.stations)
    lab = {
        "CERTLAB_PUBLIC_HOST": "127.0.0.1",
        "CERTLAB_PUBLIC_HTTP_PORT": str(http),
        "CERTLAB_PUBLIC_FTP_PORT": str(ftp),
        "CERTLAB_FTP_PORT": str(ftp),
        "CERTLAB_FTP_PASSIVE_PORTS": f"{low}-{high}",
    }
    worker_env = {**lab, "LOG_LEVEL": "INFO"}
    if args.concurrency:
        worker_env["CERTLAB_WORKER_CONCURRENCY"] = str(args.concurrency)
    stations = _stations(args.stations)
    py = sys.executable
    with (
        common.process(common.daphne_args(http), "parallel-daphne", lab),
        common.process([py, "manage.py", "ftpserver"], "parallel-ftp", lab),
        common.process(WORKER_ARGS, "parallel-worker", worker_env) as worker,
    ):
        wait_for_port(http, timeout=60)
        wait_for_port(ftp, timeout=60)
        worker.wait_for_log("ready.", timeout=120)
        idle_kb = common.rss_kb(worker.pid)
        [(alone, alone_steps)] = run_side_by_side(http, stations[:1], lab)
        print(f"alone: {alone:.1f} s for 16 steps on {stations[0]}")
        together = run_side_by_side(http, stations, lab)
        busy_kb = common.rss_kb(worker.pid)
        processes = _processes(worker.pid)
    worst = max(total for total, _ in together)
    same = [steps == alone_steps for _, steps in together]
    print(f"{args.stations} side by side (worker concurrency {args.concurrency or 'default'}):")
    for station, (total, steps), ok in zip(stations, together, same, strict=True):
        ratio = total / alone
        print(f"  {station}: {total:5.1f} s = {ratio:.2f} x alone, verdicts the same: {ok}")
        for (number, status, proposed), alone_step in zip(steps, alone_steps, strict=True):
            if (number, status, proposed) != alone_step:
                print(f"    step {number}: {status} {proposed} (alone: {alone_step[1:]})")
    print(
        f"worst {worst:.1f} s = {worst / alone:.2f} x alone (target <= 1.5 x); worker memory "
        f"{idle_kb / 1024:.0f} MB idle, {busy_kb / 1024:.0f} MB after the run, for {processes} "
        f"processes (~{busy_kb / 1024 / processes:.0f} MB each)"
    )
    if any(s[1:] != ("finished", "ok") for s in alone_steps):
        print(f"alone, not every step finished Ok: {alone_steps}")
    return 0 if worst <= 1.5 * alone and all(same) else 1


if __name__ == "__main__":
    sys.exit(main())
