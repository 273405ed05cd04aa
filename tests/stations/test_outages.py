"""Which lost connections are CertLab's doing (stations.outages)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from stations.models import Connection, EndReason
from stations.outages import DIED, SHUT_DOWN, lab_outage_since
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db


def _connection(station, *, opened, closed=None, end_reason=""):
    return Connection.objects.create(
        station=station, opened=opened, closed=closed, end_reason=end_reason
    )


def test_a_connection_ended_by_a_server_shutdown_is_a_lab_outage():
    station, now = StationFactory(), timezone.now()
    _connection(station, opened=now - timedelta(minutes=5), closed=now, end_reason="shutdown")
    outage = lab_outage_since(charge_point_id=station.charge_point_id, since=now - timedelta(1))
    assert outage.at == now
    assert outage.reason.startswith(SHUT_DOWN)


def test_a_connection_the_station_closed_or_lost_is_not():
    station, now = StationFactory(), timezone.now()
    for reason in (EndReason.STATION, EndReason.LOST, EndReason.PING_TIMEOUT):
        _connection(station, opened=now - timedelta(minutes=1), closed=now, end_reason=reason)
    since = now - timedelta(1)
    assert lab_outage_since(charge_point_id=station.charge_point_id, since=since) is None


def test_a_shutdown_before_the_step_started_does_not_count():
    station, now = StationFactory(), timezone.now()
    _connection(station, opened=now - timedelta(hours=2), closed=now - timedelta(hours=1),
                end_reason="shutdown")  # fmt: skip
    assert lab_outage_since(charge_point_id=station.charge_point_id, since=now) is None


def test_a_connection_never_closed_with_a_newer_one_after_it_died_with_its_server():
    station, now = StationFactory(), timezone.now()
    _connection(station, opened=now - timedelta(minutes=2))
    _connection(station, opened=now - timedelta(minutes=1))  # the station came back elsewhere
    outage = lab_outage_since(charge_point_id=station.charge_point_id, since=now - timedelta(1))
    assert outage.reason == DIED
