"""Campaign pages and actions: who sees and does what, and what a bad request gets."""

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Attempt, AttemptStatus, Campaign, Prompt
from campaigns.vendor import campaign_share
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_campaign(vendor_user, qa_user):
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    campaign = services.campaign_create(station=station, owner=qa_user)
    campaign_share(campaign=campaign, user=qa_user)
    return campaign


@pytest.fixture
def other_campaign(qa_user):
    return services.campaign_create(station=StationFactory(), owner=qa_user)


def _finished_attempt(campaign, number=15, **fields):
    item = campaign.plan.get(function__number=number)
    defaults = {"status": AttemptStatus.FINISHED, "proposed_verdict": "ok",
                "proposed_text": "Ok, ClearCache Accepted", "ended": timezone.now()}  # fmt: skip
    defaults.update(fields)
    return Attempt.objects.create(plan_item=item, station=campaign.station, number=1, **defaults)


def test_a_new_campaign_plans_all_16_functions(own_campaign):
    numbers = list(own_campaign.plan.values_list("function__number", flat=True))
    assert numbers == list(range(1, 17))
    assert own_campaign.firmware == own_campaign.station.expected_firmware


def test_vendor_lists_only_its_own_campaigns(vendor_client, own_campaign, other_campaign):
    response = vendor_client.get(reverse("campaigns:campaign_list"))
    assert list(response.context["page"].object_list) == [own_campaign]


@pytest.mark.parametrize(
    "name,args",
    [
        ("campaign_detail", lambda c: [c.pk]),
        ("report", lambda c: [c.pk]),
        ("step_detail", lambda c: [c.pk, 3]),
    ],
)
def test_vendor_reads_own_and_gets_404_for_others(
    vendor_client, own_campaign, other_campaign, name, args
):
    assert (
        vendor_client.get(reverse(f"campaigns:{name}", args=args(own_campaign))).status_code == 200
    )
    other = reverse(f"campaigns:{name}", args=args(other_campaign))
    assert vendor_client.get(other).status_code == 404


def test_vendor_gets_403_for_every_campaign_action(vendor_client, own_campaign):
    attempt = _finished_attempt(own_campaign)
    prompt = Prompt.objects.create(attempt=attempt, text="Plug in", choices=["Done"],
                                   deadline=timezone.now())  # fmt: skip
    posts = [
        reverse("campaigns:campaign_create"),
        reverse("campaigns:campaign_complete", args=[own_campaign.pk]),
        reverse("campaigns:campaign_sign_off", args=[own_campaign.pk]),
        reverse("campaigns:step_run", args=[own_campaign.pk, 1]),
        reverse("campaigns:step_plan", args=[own_campaign.pk, 1]),
        reverse("campaigns:attempt_abort", args=[attempt.pk]),
        reverse("campaigns:attempt_end_wait", args=[attempt.pk]),
        reverse("campaigns:attempt_verdict", args=[attempt.pk]),
        reverse("campaigns:prompt_answer", args=[prompt.pk]),
        reverse("campaigns:prompt_simulate", args=[prompt.pk]),
    ]
    for url in posts:
        assert vendor_client.post(url).status_code == 403, url


def test_qa_creates_a_campaign_with_rehearsal_parameters(qa_client):
    station = StationFactory()
    response = qa_client.post(
        reverse("campaigns:campaign_create"),
        {"station": station.pk, "rehearsal": "on", "heartbeat_interval": "", "meter_interval": 30,
         "valid_id_tag": "GOOD-1", "invalid_id_tag": "BAD-1"},
    )  # fmt: skip
    campaign = Campaign.objects.get(station=station)
    assert response.status_code == 302
    assert campaign.parameters["heartbeat_interval"] == 2  # left empty: fast mode's default
    assert campaign.parameters["meter_interval"] == 30  # typed: kept
    assert campaign.parameters["rehearsal"] is True
    assert campaign.parameters["valid_id_tag"] == "GOOD-1"


def test_campaign_form_errors_are_shown_not_500(qa_client):
    station = StationFactory()
    response = qa_client.post(
        reverse("campaigns:campaign_create"),
        {"station": station.pk, "heartbeat_interval": 99999, "meter_interval": "x",
         "valid_id_tag": "SAME", "invalid_id_tag": "SAME", "connector_id": 1,
         "prompt_timeout": 300, "reconnect_timeout": 180, "offline_seconds": 60},
    )  # fmt: skip
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"heartbeat_interval", "meter_interval", "invalid_id_tag"} <= errors.keys()


def test_not_applicable_needs_a_reason(qa_client, own_campaign):
    url = reverse("campaigns:step_plan", args=[own_campaign.pk, 15])
    response = qa_client.post(url, {"applicability": "not_applicable", "reason": ""}, follow=True)
    assert "Say why" in response.content.decode()
    qa_client.post(url, {"applicability": "not_applicable", "reason": "No local cache"})
    item = own_campaign.plan.get(function__number=15)
    assert (item.applicability, item.reason) == ("not_applicable", "No local cache")


def test_one_active_attempt_per_station(qa_user, own_campaign, other_campaign):
    item = own_campaign.plan.get(function__number=1)
    Attempt.objects.create(plan_item=item, station=own_campaign.station, number=1,
                           status=AttemptStatus.RUNNING)  # fmt: skip
    with pytest.raises(services.StationBusy):
        services.attempt_start(plan_item=own_campaign.plan.get(function__number=2), user=qa_user)


def test_qa_records_a_verdict_and_the_report_shows_the_retest_history(qa_client, own_campaign):
    first = _finished_attempt(own_campaign, proposed_verdict="failed")
    url = reverse("campaigns:attempt_verdict", args=[first.pk])
    qa_client.post(url, {"verdict": "failed", "result_text": "ClearCache Rejected"})
    item = first.plan_item
    retest = Attempt.objects.create(plan_item=item, station=own_campaign.station, number=2,
                                    status=AttemptStatus.FINISHED)  # fmt: skip
    qa_client.post(reverse("campaigns:attempt_verdict", args=[retest.pk]),
                   {"verdict": "ok", "result_text": "Ok", "notes": "new firmware"})  # fmt: skip
    report = qa_client.get(reverse("campaigns:report", args=[own_campaign.pk])).content.decode()
    assert "1st attempt failed: ClearCache Rejected; retest Ok" in report
    assert "new firmware" not in report  # the internal note is the lab's, never the report's


def test_a_verdict_without_result_text_is_refused_with_a_message_keeping_the_notes_typed(
    qa_client, own_campaign
):
    attempt = _finished_attempt(own_campaign)
    url = reverse("campaigns:attempt_verdict", args=[attempt.pk])
    typed = {"verdict": "failed", "result_text": "", "notes": "Cable swapped twice, see log"}
    response = qa_client.post(url, typed)
    assert response.status_code == 400
    html = response.content.decode()
    assert (
        "Verdict not recorded. Result (in the report — the vendor reads this): This field is "
        "required." in html
    )
    assert "Cable swapped twice, see log</textarea>" in html
    assert response.context["verdict_form"]["verdict"].value() == "failed"
    attempt.refresh_from_db()
    assert attempt.final_verdict == ""


def test_a_verdict_refused_on_an_earlier_attempt_comes_back_as_typed_under_that_attempt(
    qa_client, own_campaign
):
    first = _finished_attempt(own_campaign)
    Attempt.objects.create(plan_item=first.plan_item, station=own_campaign.station, number=2,
                           status=AttemptStatus.FINISHED, proposed_verdict="ok")  # fmt: skip
    url = reverse("campaigns:attempt_verdict", args=[first.pk])
    typed = {"verdict": "failed", "result_text": "", "notes": "Earlier run: relay stuck"}
    response = qa_client.post(url, typed)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Verdict not recorded." in html
    assert "Earlier run: relay stuck</textarea>" in html
    assert response.context["verdict_form"]["verdict"].value() == "failed"
    # One verdict form, for the attempt it was typed for: posting it again reaches that attempt.
    assert html.count('class="card verdict-card"') == 1
    assert "Final verdict for the 1st attempt" in html and f'action="{url}"' in html
    first.refresh_from_db()
    assert first.final_verdict == ""


def test_sign_off_needs_a_completed_campaign(qa_client, own_campaign):
    response = qa_client.post(
        reverse("campaigns:campaign_sign_off", args=[own_campaign.pk]), follow=True
    )
    assert "Complete the campaign before signing it off." in response.content.decode()
    own_campaign.refresh_from_db()
    assert own_campaign.status == "draft"


def test_step_page_shows_checks_prompt_countdown_and_plot(qa_client, own_campaign):
    attempt = _finished_attempt(
        own_campaign, number=8, status=AttemptStatus.RUNNING, ended=None,
        attachments={"meter_series": [
            {"timestamp": "2026-11-22T10:00:00+00:00", "measurand": "Voltage", "unit": "V",
             "value": "230.1", "phase": "", "context": "Sample.Periodic"},
            {"timestamp": "2026-11-22T10:00:30+00:00", "measurand": "Voltage", "unit": "V",
             "value": "229.4", "phase": "", "context": "Sample.Periodic"},
        ]},
    )  # fmt: skip
    Prompt.objects.create(attempt=attempt, text="Plug the cable into connector 1",
                          choices=["Done", "Cannot do"],
                          deadline=timezone.now() + timezone.timedelta(seconds=90))  # fmt: skip
    page = qa_client.get(reverse("campaigns:step_detail", args=[own_campaign.pk, 8]))
    html = page.content.decode()
    assert "Plug the cable into connector 1" in html
    assert 'class="seconds">8' in html or 'class="seconds">9' in html
    assert '<svg class="plot"' in html and "Voltage (V)" in html
    assert "Abort" in html


def test_pdf_report_is_a_pdf(qa_client, own_campaign):
    response = qa_client.get(reverse("campaigns:report_pdf", args=[own_campaign.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_station_page_lists_its_campaigns_and_the_home_page_counts_them(
    vendor_client, own_campaign
):
    station = own_campaign.station
    page = vendor_client.get(reverse("stations:object_detail", args=["stations", station.pk]))
    assert own_campaign.get_absolute_url() in page.content.decode()
    home = vendor_client.get(reverse("home")).content.decode()
    assert "<b>1</b> campaigns" in home


def test_the_catalogue_page_shows_16_functions_with_their_criteria_ids(vendor_client):
    page = vendor_client.get(reverse("campaigns:catalogue")).content.decode()
    assert "gfx-ocpp16-1" in page
    assert page.count("<tr><td>") == 16
    assert "<b>3.d</b> Receive a (not empty) StatusNotification message per connector" in page


def test_an_attempt_aborted_before_it_started_does_not_say_it_waits(qa_client, own_campaign):
    _finished_attempt(own_campaign, number=3, status=AttemptStatus.ABORTED,
                      ending_reason="Aborted before it started.")  # fmt: skip
    html = qa_client.get(reverse("campaigns:step_detail", args=[own_campaign.pk, 3])).content
    assert b"never started" in html
    assert "waiting for a worker" not in html.decode() and "()" not in html.decode()


def test_campaign_notes_are_shown_to_qa_and_not_to_the_vendor(
    qa_client, vendor_client, own_campaign
):
    own_campaign.notes = "Second unit: the first one lost its SIM."
    own_campaign.save()
    url = reverse("campaigns:campaign_detail", args=[own_campaign.pk])
    assert own_campaign.notes in qa_client.get(url).content.decode()
    assert own_campaign.notes not in vendor_client.get(url).content.decode()


def test_a_step_that_is_not_planned_does_not_invite_to_run_it(qa_client, own_campaign):
    own_campaign.plan.filter(function__number=15).update(
        applicability="not_applicable", reason="No local cache"
    )
    html = qa_client.get(reverse("campaigns:step_detail", args=[own_campaign.pk, 15]))
    html = html.content.decode()
    assert "Run step" not in html
    assert "It is not planned: to run it, plan it" in html


def test_a_draft_campaign_tells_qa_how_to_start_and_the_vendor_that_it_has_not(
    qa_client, vendor_client, own_campaign
):
    url = reverse("campaigns:campaign_detail", args=[own_campaign.pk])
    assert "starts when its first step runs" in qa_client.get(url).content.decode()
    assert "the lab has not run a step" in vendor_client.get(url).content.decode()


def test_signing_off_a_signed_off_campaign_says_it_is_signed_off(qa_client, own_campaign):
    Campaign.objects.filter(pk=own_campaign.pk).update(status="signed_off")
    url = reverse("campaigns:campaign_sign_off", args=[own_campaign.pk])
    html = qa_client.post(url, follow=True).content.decode()
    assert "This campaign is already signed off." in html
    assert "Complete the campaign before signing it off." not in html


def test_aborting_a_finished_attempt_says_it_has_ended_not_abort_requested(qa_client, own_campaign):
    attempt = _finished_attempt(own_campaign)
    url = reverse("campaigns:attempt_abort", args=[attempt.pk])
    html = qa_client.post(url, follow=True).content.decode()
    assert "Nothing to abort: this attempt has ended already (finished)." in html
    assert "Abort requested" not in html
    attempt.refresh_from_db()
    assert not attempt.abort_requested


def test_a_prompt_done_on_the_simulator_is_recorded_as_the_simulators_doing(
    qa_client, own_campaign, monkeypatch
):
    from stations import bus

    Station = type(own_campaign.station)
    Station.objects.filter(pk=own_campaign.station.pk).update(is_simulator=True)
    attempt = _finished_attempt(own_campaign, status=AttemptStatus.RUNNING, ended=None)
    prompt = Prompt.objects.create(
        attempt=attempt, text="Plug the cable in", choices=["Done", "Cannot do"],
        simulator_action={"name": "plug_in", "kwargs": {"connector_id": 1}},
        deadline=timezone.now() + timezone.timedelta(seconds=90),
    )  # fmt: skip
    sent = []
    # The simulator's side of the remote control (a station, outside CertLab) says Accepted.
    monkeypatch.setattr(bus, "call_sync", lambda *a, **k: sent.append(a) or {"status": "Accepted"})
    qa_client.post(reverse("campaigns:prompt_simulate", args=[prompt.pk]))
    prompt.refresh_from_db()
    assert sent and prompt.answer == "Done" and prompt.answered_on_simulator
    Attempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.FINISHED)
    html = qa_client.get(reverse("campaigns:step_detail", args=[own_campaign.pk, 15])).content
    assert "Done on the simulator (asked by qa)" in html.decode()
    assert "Done by qa" not in html.decode()


def test_the_button_of_a_step_whose_first_attempt_runs_reads_running_not_retest(
    qa_client, own_campaign
):
    _finished_attempt(own_campaign, status=AttemptStatus.RUNNING, ended=None)
    html = qa_client.get(reverse("campaigns:step_detail", args=[own_campaign.pk, 15])).content
    assert "Running…</button>" in html.decode()
    assert "Retest" not in html.decode()


def test_the_progress_list_puts_prompts_and_progress_lines_in_time_order(qa_client, own_campaign):
    from campaigns.models import AttemptNote

    attempt = _finished_attempt(own_campaign)
    start = timezone.now() - timezone.timedelta(minutes=5)
    at = [start + timezone.timedelta(seconds=s) for s in (0, 10, 20)]
    for when, text in ((at[0], "Sent ClearCache"), (at[2], "Station answered")):
        note = AttemptNote.objects.create(attempt=attempt, text=text)
        AttemptNote.objects.filter(pk=note.pk).update(at=when)
    prompt = Prompt.objects.create(attempt=attempt, text="Press the button", choices=["Done"],
                                   deadline=at[2], status="answered", answer="Done")  # fmt: skip
    Prompt.objects.filter(pk=prompt.pk).update(opened=at[1])
    html = qa_client.get(reverse("campaigns:step_detail", args=[own_campaign.pk, 15])).content
    html = html.decode()
    places = [html.index(s) for s in ("Sent ClearCache", "Press the button", "Station answered")]
    assert places == sorted(places)


def test_the_step_page_titles_an_attachment_for_people_not_by_its_raw_name(qa_client, own_campaign):
    errors = [{"connectorId": 1, "errorCode": "GroundFailure", "status": "Faulted"}]
    _finished_attempt(own_campaign, number=14, attachments={"hardware_errors": errors})
    html = qa_client.get(reverse("campaigns:step_detail", args=[own_campaign.pk, 14])).content
    assert "<summary>Reported hardware errors</summary>" in html.decode()
    assert "Hardware_errors" not in html.decode()


def test_answering_a_prompt_answered_already_says_who_answered_it(qa_client, own_campaign):
    attempt = _finished_attempt(own_campaign, status=AttemptStatus.RUNNING, ended=None)
    deadline = timezone.now() + timezone.timedelta(seconds=90)
    prompt = Prompt.objects.create(
        attempt=attempt, text="Plug in", choices=["Done", "Cannot do"], deadline=deadline
    )
    url = reverse("campaigns:prompt_answer", args=[prompt.pk])
    qa_client.post(url, {"choice": "Cannot do"})
    html = qa_client.post(url, {"choice": "Done"}, follow=True).content.decode()
    assert "This prompt is no longer open: qa answered it &#x27;Cannot do&#x27;." in html
    Prompt.objects.filter(pk=prompt.pk).update(status="expired")
    html = qa_client.post(url, {"choice": "Done"}, follow=True).content.decode()
    assert "its time ran out (not observed)" in html
