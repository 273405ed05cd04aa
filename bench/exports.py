"""A station's frame log downloaded as CSV (and JSON Lines) from a real daphne: the server's
memory while it streams a million frames.

    python -m bench.exports [--frames 1000000] [--formats csv,jsonl]

Fills one station of the bench database with ``--frames`` frames (bench/history.py's fill, once;
later runs reuse them), starts daphne, logs a QA user in, downloads
``/catalogue/live/<pk>/frames.csv`` reading the body as it comes and samples daphne's resident
memory (RSS) every 0.2 s. Prints rows, bytes, time and daphne's RSS before, at its peak and after:
flat memory means the peak stays within a few MB of the start whatever the number of frames.
"""

from __future__ import annotations

import argparse
import http.client
import threading
import time

from bench import common


def _session_cookie() -> str:
    from django.conf import settings
    from django.test import Client

    from accounts.models import User

    user, _ = User.objects.get_or_create(username="bench-exports", defaults={"role": "qa"})
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class RssSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self.running = pid, [], True

    def run(self) -> None:
        while self.running:
            self.samples.append(common.rss_kb(self.pid))
            time.sleep(0.2)


def download(port: int, path: str, cookie: str, pid: int) -> dict:
    before = common.rss_kb(pid)
    sampler = RssSampler(pid)
    sampler.start()
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse()
    assert response.status == 200, (response.status, response.read(500))
    size = lines = 0
    while chunk := response.read(1 << 16):
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.monotonic() - started
    conn.close()
    time.sleep(0.5)
    sampler.running = False
    sampler.join()
    return {
        "bytes": size,
        "lines": lines,
        "seconds": seconds,
        "rss_before_mb": before / 1024,
        "rss_peak_mb": max(sampler.samples) / 1024,
        "rss_after_mb": common.rss_kb(pid) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,jsonl")
    args = parser.parse_args()
    common.setup_django()
    common.migrate()
    common.flush_redis()
    from django.urls import reverse

    from bench.history import fill
    from tests.processes import free_port, wait_for_port

    (station,) = common.stations(1, f"EXPORT-{args.frames}")
    (warm,) = common.stations(1, "EXPORT-WARM")
    fill([warm], 1000)
    started = time.monotonic()
    if fill([station], args.frames):
        print(f"filled {args.frames} frames in {time.monotonic() - started:.0f} s")
    cookie = _session_cookie()
    port = free_port()
    with common.process(common.daphne_args(port), "exports-daphne") as daphne:
        wait_for_port(port, timeout=120)
        download(port, reverse("stations:frame_export", args=[warm.pk, "csv"]), cookie, daphne.pid)
        for fmt in args.formats.split(","):
            path = reverse("stations:frame_export", args=[station.pk, fmt])
            r = download(port, path, cookie, daphne.pid)
            print(
                f"{fmt}: {r['lines']:,} lines, {r['bytes'] / 1e6:.0f} MB in {r['seconds']:.1f} s "
                f"({r['bytes'] / 1e6 / r['seconds']:.1f} MB/s); daphne RSS "
                f"{r['rss_before_mb']:.0f} MB before, {r['rss_peak_mb']:.0f} MB peak, "
                f"{r['rss_after_mb']:.0f} MB after (peak - before: "
                f"{r['rss_peak_mb'] - r['rss_before_mb']:.0f} MB)"
            )


if __name__ == "__main__":
    main()
