"""A worker killed (SIGKILL) during an attempt while another worker lives: the live worker's
sweep marks the attempt interrupted within a bounded time, the station is free for a retest,
the page stops offering the dead prompt, Abort ends an attempt whose worker is gone at once, and
a queued attempt whose task was lost is run after all."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse

from campaigns import services
from campaigns.engine.params import LabParameters
from campaigns.models import Attempt, AttemptStatus, Prompt
from campaigns.recovery import STALE_BEATS
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ENDED = {s for s in AttemptStatus.values if s not in ("queued", "running")}
HEARTBEAT = 1  # s, CERTLAB_ATTEMPT_HEARTBEAT of the setup's processes
# Six silent beats, the sweeper's next look, and room for a busy machine.
FOUND_WITHIN = STALE_BEATS * HEARTBEAT + 15


async def _campaign(station):
    qa = await sync_to_async(UserFactory)(username="qa-faults")
    params = LabParameters.fast(
        answer_prompts_on_simulator=False, boot_window=1, status_window=1, prompt_timeout=300
    )
    campaign = await sync_to_async(services.campaign_create)(
        station=station.station, owner=qa, parameters=params
    )
    return campaign, qa


async def _start(campaign, qa, number: int = 1) -> Attempt:
    item = await sync_to_async(campaign.plan.get)(function__number=number)
    return await sync_to_async(services.attempt_start)(plan_item=item, user=qa)


async def _until(predicate, timeout: float, what: str):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if result := await sync_to_async(predicate)():
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout} s")


def _open_prompt(attempt_pk: int):
    return lambda: Prompt.objects.filter(attempt_id=attempt_pk, status="open").first()


def _ended(attempt_pk: int):
    return lambda: Attempt.objects.filter(pk=attempt_pk, status__in=ENDED).first()


def _step_page(qa, campaign) -> str:
    client = Client()
    client.force_login(qa)
    return client.get(reverse("campaigns:step_detail", args=[campaign.pk, 1])).content.decode()


async def test_killed_worker_attempt_is_interrupted_by_the_live_worker_and_the_station_freed(
    cluster, station
):
    await station.start(defects=("trigger_message_ignored",))
    campaign, qa = await _campaign(station)
    attempt = await _start(campaign, qa)
    prompt = await _until(_open_prompt(attempt.pk), 60, "the step's prompt")
    assert "prompt_answer" not in prompt.text
    page = await sync_to_async(_step_page)(qa, campaign)
    assert reverse("campaigns:prompt_answer", args=[prompt.pk]) in page

    holder = cluster.worker_running()
    killed_at = time.monotonic()
    cluster.kill(cluster.workers[holder])
    attempt = await _until(_ended(attempt.pk), FOUND_WITHIN, "the interrupted attempt")
    found_after = time.monotonic() - killed_at

    assert attempt.status == AttemptStatus.INTERRUPTED
    assert attempt.ending_reason == "The worker running this attempt stopped; retest the step."
    assert attempt.proposed_verdict == "incomplete"
    assert found_after >= STALE_BEATS * HEARTBEAT - 1  # not before the worker went silent
    await sync_to_async(prompt.refresh_from_db)()
    assert prompt.status == "cancelled"
    page = await sync_to_async(_step_page)(qa, campaign)
    assert reverse("campaigns:prompt_answer", args=[prompt.pk]) not in page
    assert "Interrupted" in page

    # The station is free: a retest runs on the worker that lives and reaches its prompt.
    retest = await _start(campaign, qa)
    await _until(_open_prompt(retest.pk), 60, "the retest's prompt")
    await sync_to_async(services.attempt_abort)(attempt=retest)
    retest = await _until(_ended(retest.pk), 15, "the aborted retest")
    assert retest.status == AttemptStatus.ABORTED
    assert retest.ending_reason == ""  # the live worker ended it, as every abort


async def test_abort_ends_an_attempt_whose_worker_is_gone_at_once(cluster, station):
    await station.start(defects=("trigger_message_ignored",))
    campaign, qa = await _campaign(station)
    attempt = await _start(campaign, qa)
    await _until(_open_prompt(attempt.pk), 60, "the step's prompt")
    cluster.kill(cluster.workers[cluster.worker_running()])
    await asyncio.sleep(2 * HEARTBEAT + 1)  # silent for two beats, far from the six of a sweep

    await sync_to_async(services.attempt_abort)(attempt=attempt)
    await sync_to_async(attempt.refresh_from_db)()
    assert attempt.status == AttemptStatus.ABORTED
    assert attempt.ending_reason == "Aborted by the operator; the worker running it had stopped."
    assert not await sync_to_async(Prompt.objects.filter(attempt=attempt, status="open").exists)()


async def test_queued_attempt_whose_task_was_lost_is_sent_again_and_runs(
    cluster, station, monkeypatch
):
    from campaigns import tasks

    await station.start(defects=("trigger_message_ignored",))
    campaign, qa = await _campaign(station)
    sent = tasks.run_attempt.delay
    monkeypatch.setattr(tasks.run_attempt, "delay", lambda *args: None)  # the broker lost it
    attempt = await _start(campaign, qa)
    monkeypatch.setattr(tasks.run_attempt, "delay", sent)
    assert (await sync_to_async(Attempt.objects.get)(pk=attempt.pk)).status == "queued"

    await _until(_open_prompt(attempt.pk), FOUND_WITHIN + 30, "the lost attempt's prompt")
    attempt = await sync_to_async(Attempt.objects.get)(pk=attempt.pk)
    assert attempt.status == AttemptStatus.RUNNING
    await sync_to_async(services.attempt_abort)(attempt=attempt)
    await _until(_ended(attempt.pk), 15, "the aborted attempt")
