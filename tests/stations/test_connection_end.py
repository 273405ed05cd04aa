"""Why a connection ended, on its record and on the station page: the station's close (with its
code), a dropped connection, daphne's ping timeout, a new connection, CertLab's own close,
server shutdown."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from stations import bus, frame_log
from stations.disconnects import ending
from stations.models import Connection, EndReason
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def _closed_connection(station) -> Connection:
    await frame_log.flush()
    return await sync_to_async(Connection.objects.get)(station=station)


async def _disconnect(cp, message: dict) -> None:
    """The station's side goes away with ``message`` as daphne would put it."""
    cp.connected = False
    await cp.comm.send_input({"type": "websocket.disconnect", **message})
    await cp.comm.wait(2)


async def test_a_station_closing_with_a_code_is_recorded_with_that_code(cp, station):
    await _disconnect(cp, {"code": 4001, "reason": "rebooting"})
    connection = await _closed_connection(station)
    assert (connection.end_reason, connection.close_code) == (EndReason.STATION, 4001)
    assert connection.close_reason == "closed by the station (code 4001: rebooting)"


async def test_a_connection_dropped_without_a_close_frame_is_lost_not_closed_by_the_station(
    cp, station
):
    await _disconnect(cp, {"code": 1006})
    connection = await _closed_connection(station)
    assert (connection.end_reason, connection.close_code) == (EndReason.LOST, 1006)
    assert "without a closing handshake" in connection.close_reason
    assert "closed by the station" not in connection.close_reason


async def test_daphnes_ping_timeout_is_recorded_as_a_ping_timeout(cp, station):
    # What stations.disconnects' daphne hook adds to the event when the ping went unanswered.
    await _disconnect(
        cp, {"code": 1006, "reason": "no pong within 30 s", "certlab_ended_by": "ping_timeout"}
    )
    connection = await _closed_connection(station)
    assert connection.end_reason == EndReason.PING_TIMEOUT
    assert connection.close_reason == (
        "ping timeout: the station did not answer daphne's ping (no pong within 30 s)"
    )


async def test_a_close_daphne_started_by_itself_is_certlabs_not_the_stations(cp, station):
    await _disconnect(cp, {"code": 1000, "certlab_ended_by": "server"})
    connection = await _closed_connection(station)
    assert connection.end_reason == EndReason.CERTLAB
    assert "CertLab's web server" in connection.close_reason


async def test_closing_from_certlab_keeps_certlabs_reason_over_the_stations_echo(cp, station):
    assert await bus.disconnect(station, "maintenance")
    closed = await cp.comm.receive_output(2)
    assert (closed["type"], closed["code"]) == ("websocket.close", 1000)
    await _disconnect(cp, {"code": 1000})  # the station answers the close frame
    connection = await _closed_connection(station)
    assert connection.end_reason == EndReason.CERTLAB
    assert connection.close_reason == "closed by CertLab: maintenance"


async def test_a_server_shutdown_is_recorded_as_such(cp, station):
    assert await bus.disconnect(station, "server shutdown", end_reason=EndReason.SHUTDOWN)
    await cp.comm.receive_output(2)
    await _disconnect(cp, {"code": 1006})
    connection = await _closed_connection(station)
    assert (connection.end_reason, connection.close_reason) == (
        EndReason.SHUTDOWN,
        "server shutdown",
    )


def test_the_station_page_says_why_each_connection_ended(qa_client):
    from django.utils import timezone

    station = StationFactory()
    now = timezone.now()
    for end_reason, reason in [
        (EndReason.PING_TIMEOUT, "ping timeout: the station did not answer daphne's ping"),
        (EndReason.REPLACED, "replaced by a new connection with the same id"),
    ]:
        Connection.objects.create(
            station=station, opened=now, closed=now, end_reason=end_reason, close_reason=reason
        )
    page = qa_client.get(reverse("stations:live", args=[station.pk])).content.decode()
    assert "ping timeout: the station did not answer daphne&#x27;s ping" in page
    assert "replaced by a new connection</td>" in page


def test_a_long_close_reason_from_the_station_is_cut_on_the_record():
    reason, sentence, code = ending({"code": 4000, "reason": json.dumps(["x" * 500])}, None)
    assert reason == EndReason.STATION and code == 4000 and len(sentence) < 120
