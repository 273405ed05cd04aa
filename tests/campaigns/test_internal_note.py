"""The verdict form's two texts: the result goes into the report the vendor reads; the internal
note stays in the lab and reaches a vendor through nothing (pages, live panel, report, PDF,
exports, evidence bundle, API, long-poll, history)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader
from rest_framework.test import APIClient

from campaigns import services
from campaigns.models import Attempt
from campaigns.vendor import campaign_share
from tests.campaigns.report_campaign import full_campaign
from tests.certlab.test_cross_tenant import _application, _session_headers
from tests.factories import StationFactory, UserFactory, VendorFactory

pytestmark = pytest.mark.django_db

NOTE = "LABONLY-cable-was-loose"
RESULT = "Heartbeat every 60 s as configured"


@pytest.fixture
def decided(qa_user, vendor_user):
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    campaign = full_campaign(station=station, owner=qa_user)
    attempt = Attempt.objects.get(plan_item__campaign=campaign, plan_item__function__number=3)
    services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="ok",
                                    result_text=RESULT, notes=NOTE)  # fmt: skip
    campaign_share(campaign=campaign, user=qa_user)
    return campaign, attempt


def _text(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    if response["Content-Type"] == "application/pdf":
        return "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    if response["Content-Type"] == "application/zip":
        with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
            return "".join(bundle.read(n).decode("utf-8", "replace") for n in bundle.namelist())
    return response.content.decode()


def _everything(campaign, attempt) -> list[str]:
    pk = campaign.pk
    return [
        campaign.get_absolute_url(),
        reverse("campaigns:step_detail", args=[pk, 3]),
        reverse("campaigns:attempt_panel", args=[attempt.pk]),
        reverse("campaigns:campaign_history", args=[pk]),
        reverse("campaigns:report", args=[pk]),
        reverse("campaigns:report_pdf", args=[pk]),
        reverse("campaigns:evidence_bundle", args=[pk]),
        reverse("campaigns:verdicts_json", args=[pk]),
        reverse("campaigns:verdicts_junit", args=[pk]),
        reverse("campaigns:campaign_frames", args=[pk, "jsonl"]),
        f"/api/v1/campaigns/{pk}/",
        f"/api/v1/campaigns/{pk}/steps/3/",
        f"/api/v1/campaigns/{pk}/history/",
        f"/api/v1/attempts/{attempt.pk}/",
        "/api/v1/attempts/",
    ]


def test_the_internal_note_never_reaches_the_vendor(decided, vendor_user):
    campaign, attempt = decided
    client, api = Client(), APIClient()
    client.force_login(vendor_user)
    api.force_authenticate(vendor_user)
    leaks, results = [], 0
    for url in _everything(campaign, attempt):
        response = (api if url.startswith("/api/") else client).get(url)
        assert response.status_code == 200, url
        text = _text(response)
        if NOTE in text:
            leaks.append(url)
        results += RESULT in text
    assert leaks == []
    assert results >= 8  # the result itself is the vendor's: page, report, PDF, exports, API


def test_qa_read_the_internal_note_labelled_as_such(decided, qa_client, qa_user):
    campaign, attempt = decided
    page = qa_client.get(reverse("campaigns:step_detail", args=[campaign.pk, 3])).content.decode()
    assert NOTE in page and "Internal note" in page and "never shown to the vendor" in page
    api = APIClient()
    api.force_authenticate(qa_user)
    assert api.get(f"/api/v1/attempts/{attempt.pk}/").json()["notes"] == NOTE


def test_the_verdict_form_says_who_reads_each_text(decided, qa_client):
    campaign, _ = decided
    page = qa_client.get(reverse("campaigns:step_detail", args=[campaign.pk, 3])).content.decode()
    assert "Result (in the report — the vendor reads this)" in page
    assert "Internal note (lab only — never shown to the vendor)" in page
    assert "the vendor reads it." in page and "never in the report" in page


def test_a_refused_verdict_keeps_what_was_typed(decided, qa_client):
    _, attempt = decided
    url = reverse("campaigns:attempt_verdict", args=[attempt.pk])
    typed = {"verdict": "ok", "result_text": "", "notes": "typed note, keep me"}
    response = qa_client.post(url, typed)
    assert response.status_code == 400
    page = response.content.decode()
    assert "typed note, keep me" in page and "Verdict not recorded" in page
    attempt.refresh_from_db()
    assert attempt.notes == NOTE and attempt.result_text == RESULT


@pytest.mark.django_db(transaction=True)
async def test_the_long_poll_gives_a_vendor_the_attempt_without_its_note(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    qa = await sync_to_async(UserFactory)(username="qa-note")
    user = await sync_to_async(VendorFactory)(username="vendor-note")
    station = await sync_to_async(StationFactory)(charger_model__manufacturer=user.manufacturer)
    campaign = await sync_to_async(services.campaign_create)(station=station, owner=qa)
    item = await campaign.plan.aget(function__number=3)
    attempt = await Attempt.objects.acreate(plan_item=item, station=station, number=1,
                                            status="finished", final_verdict="ok",
                                            result_text=RESULT, notes=NOTE)  # fmt: skip
    await sync_to_async(campaign_share)(campaign=campaign, user=qa)
    bodies = {}
    for who in (user, qa):
        headers = await sync_to_async(_session_headers)(who)
        path = f"/api/v1/attempts/{attempt.pk}/next/"
        comm = HttpCommunicator(_application(), "GET", path + "?timeout=0", headers=headers)
        bodies[who.username] = json.loads((await comm.get_response(timeout=10))["body"])
    assert bodies["vendor-note"]["attempt"]["notes"] == ""
    assert bodies["vendor-note"]["attempt"]["result_text"] == RESULT
    assert bodies["qa-note"]["attempt"]["notes"] == NOTE
