"""Why a connection ended, through a real daphne: what only daphne (autobahn) knows reaches the
connection record (stations.disconnects)."""

from __future__ import annotations

import asyncio
import base64
import os
import time

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings

from stations.models import Connection, EndReason
from tests import processes
from tests.factories import StationFactory
from tests.processes import daphne, free_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _env() -> dict[str, str]:
    return {
        "DATABASE_URL": processes.test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "certlab.settings",
        "CERTLAB_DATA_DIR": os.environ.get("CERTLAB_DATA_DIR", ""),
    }


@pytest.fixture(scope="module")
def quick_ping(django_db_setup, django_db_blocker, tmp_path_factory):
    """A daphne that pings a socket idle for 1 s and drops it 1 s after an unanswered ping."""
    port = free_port()
    log = tmp_path_factory.mktemp("end") / "daphne.log"
    with daphne(
        port, log_path=log, env=_env(), args=["--ping-interval", "1", "--ping-timeout", "1"]
    ) as process:
        wait_for_port(port)
        yield port, process


async def _silent_client(port: int, charge_point_id: str):
    """A station that opens the websocket and then neither reads nor answers anything: the
    network cut daphne's ping is there to notice."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ocpp/{charge_point_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def _ended(station, timeout: float = 30) -> Connection:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = await sync_to_async(
            Connection.objects.filter(station=station, closed__isnull=False).first
        )()
        if connection is not None:
            return connection
        await asyncio.sleep(0.1)
    raise AssertionError("the connection was not closed on its record in time")


async def test_an_unanswered_ping_is_recorded_as_daphnes_ping_timeout(quick_ping):
    port, process = quick_ping
    station = await sync_to_async(StationFactory)()
    _, writer = await _silent_client(port, station.charge_point_id)
    try:
        connection = await _ended(station)
    finally:
        writer.close()
    assert connection.end_reason == EndReason.PING_TIMEOUT, connection.close_reason
    assert connection.close_reason == (
        "ping timeout: the station did not answer daphne's ping (no pong within 1 s)"
    )
    assert "Traceback" not in process.log()


async def test_a_tcp_connection_dropped_without_a_close_frame_is_recorded_as_lost(quick_ping):
    port, process = quick_ping
    station = await sync_to_async(StationFactory)()
    _, writer = await _silent_client(port, station.charge_point_id)
    writer.transport.abort()
    connection = await _ended(station)
    assert (connection.end_reason, connection.close_code) == (EndReason.LOST, 1006)
    assert "Traceback" not in process.log()


async def test_a_station_closing_with_a_code_and_reason_gets_both_on_its_record(quick_ping):
    port, _ = quick_ping
    station = await sync_to_async(StationFactory)()
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/ocpp/{station.charge_point_id}", subprotocols=["ocpp1.6"]
    ) as socket:
        await socket.close(code=4001, reason="rebooting")
    connection = await _ended(station)
    assert (connection.end_reason, connection.close_code) == (EndReason.STATION, 4001)
    assert connection.close_reason == "closed by the station (code 4001: rebooting)"


async def test_daphnes_own_session_limit_is_certlabs_close_not_the_stations(
    django_db_setup, tmp_path
):
    port = free_port()
    with daphne(
        port, log_path=tmp_path / "daphne.log", env=_env(), args=["--websocket_timeout", "2"]
    ):
        wait_for_port(port)
        station = await sync_to_async(StationFactory)()
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/ocpp/{station.charge_point_id}", subprotocols=["ocpp1.6"]
        ) as socket:
            await asyncio.wait_for(socket.wait_closed(), 30)
        connection = await _ended(station)
    assert connection.end_reason == EndReason.CERTLAB, connection.close_reason
    assert "CertLab's web server" in connection.close_reason
