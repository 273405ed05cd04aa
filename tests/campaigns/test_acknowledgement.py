"""A vendor acknowledges a signed-off report of its own, once; who and when show on the campaign
page, the report and the API."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from campaigns import audit, services
from campaigns.models import Attempt, AuditEntry
from campaigns.sealing import attempt_seal
from campaigns.vendor import campaign_share
from tests.campaigns.report_campaign import full_campaign
from tests.factories import StationFactory, VendorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(vendor_user, qa_user):
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    campaign = full_campaign(station=station, owner=qa_user)
    for attempt in Attempt.objects.filter(plan_item__campaign=campaign):
        attempt_seal(attempt)
    services.campaign_complete(campaign=campaign, user=qa_user)
    return campaign


def _ack(client, campaign):
    return client.post(reverse("campaigns:campaign_acknowledge", args=[campaign.pk]), follow=True)


def _sign(campaign, qa_user):
    services.campaign_sign_off(campaign=campaign, user=qa_user)


def test_the_vendor_acknowledges_its_signed_off_report_once(
    campaign, qa_user, vendor_user, vendor_client, qa_client
):
    _sign(campaign, qa_user)
    page = vendor_client.get(campaign.get_absolute_url()).content.decode()
    assert "Acknowledge the report</button>" in page
    assert "Report acknowledged." in _ack(vendor_client, campaign).content.decode()
    campaign.refresh_from_db()
    assert campaign.vendor_acknowledged_by == vendor_user and campaign.vendor_acknowledged
    first = campaign.vendor_acknowledged
    when = f"{first:%Y-%m-%d}"
    for client in (vendor_client, qa_client):
        page = client.get(campaign.get_absolute_url()).content.decode()
        assert f"Acknowledged</b> by {vendor_user.username}" in page and when in page
        assert "Acknowledge the report</button>" not in page
        report = client.get(reverse("campaigns:report", args=[campaign.pk])).content.decode()
        assert f"Acknowledged by {vendor_user.username} for {vendor_user.manufacturer}" in report
    again = _ack(vendor_client, campaign).content.decode()
    assert "Already acknowledged by" in again
    campaign.refresh_from_db()
    assert campaign.vendor_acknowledged == first
    api = APIClient()
    api.force_authenticate(vendor_user)
    body = api.get(f"/api/v1/campaigns/{campaign.pk}/").json()
    assert body["vendor_acknowledged_by"] == vendor_user.username and body["vendor_acknowledged"]


def test_a_report_not_signed_off_cannot_be_acknowledged(campaign, qa_user, vendor_client):
    campaign_share(campaign=campaign, user=qa_user)
    page = vendor_client.get(campaign.get_absolute_url()).content.decode()
    assert "Acknowledge the report" not in page
    assert "Only a signed-off report" in _ack(vendor_client, campaign).content.decode()
    campaign.refresh_from_db()
    assert campaign.vendor_acknowledged is None


def test_qa_cannot_acknowledge_for_the_vendor(campaign, qa_user, qa_client):
    _sign(campaign, qa_user)
    page = qa_client.get(campaign.get_absolute_url()).content.decode()
    assert "Not acknowledged by" in page and "Acknowledge the report</button>" not in page
    assert "acknowledges its report" in _ack(qa_client, campaign).content.decode()
    campaign.refresh_from_db()
    assert campaign.vendor_acknowledged is None


def test_another_vendor_gets_a_404(campaign, qa_user):
    _sign(campaign, qa_user)
    other = Client()
    other.force_login(VendorFactory(username="other-maker"))
    url = reverse("campaigns:campaign_acknowledge", args=[campaign.pk])
    assert other.post(url).status_code == 404
    campaign.refresh_from_db()
    assert campaign.vendor_acknowledged is None


def test_the_acknowledgement_is_in_the_history_once_and_the_vendor_reads_it(
    campaign, qa_user, vendor_user, vendor_client, qa_client
):
    _sign(campaign, qa_user)
    _ack(qa_client, campaign)  # refused: records nothing
    _ack(vendor_client, campaign)
    _ack(vendor_client, campaign)  # refused the second time
    (entry,) = AuditEntry.objects.filter(campaign=campaign, what=audit.ACKNOWLEDGEMENT)
    assert (entry.before, entry.after) == ("Not acknowledged", "Acknowledged")
    assert entry.actor == vendor_user and not entry.lab_only
    campaign.refresh_from_db()
    assert entry.at >= campaign.vendor_acknowledged
    page = vendor_client.get(reverse("campaigns:campaign_history", args=[campaign.pk]))
    assert "Report acknowledged by the vendor" in page.content.decode()


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_the_vendor_acknowledges_through_the_api_once_with_the_pages_rules(
    campaign, qa_user, vendor_user, qa_client
):
    url = f"/api/v1/campaigns/{campaign.pk}/acknowledge/"
    campaign_share(campaign=campaign, user=qa_user)
    early = _api(vendor_user).post(url)
    assert early.status_code == 400 and "Only a signed-off report" in early.content.decode()
    _sign(campaign, qa_user)
    refused = _api(qa_user).post(url)
    assert refused.status_code == 400 and "acknowledges its report" in refused.content.decode()
    other = VendorFactory(username="other-api-maker")
    assert _api(other).post(url).status_code == 404
    answer = _api(vendor_user).post(url)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["vendor_acknowledged_by"] == vendor_user.username and body["vendor_acknowledged"]
    again = _api(vendor_user).post(url)
    assert again.status_code == 400 and "Already acknowledged" in again.content.decode()
    assert AuditEntry.objects.filter(campaign=campaign, what=audit.ACKNOWLEDGEMENT).count() == 1
    page = qa_client.get(campaign.get_absolute_url()).content.decode()
    assert f"Acknowledged</b> by {vendor_user.username}" in page
    schema = qa_client.get("/api/v1/schema/?format=json").json()
    assert "post" in schema["paths"]["/api/v1/campaigns/{id}/acknowledge/"]


def test_a_reopened_report_needs_a_new_acknowledgement_of_its_new_revision(
    campaign, qa_user, vendor_user, vendor_client
):
    _sign(campaign, qa_user)
    _ack(vendor_client, campaign)
    services.campaign_reopen_signed_off(campaign=campaign, user=qa_user, reason="Step 9 retest")
    campaign.refresh_from_db()
    assert campaign.vendor_acknowledged is None and campaign.vendor_acknowledged_by is None
    cleared = AuditEntry.objects.filter(campaign=campaign, what=audit.ACKNOWLEDGEMENT).first()
    assert (cleared.before, cleared.after) == ("Acknowledged (revision 1)", "Not acknowledged")
    services.campaign_complete(campaign=campaign, user=qa_user)
    _sign(campaign, qa_user)
    report = vendor_client.get(reverse("campaigns:report", args=[campaign.pk])).content.decode()
    assert "Acknowledged by" not in report
    assert "Report acknowledged." in _ack(vendor_client, campaign).content.decode()
    campaign.refresh_from_db()
    assert campaign.vendor_acknowledged_by == vendor_user and campaign.revision == 2
