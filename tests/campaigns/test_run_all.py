"""Run all remaining steps: which step runs next, what stops the sequence, and its faces (the
campaign page, the API, the live panel). The worker's part (an attempt ends, the next starts) is
called here as the task calls it; test_run_all_e2e.py runs it through a real worker."""

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns import run_all, services
from campaigns.models import Applicability, Attempt, AttemptStatus, Prompt, RunAll
from campaigns.vendor import campaign_share
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def online(mark_online):
    return mark_online


@pytest.fixture
def campaign(vendor_user, qa_user, online):
    station = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    online(station)
    campaign = services.campaign_create(station=station, owner=qa_user)
    campaign_share(campaign=campaign, user=qa_user)  # the vendor watches the run
    return campaign


def planned(campaign) -> list[int]:
    return list(
        campaign.plan.filter(applicability=Applicability.PLANNED)
        .order_by("function__number")
        .values_list("function__number", flat=True)
    )


def decide(campaign, number, verdict="ok"):
    item = campaign.plan.get(function__number=number)
    now = timezone.now()
    return Attempt.objects.create(
        plan_item=item, station=campaign.station, status=AttemptStatus.FINISHED,
        number=item.attempts.count() + 1, started=now, ended=now, final_verdict=verdict,
        result_text="Ok",
    )  # fmt: skip


def end(attempt, status=AttemptStatus.FINISHED, proposed="ok"):
    """The attempt ends as its worker ends it, then the task moves the sequence on."""
    Attempt.objects.filter(pk=attempt.pk).update(
        status=status, ended=timezone.now(), proposed_verdict=proposed
    )
    return run_all.run_all_attempt_ended(attempt_id=attempt.pk)


def open_prompt(attempt, text: str) -> Prompt:
    deadline = timezone.now() + timezone.timedelta(minutes=5)
    return Prompt.objects.create(
        attempt=attempt, text=text, choices=["Done", "Cannot do"], deadline=deadline
    )


def step_of(attempt) -> int:
    return Attempt.objects.get(pk=attempt.pk).plan_item.function.number


def test_runs_the_planned_undecided_steps_in_order_skipping_decided_and_not_applicable(
    campaign, qa_user
):
    first, second, third, *_ = planned(campaign)
    decide(campaign, first)
    services.plan_item_set_applicability(
        plan_item=campaign.plan.get(function__number=second),
        applicability=Applicability.NOT_APPLICABLE,
        reason="No cable on this model.",
    )
    run = run_all.campaign_run_all(campaign=campaign, user=qa_user)
    assert step_of(run.current) == third
    assert run.current.status == AttemptStatus.QUEUED
    assert len(run.items) == len(planned(campaign)) - 1
    campaign.refresh_from_db()
    assert campaign.status == "running"


def test_the_next_step_starts_when_an_attempt_ends_and_the_run_finishes_after_the_last(
    campaign, qa_user
):
    numbers = planned(campaign)
    for number in numbers[2:]:
        decide(campaign, number)
    run = run_all.campaign_run_all(campaign=campaign, user=qa_user)
    assert step_of(run.current) == numbers[0]
    run = end(run.current)
    assert run.status == "running" and step_of(run.current) == numbers[1]
    run = end(run.current, proposed="failed")  # a failed step does not stop the others
    assert run.status == "finished" and run.reason == "Every step ran."
    assert len(run.attempts) == 2
    # Nothing else was started: no attempt is active on the station.
    assert not Attempt.objects.filter(station=campaign.station, status__in=["queued", "running"])


def test_a_step_decided_or_planned_out_while_the_run_goes_is_skipped(campaign, qa_user):
    _, second, third, fourth, *_ = planned(campaign)
    run = run_all.campaign_run_all(campaign=campaign, user=qa_user)
    decide(campaign, second)  # QA decided it from an earlier attempt meanwhile
    services.plan_item_set_applicability(
        plan_item=campaign.plan.get(function__number=third),
        applicability=Applicability.NOT_SUPPORTED_BY_LAB,
        reason="No meter in the lab today.",
    )
    run = end(run.current)
    assert step_of(run.current) == fourth
    progress = run_all.run_all_progress(run)
    assert (progress["position"], progress["total"]) == (2, len(run.items) - 2)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (AttemptStatus.ABORTED, "Step {n} was aborted."),
        (AttemptStatus.STATION_OFFLINE, "The station went offline during step {n}."),
        (AttemptStatus.INTERRUPTED, "The worker running step {n} stopped."),
    ],
)
def test_an_aborted_or_lost_step_stops_the_run(campaign, qa_user, status, reason):
    run = run_all.campaign_run_all(campaign=campaign, user=qa_user)
    first = step_of(run.current)
    run = end(run.current, status=status, proposed="incomplete")
    assert run.status == "stopped"
    assert run.reason == reason.format(n=first)
    assert len(run.attempts) == 1


def test_the_run_stops_before_a_step_when_the_station_is_offline(campaign, qa_user, online):
    run = run_all.campaign_run_all(campaign=campaign, user=qa_user)
    online(campaign.station, on=False)
    run = end(run.current)
    assert run.status == "stopped" and "offline" in run.reason
    assert len(run.attempts) == 1


def test_an_offline_station_or_a_completed_campaign_is_refused(campaign, qa_user, online):
    online(campaign.station, on=False)
    with pytest.raises(ValidationError, match="offline"):
        run_all.campaign_run_all(campaign=campaign, user=qa_user)
    online(campaign.station)
    for number in planned(campaign):
        decide(campaign, number)
    with pytest.raises(ValidationError, match="Nothing to run"):
        run_all.campaign_run_all(campaign=campaign, user=qa_user)
    services.campaign_complete(campaign=campaign)
    with pytest.raises(ValidationError, match="completed"):
        run_all.campaign_run_all(campaign=campaign, user=qa_user)
    assert not RunAll.objects.exists()


def test_no_step_starts_on_a_campaign_completed_while_the_run_went(campaign, qa_user):
    numbers = planned(campaign)
    run = run_all.campaign_run_all(campaign=campaign, user=qa_user)
    # QA decided everything (the running one too, once it ended) and completed the campaign.
    Attempt.objects.filter(pk=run.current.pk).update(status="finished", final_verdict="ok",
                                                     result_text="Ok")  # fmt: skip
    for number in numbers[1:]:
        decide(campaign, number)
    services.campaign_complete(campaign=campaign)
    run = run_all.run_all_attempt_ended(attempt_id=run.current.pk)
    assert run.status == "finished"
    assert Attempt.objects.filter(plan_item__campaign=campaign).count() == len(numbers)


def test_stop_aborts_the_running_step_and_nothing_more_starts(campaign, qa_user):
    run = run_all.campaign_run_all(campaign=campaign, user=qa_user)
    assert run_all.campaign_run_all_stop(run_all=run, user=qa_user)
    run.refresh_from_db()
    assert run.status == "stopped" and run.reason == "Stopped by qa."
    attempt = Attempt.objects.get(pk=run.current.pk)
    assert attempt.status == AttemptStatus.ABORTED  # it was still queued: ended at once
    assert run_all.run_all_attempt_ended(attempt_id=attempt.pk) is None
    assert run_all.run_alls_catch_up() == []
    assert not run_all.campaign_run_all_stop(run_all=run, user=qa_user)


def test_a_step_waiting_on_a_prompt_holds_the_run_until_it_is_answered(campaign, qa_user):
    first, second, *_ = planned(campaign)
    run = run_all.campaign_run_all(campaign=campaign, user=qa_user)
    Attempt.objects.filter(pk=run.current.pk).update(status="running", started=timezone.now())
    prompt = open_prompt(run.current, "Plug the cable in.")
    assert run_all.run_alls_catch_up() == []  # still running: nothing moves
    assert run_all.run_all_attempt_ended(attempt_id=run.current.pk) is None
    progress = run_all.run_all_progress(RunAll.objects.get(pk=run.pk))
    assert progress["open_prompt"] == prompt
    assert (progress["position"], progress["total"]) == (1, len(run.items))
    services.prompt_answer(prompt=prompt, user=qa_user, choice="Done")
    run = end(run.current)  # the step ends once it got its answer: the next one starts
    assert step_of(run.current) == second
    progress = run_all.run_all_progress(run)
    assert progress["open_prompt"] is None and progress["position"] == 2
    assert [step_of(a) for a in progress["done"]] == [first]


def test_aborting_a_queued_step_stops_the_run_at_once(campaign, qa_user):
    first = planned(campaign)[0]
    run = run_all.campaign_run_all(campaign=campaign, user=qa_user)
    services.attempt_abort(attempt=run.current)  # still queued: ended at once, no worker
    run.refresh_from_db()  # no sweep, no worker: the abort itself stopped it
    assert run.status == "stopped" and run.reason == f"Step {first} was aborted."
    assert Attempt.objects.get(pk=run.current_id).status == AttemptStatus.ABORTED
    assert run_all.run_alls_catch_up() == []
    assert Attempt.objects.filter(pk__in=run.attempts).count() == 1  # no next step started


def test_aborting_a_running_step_stops_the_run_before_its_worker_ends_it(campaign, qa_user):
    first = planned(campaign)[0]
    run = run_all.campaign_run_all(campaign=campaign, user=qa_user)
    Attempt.objects.filter(pk=run.current.pk).update(
        status="running", started=timezone.now(), heartbeat=timezone.now()
    )
    services.attempt_abort(attempt=run.current)
    run.refresh_from_db()
    assert run.status == "stopped" and run.reason == f"Step {first} was aborted."
    # Its worker then ends the attempt: the sequence stays stopped, no next step starts.
    Attempt.objects.filter(pk=run.current.pk).update(status="aborted", ended=timezone.now())
    assert run_all.run_all_attempt_ended(attempt_id=run.current_id) is None
    assert RunAll.objects.get(pk=run.pk).attempts == [run.current_id]


def test_one_run_at_a_time_and_the_station_busy_leaves_no_run(campaign, qa_user):
    run_all.campaign_run_all(campaign=campaign, user=qa_user)
    with pytest.raises(ValidationError, match="already running"):
        run_all.campaign_run_all(campaign=campaign, user=qa_user)
    other = services.campaign_create(station=campaign.station, owner=qa_user)
    with pytest.raises(services.StationBusy):
        run_all.campaign_run_all(campaign=other, user=qa_user)
    assert not other.run_alls.exists()


def test_the_campaign_page_starts_shows_and_stops_the_run(campaign, qa_client, vendor_client):
    page = qa_client.get(campaign.get_absolute_url()).content.decode()
    assert "Run all remaining steps" in page
    start = reverse("campaigns:campaign_run_all", args=[campaign.pk])
    assert vendor_client.post(start).status_code == 403
    response = qa_client.post(start, follow=True)
    page = response.content.decode()
    assert f"Running {len(planned(campaign))} step(s)" in page
    assert 'Step <span class="run-all-position">1</span> of' in page
    assert "Stop all" in page
    vendor_page = vendor_client.get(campaign.get_absolute_url()).content.decode()
    assert 'Step <span class="run-all-position">1</span> of' in vendor_page
    assert "Stop all" not in vendor_page
    stop = reverse("campaigns:campaign_run_all_stop", args=[campaign.pk])
    page = qa_client.post(stop, follow=True).content.decode()
    assert "Stopped by qa." in page


def test_a_prompt_answered_on_the_campaign_page_comes_back_to_it(campaign, qa_client, qa_user):
    run = run_all.campaign_run_all(campaign=campaign, user=qa_user)
    Attempt.objects.filter(pk=run.current.pk).update(status="running")
    prompt = open_prompt(run.current, "Present the tag.")
    page = qa_client.get(campaign.get_absolute_url()).content.decode()
    assert "Present the tag." in page and "Waiting on a prompt" in page
    response = qa_client.post(
        reverse("campaigns:prompt_answer", args=[prompt.pk]),
        {"choice": "Done", "next": campaign.get_absolute_url()},
    )
    assert response["Location"] == campaign.get_absolute_url()
    prompt.refresh_from_db()
    assert prompt.answer == "Done"
    elsewhere = qa_client.post(
        reverse("campaigns:prompt_answer", args=[prompt.pk]),
        {"choice": "Done", "next": "https://evil.example/"},
    )
    assert elsewhere["Location"] == run.current.get_absolute_url()


def test_the_api_runs_chosen_steps_reads_and_stops_the_run(campaign, qa_user, vendor_user):
    first, _, third, *_ = planned(campaign)
    client = Client()
    client.force_login(qa_user)
    url = reverse("api:campaign-run-all", args=[campaign.pk])
    assert client.get(url).status_code == 404
    response = client.post(url, {"steps": [third, first]}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["steps"] == [third, first] and body["current"]["step"] == third
    assert client.post(url, {}, content_type="application/json").status_code == 400
    vendor = Client()
    vendor.force_login(vendor_user)
    assert vendor.get(url).json()["status"] == "running"
    stop = reverse("api:campaign-run-all-stop", args=[campaign.pk])
    assert vendor.post(stop).status_code == 403
    body = client.post(stop).json()
    assert body["status"] == "stopped" and body["current"] is None
    assert [a["status"] for a in body["attempts"]] == ["aborted"]


@pytest.mark.django_db(transaction=True)
async def test_the_live_panel_follows_the_run_and_its_running_step(settings, qa_user, online):
    from asgiref.sync import sync_to_async

    from certlab.routing import browser_urlpatterns

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert browser_urlpatterns  # the route under test is the one certlab.asgi serves
    station = await sync_to_async(StationFactory)()
    await sync_to_async(online)(station)
    campaign = await sync_to_async(services.campaign_create)(station=station, owner=qa_user)
    comm = await _run_all_panel(campaign, qa_user)
    run = await sync_to_async(run_all.campaign_run_all)(campaign=campaign, user=qa_user)
    message = await comm.receive_json_from(timeout=5)
    assert message["what"] == "run_all" and 'run-all-position">1<' in message["html"]
    # The running step's own events reach the panel: a prompt opens, it shows.
    await sync_to_async(Prompt.objects.create)(
        attempt_id=run.current_id, text="Plug the cable in.", choices=["Done"],
        deadline=timezone.now() + timezone.timedelta(minutes=5),
    )  # fmt: skip
    await get_channel_layer().group_send(
        f"attempt-{run.current_id}",
        {"type": "attempt.changed", "attempt_id": run.current_id, "what": "prompt"},
    )
    message = await comm.receive_json_from(timeout=5)
    assert message["what"] == "prompt" and "Plug the cable in." in message["html"]
    await comm.disconnect()


async def _run_all_panel(campaign, user) -> WebsocketCommunicator:
    """The campaign page's run-all panel, connected as ``user``; it has shown its empty start."""
    from asgiref.sync import sync_to_async

    from tests.certlab.test_cross_tenant import _application, _session_headers

    headers = await sync_to_async(_session_headers)(user)
    comm = WebsocketCommunicator(
        _application(), f"/ws/campaigns/{campaign.pk}/run-all/", headers=headers
    )
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_json_from(timeout=5))["html"].strip() == ""  # never ran
    return comm


@pytest.mark.django_db(transaction=True)
async def test_a_prompt_opened_while_the_panel_turns_to_the_next_step_is_not_missed(
    settings, qa_user, online, monkeypatch
):
    """The step's prompt opens (and is announced) after the panel read the new step but before
    it joined that step's group: the panel still shows it, not only once it expired."""
    from asgiref.sync import sync_to_async

    from campaigns.consumers import RunAllConsumer

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    station = await sync_to_async(StationFactory)()
    await sync_to_async(online)(station)
    campaign = await sync_to_async(services.campaign_create)(station=station, owner=qa_user)
    render = RunAllConsumer.__dict__["_render"]
    opened = []

    async def render_then_the_prompt_opens(consumer):
        rendered = await render(consumer)
        if rendered and rendered[1] and not opened:  # the first look at the running step
            opened.append(
                await sync_to_async(open_prompt)(Attempt(pk=rendered[1]), "Plug the cable in.")
            )
            await get_channel_layer().group_send(
                f"attempt-{rendered[1]}",
                {"type": "attempt.changed", "attempt_id": rendered[1], "what": "prompt"},
            )
        return rendered

    monkeypatch.setattr(RunAllConsumer, "_render", render_then_the_prompt_opens)
    comm = await _run_all_panel(campaign, qa_user)
    await sync_to_async(run_all.campaign_run_all)(campaign=campaign, user=qa_user)
    message = await comm.receive_json_from(timeout=5)
    assert opened and "Plug the cable in." in message["html"], message["html"]
    await comm.disconnect()
