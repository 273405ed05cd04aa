"""A Celery task for the call round-trip benchmark (the worker loads it with ``-I bench.tasks``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from asgiref.sync import async_to_sync
from celery import shared_task


@shared_task(name="bench.call_round_trips")
def call_round_trips(charge_point_id: str, count: int, out_path: str) -> None:
    from stations import bus

    async def run() -> list[float]:
        timings = []
        for _ in range(count):
            started = time.perf_counter()
            await bus.call(charge_point_id, "ClearCache", {}, timeout=10)
            timings.append((time.perf_counter() - started) * 1000)
        return timings

    Path(out_path).write_text(json.dumps(async_to_sync(run)()))
