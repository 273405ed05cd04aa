"""The browser's live frame log: who may watch, and what a watcher sees."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from campaigns.templatetags.campaigns import direction_label
from stations import frame_log, live, registry
from stations.models import ChargerModel, Frame
from stations.routing import browser_urlpatterns
from tests.factories import ManufacturerFactory, UserFactory, VendorFactory
from tests.stations.test_live_pages import make_frames

pytestmark = pytest.mark.django_db(transaction=True)


def browser(user, station, query: str = "") -> WebsocketCommunicator:
    comm = WebsocketCommunicator(
        URLRouter(browser_urlpatterns), f"/stations/{station.pk}/frames/?{query}"
    )
    comm.scope["user"] = user
    return comm


async def test_qa_sees_each_frame_as_a_line(cp, station):
    qa = await sync_to_async(UserFactory)()
    comm = browser(qa, station)
    assert (await comm.connect())[0]
    assert json.loads(await comm.receive_from(2)) == {"ready": True, "online": True}
    await cp.call("Heartbeat", {}, unique_id="hb-live")
    lines = await lines_from(comm, 2)
    assert [(f["direction"], f["message_type"], f["action"]) for f in lines] == [
        ("in", "CALL", "Heartbeat"),
        ("out", "CALLRESULT", "Heartbeat"),
    ]
    assert lines[0]["unique_id"] == "hb-live" and lines[0]["arrow"] == "station → CS"
    assert lines[1]["arrow"] == "CS → station"
    # The step page's evidence says it the same way (a reader once saw "← out" beside "→ CALL").
    assert [direction_label(f["direction"]) for f in lines] == [f["arrow"] for f in lines]
    assert '"currentTime"' in lines[1]["pretty"]
    await comm.disconnect()
    assert await registry.watcher_count(station.charge_point_id) == 0


async def lines_from(comm: WebsocketCommunicator, count: int) -> list[dict]:
    """The next ``count`` streamed lines (they come in batches)."""
    lines: list[dict] = []
    while len(lines) < count:
        lines += json.loads(await comm.receive_from(2))["frames"]
    return lines


async def test_filter_on_errors_streams_only_bad_frames(cp, station):
    qa = await sync_to_async(UserFactory)()
    comm = browser(qa, station, "errors=1")
    assert (await comm.connect())[0]
    assert json.loads(await comm.receive_from(2)) == {"ready": True, "online": True}
    await cp.call("Heartbeat", {})
    await cp.send_raw('[2,"bad","Authorize",{}]')
    await cp.receive()
    (first, *_) = await lines_from(comm, 1)
    assert "OccurenceConstraintViolation" in first["error"] and first["unique_id"] == "bad"
    assert first["is_error"]
    await comm.disconnect()


async def test_vendor_watches_own_station(cp, station):
    vendor = await sync_to_async(VendorFactory)(manufacturer=station.charger_model.manufacturer)
    comm = browser(vendor, station)
    assert (await comm.connect())[0]
    await comm.disconnect()


async def test_vendor_of_another_manufacturer_is_refused(memory_layer, station):
    vendor = await sync_to_async(VendorFactory)()
    comm = browser(vendor, station)
    assert not (await comm.connect())[0]
    assert await registry.watcher_count(station.charge_point_id) == 0


async def frame_ids(station) -> list[int]:
    return await sync_to_async(
        lambda: list(Frame.objects.filter(station=station).values_list("id", flat=True))
    )()


async def test_frames_between_the_page_and_the_stream_are_replayed_once(cp, station):
    await cp.call("Heartbeat", {}, unique_id="before-page")
    await frame_log.flush()
    rendered_up_to = max(await frame_ids(station))  # what the page showed
    await cp.call("Heartbeat", {}, unique_id="after-page")  # logged, perhaps not saved yet
    qa = await sync_to_async(UserFactory)()
    comm = browser(qa, station, f"after={rendered_up_to}")
    assert (await comm.connect())[0]
    replay = json.loads(await comm.receive_from(2))
    assert replay["replay"] and [(f["unique_id"], f["message_type"]) for f in replay["frames"]] == [
        ("after-page", "CALL"),
        ("after-page", "CALLRESULT"),
    ]
    assert all(f["id"] for f in replay["frames"])
    assert json.loads(await comm.receive_from(2)) == {"ready": True, "online": True}
    await cp.call("Heartbeat", {}, unique_id="live")
    assert [f["unique_id"] for f in await lines_from(comm, 2)] == ["live", "live"]
    assert await comm.receive_nothing(0.3)
    await comm.disconnect()


async def test_an_offline_station_page_gets_what_was_saved_since(memory_layer, station):
    await sync_to_async(make_frames)(station, 3)
    first = min(await frame_ids(station))
    qa = await sync_to_async(UserFactory)()
    comm = browser(qa, station, f"after={first}&direction=in")
    assert (await comm.connect())[0]
    replay = json.loads(await comm.receive_from(2))
    assert [f["unique_id"] for f in replay["frames"]] == ["u1", "u2"]
    assert json.loads(await comm.receive_from(2)) == {"ready": True, "online": False}
    await comm.disconnect()


async def test_a_vendor_who_loses_the_station_is_cut_off_before_the_next_frame(
    cp, station, monkeypatch
):
    monkeypatch.setattr(live, "RECHECK_AFTER", 0.05)
    manufacturer = station.charger_model.manufacturer
    vendor = await sync_to_async(VendorFactory)(manufacturer=manufacturer)
    comm = browser(vendor, station)
    assert (await comm.connect())[0]
    assert json.loads(await comm.receive_from(2))["ready"]
    await cp.call("Heartbeat", {}, unique_id="still-mine")
    assert len(await lines_from(comm, 2)) == 2
    other = await sync_to_async(ManufacturerFactory)()
    await sync_to_async(
        lambda: ChargerModel.objects.filter(pk=station.charger_model_id).update(manufacturer=other)
    )()
    await asyncio.sleep(0.3)  # a few background checks
    await cp.call("Heartbeat", {}, unique_id="not-yours")
    assert (await comm.receive_output(2))["type"] == "websocket.close"
    assert await comm.receive_nothing(0.3)  # and no frame after it
    await comm.disconnect()


async def test_frames_of_another_station_on_the_group_are_never_shown(cp, station):
    qa = await sync_to_async(UserFactory)()
    comm = browser(qa, station)
    assert (await comm.connect())[0]
    assert json.loads(await comm.receive_from(2))["ready"]
    stray = {"charge_point_id": "SOMEONE-ELSE", "timestamp": "2026-01-01T00:00:00+00:00"}
    await get_channel_layer().group_send(
        registry.frames_group(station.charge_point_id),
        {"type": "frames.logged", "frames": [stray]},
    )
    assert await comm.receive_nothing(0.3)
    await comm.disconnect()


async def test_a_frame_waits_for_a_fresh_decision_when_the_checks_fall_behind(
    cp, station, monkeypatch
):
    monkeypatch.setattr(live, "RECHECK_AFTER", 3600)  # the background check never comes
    vendor = await sync_to_async(VendorFactory)(manufacturer=station.charger_model.manufacturer)
    comm = browser(vendor, station)
    assert (await comm.connect())[0]
    assert json.loads(await comm.receive_from(2))["ready"]
    other = await sync_to_async(ManufacturerFactory)()
    await sync_to_async(
        lambda: ChargerModel.objects.filter(pk=station.charger_model_id).update(manufacturer=other)
    )()
    for instance in list(frame_log._local.get(station.charge_point_id, ())):
        instance.allowed_until = 0  # the decision has expired
    await cp.call("Heartbeat", {}, unique_id="not-yours")
    assert (await comm.receive_output(2))["type"] == "websocket.close"
    await comm.disconnect()
