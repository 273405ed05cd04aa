"""Run one or more simulated stations in one process and feed them stdin commands."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from simulator import control
from simulator.station import Simulator

LOGGER = logging.getLogger("simulator")


def station_ids(url: str, count: int) -> list[tuple[str, str]]:
    """(url, charge point id) per station: ``.../ocpp/CP`` with count 3 gives CP-1..CP-3."""
    parts = urlsplit(url)
    base, _, last = parts.path.rstrip("/").rpartition("/")
    if count <= 1:
        return [(url, last)]
    stations = []
    for index in range(1, count + 1):
        cp_id = f"{last}-{index}"
        stations.append((urlunsplit(parts._replace(path=f"{base}/{cp_id}")), cp_id))
    return stations


def build(url: str, count: int, **options: Any) -> list[Simulator]:
    """Simulators for ``count`` stations; serial numbers get a per-station suffix."""
    sims = []
    for index, (station_url, cp_id) in enumerate(station_ids(url, count), start=1):
        station_options = dict(options)
        if count > 1:
            for key in ("serial", "meter_serial"):
                if station_options.get(key):
                    station_options[key] = f"{station_options[key]}-{index}"
        sims.append(Simulator(station_url, cp_id, **station_options))
    return sims


def describe(sim: Simulator) -> str:
    """One line per station: connection, firmware and each connector's status."""
    statuses = ", ".join(
        f"{c.connector_id}:{c.status}{'' if c.error_code == 'NoError' else '/' + c.error_code}"
        + (f" tx={c.transaction.transaction_id}" if c.transaction else "")
        for c in sim.connectors.values()
    )
    online = "online" if sim.online.is_set() else "offline"
    return (
        f"{sim.charge_point_id} {online} fw={sim.firmware_version} queue={len(sim.queue)} "
        f"[{statuses}]"
    )


async def handle_line(line: str, sims: list[Simulator], out: TextIO) -> None:
    """Execute one stdin command; errors are printed, never raised (the station keeps running)."""
    if not line.strip():
        return
    by_id = {sim.charge_point_id: sim for sim in sims}
    try:
        station, action, kwargs = control.parse_line(line, list(by_id))
        targets = [by_id[station]] if station else sims
        if action == "help":
            out.write(control.HELP + "\n")
        elif action == "status":
            for sim in targets:
                out.write(describe(sim) + "\n")
        else:
            for sim in targets:
                await control.perform(sim, action, kwargs)
            out.write("ok" + "\n")
    except (control.CommandError, ValueError) as error:
        out.write(f"error: {error}" + "\n")
    out.flush()


def _lines_from(read_line: Callable[[], str]) -> asyncio.Queue[str]:
    """Read lines in a daemon thread: a blocked stdin read must never keep the process alive
    (an executor thread would, as asyncio.run waits for it at shutdown)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue()

    def pump() -> None:
        while True:
            line = read_line()
            loop.call_soon_threadsafe(queue.put_nowait, line)
            if line == "":
                return

    threading.Thread(target=pump, name="simulator-stdin", daemon=True).start()
    return queue


async def run(
    sims: list[Simulator],
    read_line: Callable[[], str] | None = None,
    out: TextIO = sys.stdout,
    handle_signals: bool = False,
) -> None:
    """Start the stations and serve commands until cancelled; EOF on stdin keeps them running."""
    read_line = read_line or sys.stdin.readline
    if handle_signals:  # SIGTERM (the lab supervisor stopping us) ends like Ctrl-C
        task = asyncio.current_task()
        if task is not None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    for sim in sims:
        await sim.start()
    lines = _lines_from(read_line)
    try:
        while True:
            line = await lines.get()
            if line == "":
                await asyncio.Event().wait()  # no more commands; run until interrupted
            await handle_line(line, sims, out)
    finally:
        for sim in sims:
            await sim.stop()
