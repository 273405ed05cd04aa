"""What a campaign may say and do: complete needs every planned step decided, a completed
campaign takes no attempt until reopened, a rehearsal is marked everywhere and never signed off,
the firmware step 12 installed is followed, and every text has a limit with a message."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.engine.params import LabParameters
from campaigns.models import Attempt, AttemptStatus, Campaign
from campaigns.vendor import campaign_share
from certlab import limits
from tests.factories import FirmwareVersionFactory, StationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(vendor_user, qa_user):
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    campaign = services.campaign_create(station=station, owner=qa_user)
    campaign_share(campaign=campaign, user=qa_user)
    return campaign


@pytest.fixture
def rehearsal(vendor_user, qa_user):
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    rehearsal = services.campaign_create(
        station=station, owner=qa_user, parameters=LabParameters.fast()
    )
    campaign_share(campaign=rehearsal, user=qa_user)
    return rehearsal


def decide(campaign, number, verdict="ok", user=None, **fields):
    item = campaign.plan.get(function__number=number)
    attempt = Attempt.objects.create(
        plan_item=item, station=campaign.station, status=AttemptStatus.FINISHED,
        number=item.attempts.count() + 1, started=timezone.now(), ended=timezone.now(),
        final_verdict=verdict, result_text=fields.pop("result_text", "Ok"), decided_by=user,
        **fields,
    )  # fmt: skip
    return attempt


def decide_all(campaign, user=None, skip=()):
    for number in range(1, 17):
        if number not in skip:
            decide(campaign, number, user=user)


def test_complete_refuses_and_names_every_undecided_step(campaign):
    decide_all(campaign, skip=(4, 15))
    with pytest.raises(ValidationError) as refused:
        services.campaign_complete(campaign=campaign)
    message = " ".join(refused.value.messages)
    assert "4 (Get configuration" in message and "15 (Clear cache" in message
    assert "1 (" not in message
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_a_step_marked_not_applicable_counts_as_decided(campaign):
    decide_all(campaign, skip=(15,))
    services.plan_item_set_applicability(
        plan_item=campaign.plan.get(function__number=15),
        applicability="not_applicable",
        reason="No local authorization cache",
    )
    services.campaign_complete(campaign=campaign)
    assert campaign.status == "completed"


def test_a_completed_campaign_takes_no_attempt_until_reopened(campaign, qa_user, qa_client):
    decide_all(campaign)
    services.campaign_complete(campaign=campaign)
    item = campaign.plan.get(function__number=3)
    with pytest.raises(ValidationError, match="reopen it"):
        services.attempt_start(plan_item=item, user=qa_user)
    page = qa_client.get(reverse("campaigns:step_detail", args=[campaign.pk, 3])).content
    assert b"Retest</button>" not in page and b"reopen it on the campaign page" in page

    response = qa_client.post(reverse("campaigns:campaign_reopen", args=[campaign.pk]))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.completed) == ("running", None)
    assert services.attempt_start(plan_item=item, user=qa_user).number == 2


def test_a_signed_off_campaign_cannot_be_reopened_this_way(campaign, qa_user):
    decide_all(campaign)
    services.campaign_complete(campaign=campaign)
    services.campaign_sign_off(campaign=campaign, user=qa_user)
    with pytest.raises(ValidationError, match="signed off"):
        services.campaign_reopen(campaign=campaign)


def test_fast_parameters_make_a_rehearsal_even_unasked(rehearsal):
    assert rehearsal.rehearsal is True


def test_a_rehearsal_cannot_be_signed_off(rehearsal, qa_client):
    decide_all(rehearsal)
    services.campaign_complete(campaign=rehearsal)
    page = qa_client.get(rehearsal.get_absolute_url()).content.decode()
    assert "Sign off</button>" not in page
    response = qa_client.post(
        reverse("campaigns:campaign_sign_off", args=[rehearsal.pk]), follow=True
    )
    assert "A rehearsal cannot be signed off" in response.content.decode()
    rehearsal.refresh_from_db()
    assert rehearsal.status == "completed"


def test_a_rehearsal_is_marked_on_the_list_campaign_step_and_report(vendor_client, rehearsal):
    mark = "Rehearsal — not a certification"
    pages = [
        reverse("campaigns:campaign_list"),
        rehearsal.get_absolute_url(),
        reverse("campaigns:step_detail", args=[rehearsal.pk, 8]),
    ]
    for url in pages:
        assert mark in vendor_client.get(url).content.decode(), url
    report = vendor_client.get(reverse("campaigns:report", args=[rehearsal.pk])).content.decode()
    assert "REHEARSAL — not a certification" in report


def test_a_certification_campaign_is_not_marked_rehearsal(vendor_client, campaign):
    listing = vendor_client.get(reverse("campaigns:campaign_list")).content.decode()
    assert "Rehearsal — not a certification" not in listing


def test_the_firmware_step_12_installed_becomes_the_campaigns_and_the_stations(campaign, qa_user):
    station = campaign.station
    update = FirmwareVersionFactory(charger_model=station.charger_model, version="2.0.0")
    step12 = decide(campaign, 12, attachments={"firmware_installed": {"after": "2.0.0"}})
    services.attempt_record_firmware_installed(attempt=step12, version="2.0.0")
    campaign.refresh_from_db()
    station.refresh_from_db()
    assert campaign.firmware_after_update == update
    assert campaign.firmware_update_attempt == step12
    assert station.expected_firmware == update
    later = services.attempt_start(plan_item=campaign.plan.get(function__number=13), user=qa_user)
    assert later.firmware == update
    # The next campaign of the station tests what the station runs now.
    assert services.campaign_create(station=station, owner=qa_user).firmware == update


def test_an_unknown_installed_version_changes_no_record(campaign):
    step12 = decide(campaign, 12)
    before = campaign.station.expected_firmware
    services.attempt_record_firmware_installed(attempt=step12, version="not-in-the-lab")
    campaign.refresh_from_db()
    campaign.station.refresh_from_db()
    assert campaign.firmware_after_update is None
    assert campaign.station.expected_firmware == before


def test_a_100000_character_result_text_is_refused_with_a_message(qa_client, campaign):
    attempt = decide(campaign, 15, verdict="")
    url = reverse("campaigns:attempt_verdict", args=[attempt.pk])
    response = qa_client.post(url, {"verdict": "ok", "result_text": "x" * 100_000}, follow=True)
    page = response.content.decode()
    assert f"Ensure this value has at most {limits.RESULT_TEXT} characters" in page
    attempt.refresh_from_db()
    assert attempt.final_verdict == ""


@pytest.mark.parametrize(
    "field,length",
    [("notes", limits.NOTE + 1), ("result_text", limits.RESULT_TEXT + 1)],
)
def test_verdict_texts_over_their_limit_are_refused(qa_client, campaign, field, length):
    attempt = decide(campaign, 15, verdict="")
    data = {"verdict": "ok", "result_text": "Ok", field: "y" * length}
    response = qa_client.post(
        reverse("campaigns:attempt_verdict", args=[attempt.pk]), data, follow=True
    )
    assert "Verdict not recorded" in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.final_verdict == ""


def test_a_too_long_not_applicable_reason_is_refused_with_a_message(qa_client, campaign):
    url = reverse("campaigns:step_plan", args=[campaign.pk, 15])
    data = {"applicability": "not_applicable", "reason": "z" * (limits.REASON + 1)}
    response = qa_client.post(url, data, follow=True)
    assert f"at most {limits.REASON} characters" in response.content.decode()
    assert campaign.plan.get(function__number=15).applicability == "planned"


def test_campaign_notes_over_the_limit_are_refused(qa_client):
    station = StationFactory()
    response = qa_client.post(
        reverse("campaigns:campaign_create"),
        {"station": station.pk, "heartbeat_interval": 60, "meter_interval": 30,
         "valid_id_tag": "GOOD", "invalid_id_tag": "BAD", "connector_id": 1,
         "prompt_timeout": 300, "reconnect_timeout": 180, "offline_seconds": 60,
         "notes": "n" * (limits.NOTE + 1)},
    )  # fmt: skip
    assert response.status_code == 400
    assert "notes" in response.context["form"].errors
    assert not Campaign.objects.filter(station=station).exists()


def test_station_notes_and_release_notes_have_limits():
    from stations.forms import FirmwareVersionForm, StationForm

    station = StationForm(data={"notes": "s" * (limits.NOTE + 1)})
    firmware = FirmwareVersionForm(data={"release_notes": "r" * (limits.RELEASE_NOTES + 1)})
    assert "at most" in " ".join(station.errors["notes"])
    assert "at most" in " ".join(firmware.errors["release_notes"])
