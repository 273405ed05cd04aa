"""Reopening a signed-off campaign: explicit (its own form, the API with a reason), refused
without a reason, audited, and the report's revision raised; the report's appendix lists the
history, long texts whole."""

import contextlib
import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from pypdf import PdfReader
from rest_framework.test import APIClient

from campaigns import audit, services
from campaigns.models import Attempt, AuditEntry, Campaign
from campaigns.sealing import attempt_seal
from tests.campaigns.report_campaign import full_campaign
from tests.campaigns.test_evidence import _bundle, _offline
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(vendor_user, qa_user):
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    campaign = full_campaign(station=station, owner=qa_user)
    for attempt in Attempt.objects.filter(plan_item__campaign=campaign):
        attempt_seal(attempt)  # as the worker does when an attempt ends
    services.campaign_complete(campaign=campaign, user=qa_user)
    services.campaign_sign_off(campaign=campaign, user=qa_user)
    campaign.refresh_from_db()
    return campaign


def reopen(client, campaign, reason):
    url = reverse("campaigns:campaign_reopen_signed_off", args=[campaign.pk])
    return client.post(url, {"reason": reason}, follow=True)


def test_reopen_without_a_reason_is_refused_with_a_message(qa_client, signed):
    for reason in ("", "   "):
        response = reopen(qa_client, signed, reason)
        assert response.status_code == 200
        assert "Say why the signed-off campaign is reopened." in response.content.decode()
    signed.refresh_from_db()
    assert (signed.status, signed.revision) == ("signed_off", 1)
    assert not AuditEntry.objects.filter(campaign=signed, what=audit.REVISION).exists()
    # The plain reopen button of a completed campaign stays refused on a signed-off one.
    plain = qa_client.post(reverse("campaigns:campaign_reopen", args=[signed.pk]), follow=True)
    assert "signed off; it can no longer change" in plain.content.decode()


def test_a_reason_over_the_limit_is_refused_with_a_message(qa_client, qa_user, signed):
    response = reopen(qa_client, signed, "x" * 501)
    assert "Ensure this value has at most 500 characters" in response.content.decode()
    api = APIClient()
    api.force_authenticate(qa_user)
    refused = api.post(f"/api/v1/campaigns/{signed.pk}/reopen/", {"reason": "x" * 501})
    assert refused.status_code == 400 and "reason" in refused.json()
    signed.refresh_from_db()
    assert (signed.status, signed.revision) == ("signed_off", 1)


def test_a_vendor_cannot_reopen(vendor_client, signed):
    assert reopen(vendor_client, signed, "because").status_code == 403


def test_reopen_raises_the_revision_is_audited_and_unfreezes_the_campaign(
    qa_client, qa_user, signed
):
    page = qa_client.get(signed.get_absolute_url()).content.decode()
    assert "Reopen the signed-off campaign" in page
    response = reopen(qa_client, signed, "Step 4 judged on the wrong firmware")
    assert "the report is now revision 2" in response.content.decode()
    signed.refresh_from_db()
    assert (signed.status, signed.revision, signed.signed_off) == ("running", 2, None)
    status, revision = AuditEntry.objects.filter(campaign=signed).order_by("-pk")[:2][::-1]
    assert (status.before, status.after, status.actor) == ("Signed off", "Running", qa_user)
    assert (revision.before, revision.after) == ("1", "2")
    assert status.reason == revision.reason == "Step 4 judged on the wrong firmware"
    # No longer frozen: a verdict can change, and a new sign-off seals it afresh.
    attempt = Attempt.objects.get(plan_item__campaign=signed, plan_item__function__number=4)
    services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="failed",
                                    result_text="Failed on 1.0")  # fmt: skip
    first_digest = signed.evidence_digest
    services.campaign_complete(campaign=signed, user=qa_user)
    services.campaign_sign_off(campaign=signed, user=qa_user)
    signed.refresh_from_db()
    assert signed.evidence_digest != first_digest and signed.revision == 2
    out = io.StringIO()
    call_command("verify_campaign", str(signed.pk), stdout=out)
    assert "verified" in out.getvalue()


def test_the_api_reopens_a_signed_off_campaign_only_with_a_reason(qa_user, signed):
    api = APIClient()
    api.force_authenticate(qa_user)
    url = f"/api/v1/campaigns/{signed.pk}/reopen/"
    refused = api.post(url, {}, format="json")
    assert refused.status_code == 400
    assert "Say why" in str(refused.json())
    done = api.post(url, {"reason": "vendor appeal"}, format="json")
    assert done.status_code == 200 and done.json()["revision"] == 2
    assert Campaign.objects.get(pk=signed.pk).status == "running"
    history = api.get(f"/api/v1/campaigns/{signed.pk}/history/").json()["results"]
    assert history[0]["what"] == audit.REVISION and history[0]["reason"] == "vendor appeal"


def test_the_report_prints_the_revision_and_its_history_appendix_wraps_long_texts(
    qa_client, vendor_client, qa_user, signed
):
    reopen(qa_client, signed, "Vendor appeal on step 4")
    attempt = Attempt.objects.get(plan_item__campaign=signed, plan_item__function__number=4)
    long_text = "Heartbeat-interval-" * 100  # 1,900 characters without a space
    services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="failed",
                                    result_text=long_text, notes="LAB-ONLY-NOTE")  # fmt: skip
    response = vendor_client.get(reverse("campaigns:report_pdf", args=[signed.pk]))
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages]
    squeezed = re.sub(r"\s+", "", "".join(pages))
    head = f"{signed.station.charge_point_id} · campaign #{signed.pk} · report revision 2"
    assert all(head in page for page in pages)
    assert "Reportrevision2" in squeezed
    history = next(i for i, page in enumerate(pages) if "Appendix: history of the report" in page)
    assert "Sign-off" in pages[-1] and history < len(pages) - 1
    # The history as read across its pages, without what every page repeats.
    furniture = "|".join([re.escape(head), "DRAFT — not signed off", r"page \d+ of \d+",
                          "When Who What Before After Reason"])  # fmt: skip
    appendix = re.sub(r"\s+", "", re.sub(furniture, "", "".join(pages[history:-1])))
    assert "VendorappealonStep4".lower() in appendix.lower()
    assert "SignedoffRunning" in appendix and "Step4,1stattempt:Resulttext" in appendix
    assert long_text in appendix  # wrapped over lines, not cut
    assert "LAB-ONLY-NOTE" not in appendix
    html = qa_client.get(reverse("campaigns:report", args=[signed.pk])).content.decode()
    assert 'id="history"' in html and "Vendor appeal on step 4" in html
    assert "LAB-ONLY-NOTE" not in html.split('id="history"')[1]


def _verify(campaign) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.suppress(SystemExit):  # exit code 1: what changed is in the output
        call_command("verify_campaign", str(campaign.pk), stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_re_signed_unchanged_after_a_reopen_the_digest_is_fresh_and_verifies(
    qa_client, qa_user, signed, tmp_path
):
    first = signed.evidence_digest
    services.campaign_reopen_signed_off(campaign=signed, user=qa_user, reason="second look")
    assert ": verified (digest" in _verify(signed)
    services.campaign_complete(campaign=signed, user=qa_user)
    services.campaign_sign_off(campaign=signed, user=qa_user)
    signed.refresh_from_db()
    assert signed.evidence_digest not in ("", first)  # the digest names revision 2
    assert ": verified (digest" in _verify(signed)
    bundle = _bundle(qa_client, signed, tmp_path)
    offline = _offline(bundle, tmp_path)
    assert offline.returncode == 0 and "verified" in offline.stdout, offline.stdout
    # A revision put back by SQL is named.
    Campaign.objects.filter(pk=signed.pk).update(revision=1)
    signed.refresh_from_db()
    assert "report revision: missing" in _verify(signed)
