"""The audit trail: every change to what a report says is recorded by the services with who,
when, before and after (and why), once, and only when something changed."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns import audit, services
from campaigns.models import Attempt, AttemptStatus, AuditEntry
from stations.models import StationLive
from tests.factories import FirmwareVersionFactory, StationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(vendor_user, qa_user):
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    return services.campaign_create(station=station, owner=qa_user)


def ended(campaign, number):
    item = campaign.plan.get(function__number=number)
    return Attempt.objects.create(
        plan_item=item, station=campaign.station, status=AttemptStatus.FINISHED,
        number=item.attempts.count() + 1, started=timezone.now(), ended=timezone.now(),
        proposed_verdict="ok",
    )  # fmt: skip


def entries(campaign, what=None):
    found = AuditEntry.objects.filter(campaign=campaign).order_by("pk")
    return list(found.filter(what=what) if what else found)


def test_a_first_verdict_records_verdict_result_and_note_with_who_and_when(campaign, qa_user):
    attempt = ended(campaign, 3)
    before = timezone.now()
    services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="failed",
                                    result_text="No Heartbeat", notes="cable loose")  # fmt: skip
    verdict, result, note = entries(campaign)
    assert (verdict.what, verdict.before, verdict.after) == (audit.VERDICT, "", "Failed")
    assert (result.field, result.before, result.after) == ("Result text", "", "No Heartbeat")
    assert (note.after, note.lab_only) == ("cable loose", True)
    for entry in (verdict, result, note):
        assert entry.actor == qa_user and entry.actor_label == "qa"
        assert entry.attempt == attempt and entry.step == 3
        assert before <= entry.at <= timezone.now()
    assert not verdict.lab_only and not result.lab_only


def test_a_changed_verdict_records_only_what_changed(campaign, qa_user):
    attempt = ended(campaign, 3)
    services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="failed",
                                    result_text="No Heartbeat")  # fmt: skip
    other = UserFactory(username="lead", first_name="Lea", last_name="Lead")
    services.attempt_record_verdict(attempt=attempt, user=other, verdict="ok",
                                    result_text="No Heartbeat")  # fmt: skip
    changed = entries(campaign)[2:]
    assert [(e.what, e.before, e.after, e.actor_label) for e in changed] == [
        (audit.VERDICT, "Failed", "Ok", "Lea Lead")
    ]


def test_the_same_verdict_again_records_nothing(campaign, qa_user):
    attempt = ended(campaign, 3)
    for _ in range(2):
        services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="ok",
                                        result_text="Ok", notes="n")  # fmt: skip
    assert len(entries(campaign)) == 3


def test_a_refused_verdict_records_nothing(campaign, qa_user):
    attempt = ended(campaign, 3)
    with pytest.raises(Exception, match="result text"):
        services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="ok",
                                        result_text="  ")  # fmt: skip
    assert entries(campaign) == []


def test_applicability_and_its_reason_are_recorded(campaign, qa_user):
    item = campaign.plan.get(function__number=15)
    services.plan_item_set_applicability(plan_item=item, applicability="not_applicable",
                                         reason="No local cache", user=qa_user)  # fmt: skip
    services.plan_item_set_applicability(plan_item=item, applicability="not_applicable",
                                         reason="No local cache", user=qa_user)  # fmt: skip
    services.plan_item_set_applicability(plan_item=item, applicability="not_applicable",
                                         reason="No cache at all", user=qa_user)  # fmt: skip
    services.plan_item_set_applicability(plan_item=item, applicability="planned", reason="",
                                         user=qa_user)  # fmt: skip
    found = [(e.what, e.before, e.after, e.reason, e.step) for e in entries(campaign)]
    assert found == [
        (audit.APPLICABILITY, "Planned", "Not applicable", "No local cache", 15),
        (audit.PLAN_REASON, "No local cache", "No cache at all", "", 15),
        (audit.APPLICABILITY, "Not applicable", "Planned", "", 15),
    ]


def test_reapplying_the_station_declaration_is_recorded_with_the_reason(campaign, qa_user):
    station = campaign.station
    station.has_fault_injection = False
    station.save()
    changed = services.campaign_apply_declaration(campaign=campaign, user=qa_user)
    found = entries(campaign, audit.APPLICABILITY)
    assert changed and len(found) == len(changed)
    assert all(e.after == "Not applicable" and e.reason and e.actor == qa_user for e in found)
    assert services.campaign_apply_declaration(campaign=campaign, user=qa_user) == []
    assert len(entries(campaign, audit.APPLICABILITY)) == len(changed)


def test_complete_reopen_and_sign_off_are_recorded(campaign, qa_user):
    for number in range(1, 17):
        attempt = ended(campaign, number)
        services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="ok",
                                        result_text="Ok")  # fmt: skip
    services.campaign_complete(campaign=campaign, user=qa_user)
    services.campaign_reopen(campaign=campaign, user=qa_user, reason="retest step 3")
    services.campaign_complete(campaign=campaign, user=qa_user)
    services.campaign_sign_off(campaign=campaign, user=qa_user)
    found = [(e.before, e.after, e.reason) for e in entries(campaign, audit.STATUS)]
    assert found == [
        ("Draft", "Completed", ""),
        ("Completed", "Running", "retest step 3"),
        ("Running", "Completed", ""),
        ("Completed", "Signed off", ""),
    ]
    (shared,) = entries(campaign, audit.SHARING)  # signing off gave the vendor the campaign
    assert (shared.before, shared.after, shared.actor) == (
        "Not shared", f"Shared with {campaign.manufacturer}", qa_user,
    )  # fmt: skip
    assert shared.reason.startswith("Signed off")


def test_sharing_and_unsharing_are_recorded_once_each_and_shown_to_the_vendor(
    campaign, qa_user, qa_client, vendor_client
):
    share = reverse("campaigns:campaign_share", args=[campaign.pk])
    before = timezone.now()
    qa_client.post(share)
    (entry,) = entries(campaign)
    assert (entry.what, entry.field) == (audit.SHARING, "Shared with the vendor")
    assert (entry.before, entry.after) == ("Not shared", f"Shared with {campaign.manufacturer}")
    assert entry.actor == qa_user and before <= entry.at <= timezone.now()
    assert not entry.lab_only
    # Shared already: refused, and nothing changed, so nothing recorded.
    assert "Already shared" in qa_client.post(share, follow=True).content.decode()
    api = APIClient()
    api.force_authenticate(qa_user)
    assert api.post(f"/api/v1/campaigns/{campaign.pk}/share/").status_code == 400
    assert len(entries(campaign)) == 1
    history = vendor_client.get(reverse("campaigns:campaign_history", args=[campaign.pk]))
    assert "Shared with the vendor" in history.content.decode()
    assert api.post(f"/api/v1/campaigns/{campaign.pk}/unshare/").status_code == 200
    unshared = entries(campaign)[-1]
    assert (unshared.before, unshared.after, unshared.actor) == (entry.after, "Not shared", qa_user)
    assert api.post(f"/api/v1/campaigns/{campaign.pk}/unshare/").status_code == 400
    assert len(entries(campaign, audit.SHARING)) == 2


def test_step_12_records_the_firmware_it_installed_as_certlab(campaign):
    station = campaign.station
    old = station.expected_firmware
    FirmwareVersionFactory(charger_model=station.charger_model, version="2.0.0")
    step12 = ended(campaign, 12)
    services.attempt_record_firmware_installed(attempt=step12, version="2.0.0")
    services.attempt_record_firmware_installed(attempt=step12, version="2.0.0")
    found = {e.what: e for e in entries(campaign)}
    assert set(found) == {audit.EXPECTED_FIRMWARE, audit.FIRMWARE_AFTER_UPDATE}
    station_entry = found[audit.EXPECTED_FIRMWARE]
    assert (station_entry.before, station_entry.after) == (old.version if old else "", "2.0.0")
    assert station_entry.actor is None and station_entry.actor_label == "CertLab (step 12)"
    assert station_entry.attempt == step12


def test_the_expected_firmware_changed_in_the_catalogue_shows_in_the_campaigns_history(
    campaign, qa_user, qa_client
):
    station = campaign.station
    new = FirmwareVersionFactory(charger_model=station.charger_model, version="3.1")
    api = APIClient()
    api.force_authenticate(qa_user)
    response = api.patch(f"/api/v1/stations/{station.pk}/", {"expected_firmware": new.pk},
                         format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    api.patch(f"/api/v1/stations/{station.pk}/", {"notes": "bench 2"}, format="json")
    (entry,) = AuditEntry.objects.filter(station=station)
    assert entry.campaign is None and (entry.after, entry.actor) == ("3.1", qa_user)
    from campaigns.selectors import history_for

    assert list(history_for(campaign=campaign, user=qa_user)) == [entry]
    # The catalogue page's form is audited alike.
    page_new = FirmwareVersionFactory(charger_model=station.charger_model, version="3.2")
    form = qa_client.get(reverse("stations:object_edit", args=["stations", station.pk]))
    data = {k: v for k, v in form.context["form"].initial.items() if v is not None}
    data.update(expected_firmware=page_new.pk, charger_model=station.charger_model_id,
                feature_profiles=station.feature_profiles or [])  # fmt: skip
    qa_client.post(reverse("stations:object_edit", args=["stations", station.pk]), data)
    latest = AuditEntry.objects.filter(station=station).first()
    assert (latest.before, latest.after) == ("3.1", "3.2")


def test_the_expected_firmware_taken_from_a_boot_is_recorded(campaign, qa_user, qa_client):
    station = campaign.station
    FirmwareVersionFactory(charger_model=station.charger_model, version="4.0")
    StationLive.objects.update_or_create(
        station=station, defaults={"boot_at": timezone.now(), "firmware_version": "4.0"}
    )
    qa_client.post(reverse("stations:station_fill_from_boot", args=[station.pk]))
    entry = AuditEntry.objects.get(station=station, what=audit.EXPECTED_FIRMWARE)
    assert (entry.after, entry.actor) == ("4.0", qa_user)
    assert entry.reason == "Changed from the last BootNotification."


def test_an_audit_entry_is_never_changed_nor_deleted(campaign, qa_user):
    attempt = ended(campaign, 3)
    services.attempt_record_verdict(attempt=attempt, user=qa_user, verdict="ok", result_text="Ok")
    entry = entries(campaign)[0]
    entry.after = "Failed"
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()
