"""A station's frame pages read its own index range, however many newer frames other stations
logged since: PostgreSQL must not walk the primary key backwards through them."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from stations.frame_view import FrameFilter, frame_page, latest_frame_id, replay_after
from stations.models import Frame
from tests.factories import StationFactory

_FILL = """
INSERT INTO stations_frame (station_id, timestamp, direction, message_type, action, unique_id,
                            raw, payload, error, has_error)
SELECT (%(stations)s::bigint[])[1 + n %% cardinality(%(stations)s::bigint[])], now(), 'in', 'CALL',
       CASE WHEN n %% 50 = 0 THEN 'Authorize' ELSE 'Heartbeat' END, 'u' || n,
       '[2,"u","Heartbeat",{}]', '{}', '', n %% 100 = 0
FROM generate_series(1, %(count)s) AS n
"""


@pytest.fixture(scope="module")
def old_station(django_db_setup, django_db_blocker):
    """A station tested a while ago (60,000 frames), then 240,000 frames of 20 others, mixed as
    busy stations' frames are: the shape in which PostgreSQL took the primary key backwards
    for ``station_id = X ORDER BY id DESC`` and filtered its way through all of them.

    Filling and analysing take seconds, so the module's tests share them: inside one transaction
    that is rolled back after the last (each test's own transaction is a savepoint within it)."""
    with django_db_blocker.unblock(), transaction.atomic():
        old, *busy = StationFactory.create_batch(21)
        with connection.cursor() as cursor:
            cursor.execute(_FILL, {"stations": [old.pk], "count": 60_000})
            cursor.execute(_FILL, {"stations": [s.pk for s in busy], "count": 240_000})
            cursor.execute("ANALYZE stations_frame")
        yield old
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def plan(queryset) -> str:
    return queryset.explain()


@pytest.mark.parametrize(
    "flt",
    [FrameFilter(), FrameFilter(action="Authorize"), FrameFilter(errors=True)],
    ids=["all", "action", "errors"],
)
def test_a_page_of_an_old_station_is_an_index_range_scan(old_station, flt):
    page = flt.apply(Frame.objects.of_station(old_station.pk))[:51]
    assert "stations_frame_pkey" not in plan(page), plan(page)
    rows, _ = frame_page(old_station.pk, flt)
    assert rows and all(f.station_id == old_station.pk for f in rows)
    assert [f.pk for f in rows] == sorted((f.pk for f in rows), reverse=True)


def test_the_live_streams_start_and_replay_use_the_station_range(old_station):
    latest = latest_frame_id(old_station.pk)
    assert latest == Frame.objects.filter(station=old_station).order_by("-id")[0].pk
    assert "stations_frame_pkey" not in plan(Frame.objects.of_station(old_station.pk)[:1])
    replayed = replay_after(old_station.pk, FrameFilter(), after=latest - 5)
    assert [f["id"] for f in replayed] == list(range(latest - 4, latest + 1))
