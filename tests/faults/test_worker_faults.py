"""A worker killed (SIGKILL) during an attempt while another worker lives: the live worker's
sweep marks the attempt interrupted within a bounded time, the station is free for a retest,
the page stops offering the dead prompt, Abort ends an attempt whose worker is gone at once, and
a queued attempt whose task was lost is run after all.

The killed worker's message stays reserved in Redis (tasks are acknowledged late) until the
broker's visibility timeout, an hour, gives it to a live worker; the tests hand it over at once
(what kombu does then) and show that it ends without running anything: its attempt has ended,
and the station's new attempt is left alone. (A message reserved but not yet started hardly
exists with a prefetch of 1 and late acks: a worker takes one only for a free pool process. If
one were lost with its worker, its attempt is queued and in no queue: the last test's case.)"""

from __future__ import annotations

import asyncio
import base64
import json
import re
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


def _held_messages(attempt_pk: int) -> list[tuple[str, str]]:
    """(delivery tag, task id) of the attempt's messages that a worker took from the queue and
    never acknowledged (the Redis transport keeps them in its ``unacked`` hash)."""
    from certlab.celery import app

    held = []
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for tag, raw in channel.client.hgetall(channel.unacked_key).items():
            message, _exchange, _key = json.loads(raw)
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            if message["headers"]["task"] == "campaigns.run_attempt" and args == [attempt_pk]:
                held.append((tag.decode(), message["headers"]["id"]))
    return held


def _redeliver(tag: str) -> None:
    """Put a held message back in its queue, as kombu does once its visibility timeout passed."""
    from certlab.celery import app

    with app.connection_for_write() as connection:
        connection.default_channel.qos.restore_by_tag(tag)


async def _redelivered_ends_at_once(cluster, attempt_pk: int) -> None:
    """Hand the attempt's held message back to the queue: a worker takes it and it ends at once
    (nothing run, its attempt is not queued), and it is acknowledged, gone for good."""
    [(tag, task_id)] = await sync_to_async(_held_messages)(attempt_pk)
    await sync_to_async(_redeliver)(tag)

    def logs() -> str:
        return "".join(process.log() for process in cluster.workers.values())

    ended = re.compile(rf"run_attempt\[{task_id}\] succeeded in [0-9.]+s: (.*)")
    await _until(lambda: ended.search(logs()), 60, "the redelivered task's end")
    assert [m.group(1) for m in ended.finditer(logs())] == ["None"]
    assert logs().count(f"run_attempt[{task_id}] received") == 2
    assert await sync_to_async(_held_messages)(attempt_pk) == []


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

    [(_tag, task_id)] = await sync_to_async(_held_messages)(attempt.pk)
    holder = cluster.worker_running(task_id)
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
    retest_prompt = await _until(_open_prompt(retest.pk), 60, "the retest's prompt")

    # The dead worker's message, still held, reaches the live worker (after an hour in real
    # life): it ends at once, the interrupted attempt stays as it was, the retest runs on.
    await _redelivered_ends_at_once(cluster, attempt.pk)
    again = await sync_to_async(Attempt.objects.get)(pk=attempt.pk)
    assert (again.status, again.ended, again.ending_reason) == (
        attempt.status, attempt.ended, attempt.ending_reason
    )  # fmt: skip
    assert await sync_to_async(_open_prompt(retest.pk))() == retest_prompt
    attempts = Attempt.objects.filter(plan_item__campaign=campaign)
    assert await sync_to_async(attempts.count)() == 2  # nothing started a third

    await sync_to_async(services.attempt_abort)(attempt=retest)
    retest = await _until(_ended(retest.pk), 15, "the aborted retest")
    assert retest.status == AttemptStatus.ABORTED
    assert retest.ending_reason == ""  # the live worker ended it, as every abort


async def test_abort_ends_an_attempt_whose_worker_is_gone_at_once(cluster, station):
    await station.start(defects=("trigger_message_ignored",))
    campaign, qa = await _campaign(station)
    attempt = await _start(campaign, qa)
    await _until(_open_prompt(attempt.pk), 60, "the step's prompt")
    [(_tag, task_id)] = await sync_to_async(_held_messages)(attempt.pk)
    cluster.kill(cluster.workers[cluster.worker_running(task_id)])
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
    prompt = await sync_to_async(_open_prompt(attempt.pk))()

    # Its message redelivered while it runs (a visibility timeout shorter than an attempt, or
    # a sweep and a late broker both sending it): the copy ends at once, the attempt runs on.
    await _redelivered_ends_at_once(cluster, attempt.pk)
    assert await sync_to_async(_open_prompt(attempt.pk))() == prompt
    running = await sync_to_async(Attempt.objects.get)(pk=attempt.pk)
    assert (running.status, running.started) == (AttemptStatus.RUNNING, attempt.started)

    await sync_to_async(services.attempt_abort)(attempt=attempt)
    await _until(_ended(attempt.pk), 15, "the aborted attempt")
