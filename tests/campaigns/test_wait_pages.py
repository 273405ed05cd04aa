"""The step page of a step in a long wait: what it waits for, how long the station has been
silent, and QA's button to end the wait, which reaches the worker only for the wait shown."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Attempt, AttemptStatus
from campaigns.vendor import campaign_share
from stations.models import Frame
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting_attempt(qa_user):
    campaign = services.campaign_create(station=StationFactory(), owner=qa_user)
    now = timezone.now()
    return Attempt.objects.create(
        plan_item=campaign.plan.get(function__number=12), station=campaign.station, number=1,
        status=AttemptStatus.RUNNING, started=now - timedelta(seconds=100),
        waiting={"id": 3, "what": "a FirmwareStatusNotification",
                 "started": (now - timedelta(seconds=95)).isoformat(),
                 "until": (now + timedelta(seconds=505)).isoformat(),
                 "silent_since": (now - timedelta(seconds=80)).isoformat()},
    )  # fmt: skip


def _silent(html: str) -> int:
    return int(re.search(r'data-silent="(\d+)"', html).group(1))


def _page(client, attempt) -> str:
    number = attempt.plan_item.function.number
    url = reverse("campaigns:step_detail", args=[attempt.plan_item.campaign_id, number])
    return client.get(url).content.decode()


def test_the_step_page_shows_the_wait_and_the_stations_silence(qa_client, waiting_attempt):
    html = _page(qa_client, waiting_attempt)
    assert "Waiting for a FirmwareStatusNotification</b>" in html
    assert 'data-limit="600"' in html
    assert 80 <= _silent(html) < 120  # a busy machine may take a few seconds to render
    assert "End the wait (not observed)" in html


def test_a_frame_from_the_station_since_starts_the_silence_again(qa_client, waiting_attempt):
    Frame.objects.create(station_id=waiting_attempt.station_id, direction="in",
                         message_type="CALL", action="Heartbeat", unique_id="h1", raw="[]",
                         timestamp=timezone.now() - timedelta(seconds=5))  # fmt: skip
    html = _page(qa_client, waiting_attempt)
    assert 5 <= _silent(html) < 60


def test_a_vendor_sees_the_wait_but_no_button(vendor_client, vendor_user, qa_user, waiting_attempt):
    station = waiting_attempt.station
    station.charger_model.manufacturer = vendor_user.manufacturer
    station.charger_model.save()
    campaign_share(campaign=waiting_attempt.plan_item.campaign, user=qa_user)
    html = _page(vendor_client, waiting_attempt)
    assert "Waiting for a FirmwareStatusNotification" in html
    assert "End the wait" not in html


def test_qa_ending_the_wait_asks_the_worker_for_that_wait(qa_client, waiting_attempt):
    url = reverse("campaigns:attempt_end_wait", args=[waiting_attempt.pk])
    response = qa_client.post(url, {"wait": 3}, follow=True)
    waiting_attempt.refresh_from_db()
    assert waiting_attempt.end_wait_requested == 3
    assert "Ending the wait" in response.content.decode()


@pytest.mark.parametrize("wait", ["2", "", "x"])
def test_ending_a_wait_that_is_over_is_refused_with_a_message(qa_client, waiting_attempt, wait):
    url = reverse("campaigns:attempt_end_wait", args=[waiting_attempt.pk])
    response = qa_client.post(url, {"wait": wait}, follow=True)
    assert response.status_code == 200
    waiting_attempt.refresh_from_db()
    assert waiting_attempt.end_wait_requested is None
    html = response.content.decode()
    assert "That wait is over already." in html or "No wait was given." in html


def test_a_prompt_with_timed_actions_shows_each_with_its_own_countdown(qa_client, qa_user):
    from campaigns.models import Prompt

    campaign = services.campaign_create(station=StationFactory(), owner=qa_user)
    attempt = Attempt.objects.create(
        plan_item=campaign.plan.get(function__number=14), station=campaign.station, number=1,
        status=AttemptStatus.RUNNING, started=timezone.now(),
    )  # fmt: skip
    prompt = Prompt.objects.create(
        attempt=attempt, text="Cut the station's network, one action after the other:",
        choices=["Done", "Cannot do"], deadline=timezone.now() + timedelta(seconds=500),
        steps=[{"text": "Take it off the network.", "seconds": 30},
               {"text": "Leave it offline while it charges.", "seconds": 60},
               {"text": "Stop the transaction.", "seconds": 30},
               {"text": "Restore the network, then answer Done.", "seconds": 30}],
    )  # fmt: skip
    Prompt.objects.filter(pk=prompt.pk).update(opened=timezone.now() - timedelta(seconds=40))
    html = _page(qa_client, attempt)
    steps = re.findall(r'<li class="step-(\w+)" data-start="[^"]+" data-end="[^"]+">'
                       r'<span class="step-text">([^<]+)</span>', html)  # fmt: skip
    assert steps == [("done", "Take it off the network."),
                     ("now", "Leave it offline while it charges."),
                     ("next", "Stop the transaction."),
                     ("next", "Restore the network, then answer Done.")]  # fmt: skip
    left = re.search(r'now: <span class="step-seconds">(\d+)</span> s left', html)
    assert 40 <= int(left.group(1)) <= 50  # 60 s from second 30, seen at second 40 or so
    starts = re.findall(r'in <span class="step-seconds">(\d+)</span> s', html)
    first, second = (int(s) for s in starts)
    assert first <= 50 < second  # the third starts when the second ends, the fourth 30 s later
