"""A vendor sees a campaign of its own once QA share it or sign it off, and never another
vendor's: one rule (campaigns.selectors.campaigns_for) for the pages, the downloads and exports,
the live websocket, the long-polls and the API."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from api.tokens import token_create
from campaigns import services, vendor
from campaigns.models import Attempt
from tests.campaigns.report_campaign import full_campaign
from tests.certlab.test_cross_tenant import _application, _session_headers
from tests.factories import StationFactory, UserFactory, VendorFactory

pytestmark = pytest.mark.django_db

# Every page and download of one campaign, by what it needs (the PDF and the bundle render
# WeasyPrint: asked for where they must be refused, not where they must answer).
CAMPAIGN_PAGES = ["campaign_detail", "report", "verdicts_json", "verdicts_junit"]
CAMPAIGN_HEAVY = ["report_pdf", "evidence_bundle"]


def _urls(campaign, attempt, heavy: bool = True) -> list[str]:
    names = CAMPAIGN_PAGES + (CAMPAIGN_HEAVY if heavy else [])
    urls = [reverse(f"campaigns:{name}", args=[campaign.pk]) for name in names]
    urls += [reverse("campaigns:campaign_frames", args=[campaign.pk, f]) for f in ("csv", "jsonl")]
    urls += [
        reverse("campaigns:step_detail", args=[campaign.pk, 1]),
        reverse("campaigns:attempt_panel", args=[attempt.pk]),
        reverse("campaigns:attempt_frames", args=[attempt.pk, "csv"]),
        f"/api/v1/campaigns/{campaign.pk}/",
        f"/api/v1/campaigns/{campaign.pk}/steps/1/",
        f"/api/v1/attempts/{attempt.pk}/",
    ]
    return urls


@pytest.fixture
def qa(db):
    return UserFactory(username="qa-share")


@pytest.fixture
def alfa(qa):
    """Vendor A's campaign, fully decided, not shared; and vendor A."""
    user = VendorFactory(username="alfa-vendor", manufacturer__name="Alfa Chargers")
    station = StationFactory(charger_model__manufacturer=user.manufacturer)
    campaign = full_campaign(station=station, owner=qa)
    return user, campaign


@pytest.fixture
def bravo(db):
    return VendorFactory(username="bravo-vendor", manufacturer__name="Bravo Chargers")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api(user) -> APIClient:
    _, token = token_create(user=user, name="script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _status(user, url: str) -> int:
    client = _api(user) if url.startswith("/api/") else _client(user)
    return client.get(url).status_code


def _first_attempt(campaign) -> Attempt:
    return Attempt.objects.filter(plan_item__campaign=campaign).order_by("pk").first()


def test_an_unshared_campaign_is_not_found_by_its_own_vendor_anywhere(alfa, qa):
    user, campaign = alfa
    urls = _urls(campaign, _first_attempt(campaign))
    assert {url: _status(user, url) for url in urls} == {url: 404 for url in urls}
    assert {url: _status(qa, url) for url in urls[:3]} == {url: 200 for url in urls[:3]}
    listing = _client(user).get(reverse("campaigns:campaign_list"))
    assert list(listing.context["page"].object_list) == []
    assert _api(user).get("/api/v1/campaigns/").json()["count"] == 0
    assert _api(user).get("/api/v1/attempts/").json()["count"] == 0


def test_a_shared_campaign_is_its_vendors_and_never_another_vendors(alfa, bravo, qa):
    user, campaign = alfa
    vendor.campaign_share(campaign=campaign, user=qa)
    attempt = _first_attempt(campaign)
    urls = _urls(campaign, attempt, heavy=False)
    assert {url: _status(user, url) for url in urls} == {url: 200 for url in urls}
    every = _urls(campaign, attempt)
    assert {url: _status(bravo, url) for url in every} == {url: 404 for url in every}
    assert _api(user).get("/api/v1/campaigns/").json()["count"] == 1
    assert _api(bravo).get("/api/v1/campaigns/").json()["count"] == 0


def test_unsharing_takes_the_campaign_back(alfa, qa):
    user, campaign = alfa
    vendor.campaign_share(campaign=campaign, user=qa)
    vendor.campaign_unshare(campaign=campaign, user=qa)
    assert _status(user, campaign.get_absolute_url()) == 404


def test_a_signed_off_campaign_is_its_vendors_without_sharing_and_stays_so(alfa, qa):
    user, campaign = alfa
    services.campaign_complete(campaign=campaign)
    assert _status(user, campaign.get_absolute_url()) == 404  # completed is not enough
    services.campaign_sign_off(campaign=campaign, user=qa)
    assert _status(user, campaign.get_absolute_url()) == 200
    with pytest.raises(ValidationError, match="stays visible to its vendor"):
        vendor.campaign_unshare(campaign=campaign, user=qa)
    services.campaign_reopen_signed_off(campaign=campaign, user=qa, reason="appeal")
    assert _status(user, campaign.get_absolute_url()) == 200  # it was theirs: QA may unshare


def test_qa_see_whether_the_vendor_sees_it_and_share_it_from_the_page(alfa, qa):
    user, campaign = alfa
    client = _client(qa)
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "Lab only" in page and "Alfa Chargers does not see this campaign" in page
    assert 'data-confirm="Share with Alfa Chargers?' in page
    response = client.post(reverse("campaigns:campaign_share", args=[campaign.pk]), follow=True)
    page = response.content.decode()
    assert "Shared with Alfa Chargers" in page and "Unshare" in page
    assert _status(user, campaign.get_absolute_url()) == 200
    client.post(reverse("campaigns:campaign_unshare", args=[campaign.pk]))
    assert _status(user, campaign.get_absolute_url()) == 404


def test_a_vendor_cannot_share_or_unshare(alfa, qa):
    user, campaign = alfa
    vendor.campaign_share(campaign=campaign, user=qa)
    client = _client(user)
    for name in ("campaign_share", "campaign_unshare"):
        assert client.post(reverse(f"campaigns:{name}", args=[campaign.pk])).status_code == 403
    campaign.refresh_from_db()
    assert campaign.shared_with_vendor is not None
    assert "Unshare" not in client.get(campaign.get_absolute_url()).content.decode()


def test_the_station_page_and_home_count_only_campaigns_the_vendor_sees(alfa, qa):
    user, campaign = alfa
    station_page = reverse("stations:object_detail", args=["stations", campaign.station.pk])
    client = _client(user)
    assert campaign.get_absolute_url() not in client.get(station_page).content.decode()
    vendor.campaign_share(campaign=campaign, user=qa)
    assert campaign.get_absolute_url() in client.get(station_page).content.decode()


@pytest.mark.django_db(transaction=True)
async def test_the_live_attempt_socket_and_the_station_prompt_wait_follow_the_rule(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from django.utils import timezone

    from campaigns.models import Prompt

    qa = await sync_to_async(UserFactory)(username="qa-live")
    user = await sync_to_async(VendorFactory)(username="alfa-live")
    station = await sync_to_async(StationFactory)(charger_model__manufacturer=user.manufacturer)
    campaign = await sync_to_async(services.campaign_create)(station=station, owner=qa)
    item = await campaign.plan.aget(function__number=3)
    attempt = await Attempt.objects.acreate(plan_item=item, station=station, number=1,
                                            status="running", started=timezone.now())  # fmt: skip
    await Prompt.objects.acreate(attempt=attempt, text="Plug in", choices=["Done"],
                                 deadline=timezone.now())  # fmt: skip
    headers = await sync_to_async(_session_headers)(user)

    async def socket_connects() -> bool:
        comm = WebsocketCommunicator(_application(), f"/ws/attempts/{attempt.pk}/", headers)
        connected, _ = await comm.connect()
        await comm.disconnect()
        return connected

    async def prompt_wait() -> dict:
        path = f"/api/v1/stations/{station.pk}/prompts/next/"
        comm = HttpCommunicator(_application(), "GET", path + "?timeout=0", headers=headers)
        import json

        return json.loads((await comm.get_response(timeout=10))["body"])

    assert not await socket_connects()
    assert (await prompt_wait())["prompt"] is None  # the draft's prompt is the lab's
    await sync_to_async(vendor.campaign_share)(campaign=campaign, user=qa)
    assert await socket_connects()
    assert (await prompt_wait())["prompt"]["text"] == "Plug in"


def test_qa_share_and_unshare_through_the_api(alfa, qa):
    user, campaign = alfa
    api = _api(qa)
    shared = api.post(f"/api/v1/campaigns/{campaign.pk}/share/")
    assert shared.status_code == 200 and shared.json()["shared_with_vendor"]
    assert _status(user, f"/api/v1/campaigns/{campaign.pk}/") == 200
    again = api.post(f"/api/v1/campaigns/{campaign.pk}/share/")
    assert again.status_code == 400 and "Already shared" in str(again.json())
    assert _api(user).post(f"/api/v1/campaigns/{campaign.pk}/unshare/").status_code == 403
    back = api.post(f"/api/v1/campaigns/{campaign.pk}/unshare/")
    assert back.status_code == 200 and back.json()["shared_with_vendor"] is None
    assert _status(user, f"/api/v1/campaigns/{campaign.pk}/") == 404


def test_the_campaign_list_marks_for_qa_what_the_vendor_does_not_see(alfa, qa):
    _, campaign = alfa
    client = _client(qa)
    url = reverse("campaigns:campaign_list")
    assert 'class="muted lab-only"' in client.get(url).content.decode()
    vendor.campaign_share(campaign=campaign, user=qa)
    assert 'class="muted lab-only"' not in client.get(url).content.decode()
