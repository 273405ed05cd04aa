"""The browser's live frame log: who may watch, and what a watcher sees."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from stations import registry
from stations.routing import browser_urlpatterns
from tests.factories import UserFactory, VendorFactory

pytestmark = pytest.mark.django_db(transaction=True)


def browser(user, station, query: str = "") -> WebsocketCommunicator:
    comm = WebsocketCommunicator(
        URLRouter(browser_urlpatterns), f"/stations/{station.pk}/frames/?{query}"
    )
    comm.scope["user"] = user
    return comm


async def test_qa_sees_each_frame_as_a_rendered_line(cp, station):
    qa = await sync_to_async(UserFactory)()
    comm = browser(qa, station)
    assert (await comm.connect())[0]
    assert json.loads(await comm.receive_from(2)) == {"ready": True, "online": True}
    await cp.call("Heartbeat", {}, unique_id="hb-live")
    line = json.loads(await comm.receive_from(2))
    assert 'class="frame frame-in' in line["html"] and "hb-live" in line["html"]
    answer = json.loads(await comm.receive_from(2))
    assert "CALLRESULT" in answer["html"]
    await comm.disconnect()
    assert await registry.watcher_count(station.charge_point_id) == 0


async def test_filter_on_errors_streams_only_bad_frames(cp, station):
    qa = await sync_to_async(UserFactory)()
    comm = browser(qa, station, "errors=1")
    assert (await comm.connect())[0]
    assert json.loads(await comm.receive_from(2)) == {"ready": True, "online": True}
    await cp.call("Heartbeat", {})
    await cp.send_raw('[2,"bad","Authorize",{}]')
    await cp.receive()
    first = json.loads(await comm.receive_from(2))
    assert "OccurenceConstraintViolation" in first["html"] and "bad" in first["html"]
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
