"""End to end: real daphne processes, a real Celery worker, the real Redis, a real OCPP 1.6
charge point (``ocpp`` + ``websockets``) and a browser's websocket.

The station sits on daphne A, the browser watches from daphne B, the call comes from the worker.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result

from stations.models import Command, Frame, StationLive
from stations.tasks import send_command
from tests.factories import StationFactory, UserFactory
from tests.processes import celery_worker, daphne, free_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class Station(ChargePoint):
    @on("Reset")
    def on_reset(self, type):
        return call_result.Reset(status="Accepted")


@pytest.fixture(scope="module")
def lab(django_db_setup, django_db_blocker, tmp_path_factory):
    """Two daphne processes and a worker on the test database and the tests' Redis db."""
    db = settings.DATABASES["default"]
    env = {
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "certlab.settings",
        "CERTLAB_DATA_DIR": os.environ.get("CERTLAB_DATA_DIR", ""),
    }
    logs = tmp_path_factory.mktemp("e2e")
    ports = free_port(), free_port()
    with (
        daphne(ports[0], log_path=logs / "daphne-a.log", env=env),
        daphne(ports[1], log_path=logs / "daphne-b.log", env=env),
        celery_worker(log_path=logs / "worker.log", env=env) as worker,
    ):
        for port in ports:
            wait_for_port(port)
        worker.wait_for_log("ready", timeout=60)
        yield ports


async def _connect(port: int, station, cls=Station):
    socket = await websockets.connect(
        f"ws://127.0.0.1:{port}/ocpp/{station.charge_point_id}", subprotocols=["ocpp1.6"]
    )
    charge_point = cls(station.charge_point_id, socket)
    task = asyncio.create_task(charge_point.start())
    return socket, charge_point, task


async def _wait_for(predicate, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := await sync_to_async(predicate)():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_real_station_boots_and_is_commanded_from_a_worker_while_a_browser_watches(lab):
    port_a, port_b = lab
    station = await sync_to_async(StationFactory)()
    qa = await sync_to_async(UserFactory)()
    client = Client()
    await sync_to_async(client.force_login)(qa)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    socket, charge_point, task = await _connect(port_a, station)
    boot = await charge_point.call(
        call.BootNotification(charge_point_model="HK-AE2", charge_point_vendor="Hakon")
    )
    assert boot.status == "Accepted"
    browser = await websockets.connect(
        f"ws://127.0.0.1:{port_b}/ws/stations/{station.pk}/frames/",
        additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port_b}"},
    )
    assert json.loads(await asyncio.wait_for(browser.recv(), 5)) == {"ready": True, "online": True}

    command = await Command.objects.acreate(
        station=station, action="Reset", payload={"type": "Soft"}
    )
    await sync_to_async(send_command.delay)(command.pk)
    done = await _wait_for(
        lambda: Command.objects.filter(pk=command.pk).exclude(status="queued").first()
    )
    assert (done.status, done.response) == ("result", {"status": "Accepted"})

    lines: list[dict] = []
    while len(lines) < 2:
        lines += json.loads(await asyncio.wait_for(browser.recv(), 5))["frames"]
    assert [(f["action"], f["message_type"], f["direction"]) for f in lines] == [
        ("Reset", "CALL", "out"),
        ("Reset", "CALLRESULT", "in"),
    ]
    await browser.close()

    await socket.close()
    task.cancel()
    frames = await _wait_for(
        lambda: (
            list(Frame.objects.filter(station=station).values_list("action", "direction"))
            if Frame.objects.filter(station=station).count() >= 4
            else None
        )
    )
    assert frames[-4:] == [
        ("Reset", "in"),
        ("Reset", "out"),
        ("BootNotification", "out"),
        ("BootNotification", "in"),
    ]
    live = await StationLive.objects.aget(station=station)
    assert live.charge_point_vendor == "Hakon"


async def test_command_from_a_worker_to_an_offline_station_fails_fast(lab):
    station = await sync_to_async(StationFactory)()
    command = await Command.objects.acreate(station=station, action="ClearCache", payload={})
    await sync_to_async(send_command.delay)(command.pk)
    done = await _wait_for(
        lambda: Command.objects.filter(pk=command.pk).exclude(status="queued").first()
    )
    assert done.status == "offline"
    assert (done.finished - done.created).total_seconds() < 3


async def test_bad_frame_over_a_real_socket_gets_its_error_and_the_connection_lives(lab):
    port_a, _ = lab
    station = await sync_to_async(StationFactory)()
    async with websockets.connect(
        f"ws://127.0.0.1:{port_a}/ocpp/{station.charge_point_id}", subprotocols=["ocpp1.6"]
    ) as socket:
        await socket.send('[2,"x1","Authorize",{"idTag":42}]')
        assert json.loads(await socket.recv())[:3] == [4, "x1", "TypeConstraintViolation"]
        await socket.send('[2,"x2","Heartbeat",{}]')
        assert json.loads(await socket.recv())[:2] == [3, "x2"]


async def test_connection_without_subprotocol_is_refused_by_real_daphne(lab):
    port_a, _ = lab
    station = await sync_to_async(StationFactory)()
    with pytest.raises(websockets.exceptions.InvalidStatus):
        await websockets.connect(f"ws://127.0.0.1:{port_a}/ocpp/{station.charge_point_id}")
