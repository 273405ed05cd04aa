"""The README's distributed commands, followed as written on a machine that has never run
CertLab (a fresh data and static directory): migrate, collect static files, two daphne
processes, two workers, the FTP server. Pages come with their static files, /healthz says so,
and a station on one daphne is commanded from a worker while the pages come from the other."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import websockets
from asgiref.sync import sync_to_async
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result

from stations.models import Command
from stations.tasks import send_command
from tests import processes as test_processes
from tests.factories import StationFactory
from tests.processes import (
    PYTHON,
    ROOT,
    ManagedProcess,
    free_port,
    wait_for_port,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.timeout(1500)]


def readme_commands() -> list[list[str]]:
    """The command block of "Running it distributed", one command a line, comments dropped."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running it distributed", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.DOTALL).group(1)
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def _as_run_here(args: list[str]) -> list[str]:
    """The same command from this checkout's environment (``python``, ``daphne`` and
    ``celery`` of the virtualenv)."""
    program, *rest = args
    if program == "python":
        return [PYTHON, *rest]
    return [PYTHON, "-m", program, *rest]


def _with_option(args: list[str], option: str, value: str) -> list[str]:
    index = args.index(option)
    return [*args[: index + 1], value, *args[index + 2 :]]


def _get(url: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["content-type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["content-type"], error.read().decode()


class Station(ChargePoint):
    @on("ClearCache")
    def on_clear_cache(self):
        return call_result.ClearCache(status="Accepted")


def test_readme_lists_the_commands_this_test_runs():
    programs = [" ".join(args[:3]) for args in readme_commands()]
    assert programs == [
        "python manage.py migrate",
        "python manage.py collectstatic",
        "daphne -b 0.0.0.0",
        "celery -A certlab",
        "python manage.py ftpserver",
    ]


async def test_the_readme_commands_bring_up_a_working_distributed_lab(tmp_path):
    migrate, collect, web, worker, ftp = (_as_run_here(args) for args in readme_commands())
    ftp_port, passive = free_port(), free_port()
    env = {
        "DATABASE_URL": test_processes.test_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "SECRET_KEY": "readme-test-" + "k3y-" * 12,
        "CERTLAB_PUBLIC_HOST": "127.0.0.1",
        "STATIC_ROOT": str(tmp_path / "static"),  # never collected before
        "CERTLAB_DATA_DIR": str(tmp_path / "data"),
        "DJANGO_SETTINGS_MODULE": "certlab.settings",
        "CERTLAB_FTP_PORT": str(ftp_port),
        "CERTLAB_FTP_PASSIVE_PORTS": f"{passive}-{passive}",
        "DEBUG": "false",
    }
    for once in (migrate, collect):
        subprocess.run(once, cwd=ROOT, env={**os.environ, **env}, check=True,
                       stdout=subprocess.DEVNULL, timeout=1200)  # fmt: skip

    ports = free_port(), free_port()
    processes = [
        ManagedProcess(
            _with_option(_with_option(web, "-p", str(port)), "-b", "127.0.0.1"),
            log_path=tmp_path / f"daphne-{n}.log",
            env=env,
        )
        for n, port in enumerate(ports)
    ] + [
        ManagedProcess([*worker, f"--hostname=w{n}@%h"], log_path=tmp_path / f"w{n}.log", env=env)
        for n in range(2)
    ] + [ManagedProcess(ftp, log_path=tmp_path / "ftp.log", env=env)]  # fmt: skip
    try:
        for process in processes:
            process.start()
        for port in (*ports, ftp_port):
            await sync_to_async(wait_for_port)(port, timeout=120)
        await _check_pages(ports[1])
        await _check_station_commanded_from_a_worker(ports[0])
    finally:
        for process in processes:
            process.stop()


async def _check_pages(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    status, _, body = await sync_to_async(_get)(f"{base}/healthz")
    assert status == 200, body
    assert set(json.loads(body)["checks"].values()) == {"ok"}
    status, _, login = await sync_to_async(_get)(f"{base}/accounts/login/")
    assert status == 200
    stylesheet = re.search(r'href="(/static/css/certlab\.[0-9a-f]{12}\.css)"', login)
    assert stylesheet, "the page links no collected (hashed) stylesheet"
    status, content_type, _ = await sync_to_async(_get)(base + stylesheet.group(1))
    assert status == 200 and content_type.startswith("text/css")


async def _check_station_commanded_from_a_worker(port: int) -> None:
    station = await sync_to_async(StationFactory)()
    socket = await websockets.connect(
        f"ws://127.0.0.1:{port}/ocpp/{station.charge_point_id}", subprotocols=["ocpp1.6"]
    )
    charge_point = Station(station.charge_point_id, socket)
    task = asyncio.create_task(charge_point.start())
    try:
        boot = await charge_point.call(
            call.BootNotification(charge_point_model="M", charge_point_vendor="V")
        )
        assert boot.status == "Accepted"
        command = await Command.objects.acreate(station=station, action="ClearCache", payload={})
        await sync_to_async(send_command.delay)(command.pk)
        deadline = time.monotonic() + 180  # the workers may still be starting (no log to watch)
        while (done := await Command.objects.aget(pk=command.pk)).status == "queued":
            assert time.monotonic() < deadline, "the worker never ran the command"
            await asyncio.sleep(0.2)
        assert (done.status, done.response) == ("result", {"status": "Accepted"})
    finally:
        await socket.close()
        task.cancel()
