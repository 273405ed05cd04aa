"""The home page follows the lab live: the socket names the sections that changed, each section
is fetched afresh from its view (the same partial as the page); a burst of events becomes one
message; a vendor hears only of what its selectors let it see (the other vendor's objects:
test_cross_tenant.py), and of its campaign QA take back; the catalogue's tiles follow too."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.events import attempt_changed, run_all_changed
from campaigns.models import Prompt
from campaigns.vendor import campaign_share, campaign_unshare
from certlab.home import SECTIONS
from stations.events import connection_changed
from tests.certlab.test_cross_tenant import _application, _session_headers
from tests.certlab.test_home import running_campaign
from tests.factories import ChargerModelFactory, StationFactory, VendorFactory
from tests.stations.test_catalogue_forms import _station_data

ALL = {"sections": list(SECTIONS)}


@pytest.fixture
def memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


async def _watch(user) -> WebsocketCommunicator:
    headers = await sync_to_async(_session_headers)(user)
    comm = WebsocketCommunicator(_application(), "/ws/home/", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    # What changed between the page and the socket: every section is fetched once.
    assert await comm.receive_json_from(timeout=5) == ALL
    return comm


def _sections(user) -> dict[str, str]:
    """Every section as the live page fetches it for ``user``."""
    client = Client()
    client.force_login(user)
    return {s: client.get(reverse("home_section", args=[s])).content.decode() for s in SECTIONS}


@pytest.mark.django_db(transaction=True)
async def test_a_prompt_opening_refreshes_the_prompts_section_with_it(
    memory_layer, qa_user, mark_online
):
    station = await sync_to_async(StationFactory)(charge_point_id="CP-LIVE-1")
    await sync_to_async(mark_online)(station)
    _, attempt = await sync_to_async(running_campaign)(station, qa_user)
    comm = await _watch(qa_user)
    await sync_to_async(Prompt.objects.create)(
        attempt=attempt, text="Present the tag.", choices=["Done"],
        deadline=timezone.now() + timezone.timedelta(minutes=5),
    )  # fmt: skip
    await attempt_changed(attempt.pk, "prompt")  # as the engine announces it
    assert await comm.receive_json_from(timeout=5) == {"sections": ["prompts"]}
    await attempt_changed(attempt.pk, "check")  # a step's checks do not concern the home page
    assert await comm.receive_nothing(timeout=1)
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_burst_of_events_is_one_message(memory_layer, qa_user, mark_online):
    station = await sync_to_async(StationFactory)()
    _, attempt = await sync_to_async(running_campaign)(station, qa_user)
    comm = await _watch(qa_user)
    for _ in range(30):
        await attempt_changed(attempt.pk, "status")
        await attempt_changed(attempt.pk, "prompt")
        await connection_changed(station.pk, online=True)
    message = await comm.receive_json_from(timeout=5)
    assert message == {"sections": ["prompts", "campaigns", "stations"]}
    assert await comm.receive_nothing(timeout=1)
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_campaign_reopened_or_signed_off_refreshes_campaigns_and_sign_offs(
    memory_layer, qa_user
):
    station = await sync_to_async(StationFactory)()
    campaign = await sync_to_async(services.campaign_create)(station=station, owner=qa_user)
    campaign.status = "completed"
    await sync_to_async(campaign.save)()
    comm = await _watch(qa_user)
    await sync_to_async(services.campaign_reopen)(campaign=campaign, user=qa_user)
    assert await comm.receive_json_from(timeout=5) == {
        "sections": ["campaigns", "sign_offs", "catalogue"]  # the tiles count it running
    }
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_new_campaign_refreshes_the_tiles_of_the_lab_not_of_its_vendor(
    memory_layer, qa_user, vendor_user
):
    station = await sync_to_async(StationFactory)(
        charger_model__manufacturer=vendor_user.manufacturer
    )
    lab, vendor = await _watch(qa_user), await _watch(vendor_user)
    await sync_to_async(services.campaign_create)(station=station, owner=qa_user)
    assert await lab.receive_json_from(timeout=5) == {"sections": ["catalogue"]}
    assert "<b>1</b> campaigns" in (await sync_to_async(_sections)(qa_user))["catalogue"]
    assert await vendor.receive_nothing(timeout=1.5)  # not shared: the lab's business
    await lab.disconnect()
    await vendor.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_campaign_taken_back_leaves_its_vendors_open_home_page(
    memory_layer, qa_user, vendor_user
):
    station = await sync_to_async(StationFactory)(
        charge_point_id="CP-TAKEN-BACK", charger_model__manufacturer=vendor_user.manufacturer
    )
    campaign, _ = await sync_to_async(running_campaign)(station, qa_user, prompt="Tag please.")
    await sync_to_async(campaign_share)(campaign=campaign, user=qa_user)
    shown = await sync_to_async(_sections)(vendor_user)
    assert "Tag please." in shown["prompts"] and "CP-TAKEN-BACK" in shown["campaigns"]
    assert "<b>1</b> campaigns · 1 running" in shown["catalogue"]
    other_vendor = await sync_to_async(VendorFactory)()
    vendor, other, lab = (
        await _watch(vendor_user),
        await _watch(other_vendor),
        await _watch(qa_user),
    )
    await sync_to_async(campaign_unshare)(campaign=campaign, user=qa_user)
    # Its selectors no longer find the campaign, yet the vendor is told: every section again.
    assert await vendor.receive_json_from(timeout=5) == ALL
    shown = await sync_to_async(_sections)(vendor_user)
    assert "Tag please." not in shown["prompts"] and "CP-TAKEN-BACK" not in shown["campaigns"]
    assert "<b>0</b> campaigns" in shown["catalogue"]
    assert await other.receive_nothing(timeout=1.5)  # not its campaign
    assert await lab.receive_nothing(timeout=0.5)  # QA's page shows the same as before
    for comm in (vendor, other, lab):
        await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_vendors_live_campaign_and_attempt_pages_close_when_it_is_taken_back(
    memory_layer, qa_user, vendor_user
):
    station = await sync_to_async(StationFactory)(
        charger_model__manufacturer=vendor_user.manufacturer
    )
    campaign, attempt = await sync_to_async(running_campaign)(station, qa_user)
    await sync_to_async(campaign_share)(campaign=campaign, user=qa_user)
    routes = (f"/ws/campaigns/{campaign.pk}/run-all/", f"/ws/attempts/{attempt.pk}/")
    sockets = []
    for user in (vendor_user, qa_user):
        headers = await sync_to_async(_session_headers)(user)
        for route in routes:
            comm = WebsocketCommunicator(_application(), route, headers=headers)
            connected, _ = await comm.connect()
            assert connected, route
            assert "html" in await comm.receive_json_from(timeout=5)  # the panel as it is
            sockets.append(comm)
    await sync_to_async(campaign_unshare)(campaign=campaign, user=qa_user)
    vendor_sockets, lab_sockets = sockets[:2], sockets[2:]
    for comm in vendor_sockets:  # closed now, not at the attempt's next change
        assert (await comm.receive_output(timeout=5))["type"] == "websocket.close"
    for comm in lab_sockets:
        assert await comm.receive_nothing(timeout=1)
    await attempt_changed(attempt.pk, "prompt")
    await run_all_changed(campaign.pk)
    for comm in lab_sockets:  # QA's panels follow the campaign as before
        assert "html" in await comm.receive_json_from(timeout=5)
    for comm in sockets:
        await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_new_station_refreshes_the_tiles_of_those_who_see_it(
    memory_layer, qa_user, vendor_user
):
    model = await sync_to_async(ChargerModelFactory)(manufacturer=vendor_user.manufacturer)
    assert "<b>0</b> stations" in (await sync_to_async(_sections)(vendor_user))["catalogue"]
    other_vendor = await sync_to_async(VendorFactory)()
    lab, vendor, other = (
        await _watch(qa_user),
        await _watch(vendor_user),
        await _watch(other_vendor),
    )
    client = Client()
    await sync_to_async(client.force_login)(qa_user)
    url = reverse("stations:object_create", args=["stations"])
    response = await sync_to_async(client.post)(url, _station_data(model))
    assert response.status_code == 302  # created through the catalogue page
    for comm in (lab, vendor):
        assert await comm.receive_json_from(timeout=5) == {"sections": ["catalogue"]}
    assert "<b>1</b> stations" in (await sync_to_async(_sections)(vendor_user))["catalogue"]
    assert await other.receive_nothing(timeout=1.5)  # another manufacturer's station
    for comm in (lab, vendor, other):
        await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_station_moved_to_another_manufacturer_refreshes_both_vendors(
    memory_layer, qa_user, vendor_user
):
    station = await sync_to_async(StationFactory)(
        charge_point_id="CP-MOVED", charger_model__manufacturer=vendor_user.manufacturer
    )
    other_vendor = await sync_to_async(VendorFactory)()
    elsewhere = await sync_to_async(ChargerModelFactory)(manufacturer=other_vendor.manufacturer)
    third = await sync_to_async(VendorFactory)()
    was, now, bystander = await _watch(vendor_user), await _watch(other_vendor), await _watch(third)
    client = Client()
    await sync_to_async(client.force_login)(qa_user)
    url = reverse("stations:object_edit", args=["stations", station.pk])
    data = _station_data(elsewhere, charge_point_id="CP-MOVED")
    assert (await sync_to_async(client.post)(url, data)).status_code == 302
    for comm in (was, now):  # its campaigns, prompts and connection went with it
        assert await comm.receive_json_from(timeout=5) == ALL
    assert "<b>0</b> stations" in (await sync_to_async(_sections)(vendor_user))["catalogue"]
    assert "<b>1</b> stations" in (await sync_to_async(_sections)(other_vendor))["catalogue"]
    assert await bystander.receive_nothing(timeout=1.5)
    for comm in (was, now, bystander):
        await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_vendor_hears_of_its_campaign_only_once_shared(
    memory_layer, qa_user, vendor_user, mark_online
):
    station = await sync_to_async(StationFactory)(
        charger_model__manufacturer=vendor_user.manufacturer
    )
    campaign, attempt = await sync_to_async(running_campaign)(station, qa_user, prompt="Lab's.")
    comm = await _watch(vendor_user)
    await attempt_changed(attempt.pk, "prompt")  # not shared: the lab's business
    assert await comm.receive_nothing(timeout=1.5)
    await sync_to_async(campaign_share)(campaign=campaign, user=qa_user)
    assert await comm.receive_json_from(timeout=5) == ALL  # now the vendor's: all of it
    await attempt_changed(attempt.pk, "prompt")
    assert await comm.receive_json_from(timeout=5) == {"sections": ["prompts"]}
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_logged_out_user_hears_nothing_more(memory_layer, qa_user):
    station = await sync_to_async(StationFactory)()
    comm = await _watch(qa_user)
    await sync_to_async(Session.objects.all().delete)()
    await connection_changed(station.pk, online=True)
    assert (await comm.receive_output(timeout=5))["type"] == "websocket.close"
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_an_anonymous_socket_is_refused(memory_layer):
    comm = WebsocketCommunicator(_application(), "/ws/home/", headers=[
        (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")])  # fmt: skip
    connected, _ = await comm.connect()
    assert not connected
    await comm.disconnect()


@pytest.mark.django_db
def test_each_section_renders_what_the_page_shows(qa_client, qa_user, vendor_client, mark_online):
    station = StationFactory(charge_point_id="CP-SECTION")
    mark_online(station)
    campaign, attempt = running_campaign(station, qa_user, prompt="Plug the cable in.", decided=2)
    page = qa_client.get(reverse("home")).content.decode()
    shown = {s: qa_client.get(reverse("home_section", args=[s])) for s in SECTIONS}
    assert all(r.status_code == 200 for r in shown.values())
    assert "Plug the cable in." in shown["prompts"].content.decode()
    assert f"2 of {campaign.plan.count()} decided" in shown["campaigns"].content.decode()
    assert attempt.get_absolute_url() in shown["stations"].content.decode()
    assert "Nothing signed off yet." in shown["sign_offs"].content.decode()
    assert "<b>1</b> campaigns · 1 running" in shown["catalogue"].content.decode()
    for response in shown.values():  # the page is made of the same partials
        assert response.content.decode().strip() in page
    hidden = vendor_client.get(reverse("home_section", args=["prompts"])).content.decode()
    assert "Plug the cable in." not in hidden  # another vendor's: not in its selectors
    assert qa_client.get(reverse("home_section", args=["everything"])).status_code == 404
    qa_client.logout()
    assert qa_client.get(reverse("home_section", args=["prompts"])).status_code == 302
