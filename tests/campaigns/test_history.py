"""The campaign's history page and its API: QA see everything, a vendor their own campaigns'
history without the lab-only entries, another vendor a 404."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns import services
from campaigns.models import Attempt, AttemptStatus
from campaigns.vendor import campaign_share
from tests.factories import StationFactory, VendorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(vendor_user, qa_user):
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    campaign = services.campaign_create(station=station, owner=qa_user)
    item = campaign.plan.get(function__number=3)
    attempt = Attempt.objects.create(
        plan_item=item, station=station, number=1, status=AttemptStatus.FINISHED,
        started=timezone.now(), ended=timezone.now(),
    )  # fmt: skip
    services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="failed",
                                    result_text="No Heartbeat in time",
                                    notes="LAB-ONLY cable was loose")  # fmt: skip
    services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="ok",
                                    result_text="Heartbeat every 60 s",
                                    notes="LAB-ONLY cable was loose")  # fmt: skip
    campaign_share(campaign=campaign, user=qa_user)
    return campaign


def test_qa_see_every_change_newest_first_with_before_and_after(qa_client, campaign):
    url = reverse("campaigns:campaign_history", args=[campaign.pk])
    page = qa_client.get(url).content.decode()
    after = '<td class="text after">'
    assert page.index(after + "Heartbeat every 60 s") < page.index(after + "No Heartbeat in time")
    assert "Step 3, 1st attempt: Verdict" in page and "LAB-ONLY cable was loose" in page
    assert "(lab only)" in page
    detail = qa_client.get(reverse("campaigns:campaign_detail", args=[campaign.pk]))
    assert url in detail.content.decode()


def test_a_vendor_sees_the_history_of_its_campaign_without_lab_only_entries(
    vendor_client, campaign
):
    response = vendor_client.get(reverse("campaigns:campaign_history", args=[campaign.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Heartbeat every 60 s" in page and "No Heartbeat in time" in page
    assert "LAB-ONLY" not in page and "(lab only)" not in page


def test_another_vendor_gets_a_404(campaign):
    other = VendorFactory(username="other-vendor")
    from django.test import Client

    client = Client()
    client.force_login(other)
    assert client.get(reverse("campaigns:campaign_history", args=[campaign.pk])).status_code == 404
    api = APIClient()
    api.force_authenticate(other)
    assert api.get(f"/api/v1/campaigns/{campaign.pk}/history/").status_code == 404


def test_the_history_is_paginated(qa_client, qa_user, campaign):
    attempt = Attempt.objects.get(plan_item__campaign=campaign)
    for n in range(60):
        services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="ok",
                                        result_text=f"text {n}")  # fmt: skip
    url = reverse("campaigns:campaign_history", args=[campaign.pk])
    first = qa_client.get(url).content.decode()
    assert "text 59" in first and "page 1 of 2" in first and "text 0<" not in first
    assert "No Heartbeat in time" in qa_client.get(url + "?page=2").content.decode()


def test_the_api_gives_the_history_with_the_same_rules(qa_user, vendor_user, campaign):
    api = APIClient()
    api.force_authenticate(qa_user)
    body = api.get(f"/api/v1/campaigns/{campaign.pk}/history/").json()
    assert body["count"] == 6
    shared, newest = body["results"][:2]
    assert (shared["what"], shared["actor"], shared["lab_only"]) == (
        "campaign.shared_with_vendor", "qa", False,
    )  # fmt: skip
    assert newest["actor"] == "qa" and newest["step"] == 3
    assert (newest["what"], newest["before"], newest["after"]) == (
        "verdict.result_text", "No Heartbeat in time", "Heartbeat every 60 s",
    )  # fmt: skip
    api.force_authenticate(vendor_user)
    vendor = api.get(f"/api/v1/campaigns/{campaign.pk}/history/").json()
    assert vendor["count"] == 5
    assert not any(e["lab_only"] for e in vendor["results"])
