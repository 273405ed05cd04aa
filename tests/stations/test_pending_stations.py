"""A pending station (an unknown id let in by CERTLAB_ALLOW_UNKNOWN_STATIONS): every frame in and
out is logged like a known station's, becomes the Station's history when QA adopt it, goes with
it when QA delete it, and only QA see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from stations import frame_log, services
from stations.models import Connection, Frame, PendingStation, Station
from tests.factories import ChargerModelFactory, StationFactory
from tests.stations.conftest import ChargePoint
from tests.stations.test_ocpp_endpoint import BOOT

CP_ID = "NEWCOMER-7"


@pytest.fixture
def allow_unknown(settings, memory_layer):
    settings.CERTLAB_ALLOW_UNKNOWN_STATIONS = True


async def pending_frames() -> list[Frame]:
    await frame_log.flush()
    return await sync_to_async(list)(
        Frame.objects.filter(pending_station__charge_point_id=CP_ID).order_by("id")
    )


def shape(frames: list[Frame]) -> list[tuple]:
    return [(f.direction, f.message_type, f.action, f.unique_id) for f in frames]


async def close_and_settle(cp: ChargePoint) -> None:
    """Wait for the server to close the socket, then let the consumer finish its disconnect."""
    closed = await cp.comm.receive_output(2)
    assert closed["type"] == "websocket.close"
    await cp.close()
    await frame_log.flush()


async def connect_pending_with_history() -> ChargePoint:
    cp = ChargePoint(CP_ID)
    assert await cp.connect()
    await cp.call("BootNotification", BOOT, unique_id="boot-1")
    await cp.call("Heartbeat", {}, unique_id="hb-1")
    return cp


# --- the endpoint logs a pending station's frames ---------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_every_frame_of_a_pending_station_is_logged_with_its_connection(allow_unknown):
    cp = await connect_pending_with_history()
    refused = await cp.call("Authorize", {"idTag": "TAG-1"}, unique_id="auth-1")
    assert refused[:3] == [4, "auth-1", "SecurityError"]
    await cp.send_raw("hello, central system")  # not JSON, no unique id: logged, not answered
    assert await cp.comm.receive_nothing(0.2)
    await cp.close()

    frames = await pending_frames()
    assert shape(frames) == [
        ("in", "CALL", "BootNotification", "boot-1"),
        ("out", "CALLRESULT", "BootNotification", "boot-1"),
        ("in", "CALL", "Heartbeat", "hb-1"),
        ("out", "CALLRESULT", "Heartbeat", "hb-1"),
        ("in", "CALL", "Authorize", "auth-1"),
        ("out", "CALLERROR", "Authorize", "auth-1"),
        ("in", "invalid", "", ""),
    ]
    boot_in, boot_out, _, _, auth_in, auth_out, garbage = frames
    assert boot_in.payload == BOOT and boot_in.raw.startswith('[2, "boot-1", "BootNotification"')
    assert boot_out.payload["status"] == "Pending" and not boot_out.has_error
    # The refusal's context: the call is marked with why, the answer carries the CALLERROR.
    assert auth_in.has_error and auth_in.error == (
        "SecurityError: Station not adopted by the lab yet"
    )
    assert auth_out.payload["errorCode"] == "SecurityError"
    assert garbage.raw == "hello, central system" and garbage.has_error
    assert garbage.error.startswith("FormationViolation")
    assert all(f.station_id is None for f in frames)
    assert all(f.timestamp is not None for f in frames)

    connection = await sync_to_async(Connection.objects.get)(pending_station__charge_point_id=CP_ID)
    assert {f.connection_id for f in frames} == {connection.pk}
    assert connection.station_id is None and connection.closed is not None
    assert connection.close_reason == "closed by the station (code 1000)"
    assert (connection.end_reason, connection.close_code) == ("station", 1000)


@pytest.mark.django_db(transaction=True)
async def test_a_pending_stations_bad_boot_gets_its_16_error_and_is_logged(allow_unknown):
    cp = ChargePoint(CP_ID)
    assert await cp.connect()
    answer = await cp.call("BootNotification", {"chargePointVendor": "Hakon"}, unique_id="b")
    assert answer[:3] == [4, "b", "OccurenceConstraintViolation"]
    await cp.close()
    boot_in, boot_out = await pending_frames()
    assert boot_in.has_error and boot_in.error.startswith("OccurenceConstraintViolation")
    assert boot_out.message_type == "CALLERROR"
    pending = await sync_to_async(PendingStation.objects.get)(charge_point_id=CP_ID)
    assert pending.boot_payload is None  # a boot that breaks the schema is not taken as one


# --- adoption: the frames become the Station's ----------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_adoption_makes_the_pending_history_the_stations_own(allow_unknown):
    cp = await connect_pending_with_history()
    await cp.close()
    before = await pending_frames()
    model = await sync_to_async(ChargerModelFactory)()
    pending = await sync_to_async(PendingStation.objects.get)(charge_point_id=CP_ID)
    pending_id = pending.pk

    station = await sync_to_async(services.pending_station_adopt)(
        pending=pending, charger_model=model
    )

    assert not await sync_to_async(Frame.objects.filter(pending_station_id=pending_id).exists)()
    adopted = await sync_to_async(list)(Frame.objects.filter(station=station).order_by("id"))
    assert [f.pk for f in adopted] == [f.pk for f in before]  # same rows, same order
    connections = await sync_to_async(list)(Connection.objects.filter(station=station))
    assert len(connections) == 1 and connections[0].pending_station_id is None

    # It is known from its next connection, and the history goes on after its first contact.
    cp = ChargePoint(CP_ID)
    assert await cp.connect()
    answer = await cp.call("BootNotification", BOOT, unique_id="boot-2")
    assert answer[2]["status"] == "Accepted"
    await cp.close()
    await frame_log.flush()
    history = await sync_to_async(list)(Frame.objects.filter(station=station).order_by("id"))
    assert shape(history) == [
        ("in", "CALL", "BootNotification", "boot-1"),
        ("out", "CALLRESULT", "BootNotification", "boot-1"),
        ("in", "CALL", "Heartbeat", "hb-1"),
        ("out", "CALLRESULT", "Heartbeat", "hb-1"),
        ("in", "CALL", "BootNotification", "boot-2"),
        ("out", "CALLRESULT", "BootNotification", "boot-2"),
    ]
    assert await sync_to_async(Connection.objects.filter(station=station).count)() == 2


@pytest.mark.django_db(transaction=True)
async def test_adopting_a_connected_station_closes_it_and_keeps_every_frame(allow_unknown):
    cp = await connect_pending_with_history()
    # Answered, so logged; still in the writer's linger when QA adopt: it must follow too.
    await cp.call("Heartbeat", {}, unique_id="hb-2")
    model = await sync_to_async(ChargerModelFactory)()
    pending = await sync_to_async(PendingStation.objects.get)(charge_point_id=CP_ID)

    station = await sync_to_async(services.pending_station_adopt)(
        pending=pending, charger_model=model
    )
    await close_and_settle(cp)

    history = await sync_to_async(list)(Frame.objects.filter(station=station).order_by("id"))
    assert [f.unique_id for f in history] == ["boot-1", "boot-1", "hb-1", "hb-1", "hb-2", "hb-2"]
    assert not await sync_to_async(Frame.objects.filter(station__isnull=True).exists)()
    connection = await sync_to_async(Connection.objects.get)(station=station)
    assert connection.end_reason == "certlab"
    assert connection.close_reason == "closed by CertLab: adopted by the lab: reconnect"
    assert not await sync_to_async(PendingStation.objects.exists)()


# --- deletion: the frames go with it ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_deleting_a_connected_pending_station_takes_its_frames_and_closes_it(
    allow_unknown,
):
    known = await sync_to_async(StationFactory)()
    cp = await connect_pending_with_history()
    await cp.call("Heartbeat", {}, unique_id="hb-2")
    pending = await sync_to_async(PendingStation.objects.get)(charge_point_id=CP_ID)
    known_frames = await sync_to_async(make_frames)(station=known, count=3)

    await sync_to_async(services.pending_station_delete)(pending=pending)
    await close_and_settle(cp)

    assert not await sync_to_async(Frame.objects.filter(station__isnull=True).exists)()
    assert not await sync_to_async(Connection.objects.filter(station__isnull=True).exists)()
    assert not await sync_to_async(PendingStation.objects.exists)()
    kept = await sync_to_async(list)(Frame.objects.filter(station=known).values_list("pk"))
    assert len(kept) == len(known_frames)


def test_qa_deletes_a_pending_station_with_its_frames_and_connections(qa_client):
    pending = make_pending()
    pending_id = pending.pk
    make_frames(pending=pending, count=5)
    Connection.objects.create(pending_station=pending, opened=datetime.now(UTC))
    other = make_pending("OTHER-1")
    make_frames(pending=other, count=2)

    answer = qa_client.post(reverse("stations:pending_delete", args=[pending.pk]))

    assert answer.status_code == 302
    assert not PendingStation.objects.filter(pk=pending_id).exists()
    assert not Frame.objects.filter(pending_station_id=pending_id).exists()
    assert not Connection.objects.filter(pending_station_id=pending_id).exists()
    assert Frame.objects.filter(pending_station=other).count() == 2


def test_qa_adopts_a_pending_station_from_its_page_with_its_frames(qa_client):
    pending = make_pending()
    frames = make_frames(pending=pending, count=3)
    model = ChargerModelFactory()

    answer = qa_client.post(
        reverse("stations:pending_adopt", args=[pending.pk]), {"charger_model": model.pk}
    )

    station = Station.objects.get(charge_point_id=CP_ID)
    assert answer.status_code == 302 and answer.url == reverse("stations:live", args=[station.pk])
    page = qa_client.get(answer.url).content.decode()
    assert all(f'data-id="{f.pk}"' in page for f in frames)


# --- the QA page ------------------------------------------------------------------------------


def test_qa_pages_a_pending_stations_frames_newest_first(qa_client):
    pending = make_pending()
    frames = make_frames(pending=pending, count=60)
    make_frames(station=StationFactory(), count=5)  # another station's frames stay out
    listing = qa_client.get(reverse("stations:live_list")).content.decode()
    url = reverse("stations:pending_detail", args=[pending.pk])
    assert f'href="{url}"' in listing

    page = qa_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    shown = [f.pk for f in frames if f'data-id="{f.pk}"' in html]
    assert shown == [f.pk for f in frames[10:]]
    assert html.index(f'data-id="{frames[-1].pk}"') < html.index(f'data-id="{frames[-2].pk}"')
    assert f"?before={frames[10].pk}" in html

    older = qa_client.get(url, {"before": frames[10].pk}).content.decode()
    assert [f.pk for f in frames if f'data-id="{f.pk}"' in older] == [f.pk for f in frames[:10]]
    assert "Older frames" not in older


def test_the_pending_page_filters_errors(qa_client):
    pending = make_pending()
    plain = make_frames(pending=pending, count=3)
    bad = make_frames(pending=pending, count=2, error="SecurityError: not adopted")
    html = qa_client.get(
        reverse("stations:pending_detail", args=[pending.pk]), {"errors": "1"}
    ).content.decode()
    assert all(f'data-id="{f.pk}"' in html for f in bad)
    assert not any(f'data-id="{f.pk}"' in html for f in plain)
    assert "SecurityError: not adopted" in html


def test_vendors_never_see_pending_stations(vendor_client):
    pending = make_pending()
    make_frames(pending=pending, count=2)
    url = reverse("stations:pending_detail", args=[pending.pk])
    assert vendor_client.get(url).status_code == 403
    assert CP_ID not in vendor_client.get(reverse("stations:live_list")).content.decode()
    for name in ("pending_adopt", "pending_delete"):
        answer = vendor_client.post(reverse(f"stations:{name}", args=[pending.pk]))
        assert answer.status_code == 403
    assert Frame.objects.filter(pending_station=pending).count() == 2


def test_the_pending_page_needs_a_login(client, db):
    pending = make_pending()
    answer = client.get(reverse("stations:pending_detail", args=[pending.pk]))
    assert answer.status_code == 302 and "login" in answer.url


# --- helpers ----------------------------------------------------------------------------------


def make_pending(charge_point_id: str = CP_ID) -> PendingStation:
    now = datetime.now(UTC)
    return PendingStation.objects.create(
        charge_point_id=charge_point_id, first_seen=now, last_seen=now
    )


def make_frames(*, count: int, station=None, pending=None, error: str = "") -> list[Frame]:
    start = datetime.now(UTC)
    return Frame.objects.bulk_create(
        Frame(
            station=station,
            pending_station=pending,
            timestamp=start + timedelta(milliseconds=i),
            direction="in",
            message_type="CALL",
            action="Heartbeat",
            unique_id=f"u{i}",
            raw=f'[2,"u{i}","Heartbeat",{{}}]',
            payload={},
            error=error,
            has_error=bool(error),
        )
        for i in range(count)
    )
