"""Run all remaining steps for real: a real daphne, Celery worker and simulator. The worker
starts each next step when the one before ends; the sequence waits on each prompt until it is
done on the simulator (as the campaign page's button does it)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from asgiref.sync import sync_to_async

from campaigns import run_all, services
from campaigns.engine.params import LabParameters
from campaigns.events import run_all_group, station_attempts_group
from campaigns.models import Attempt, Prompt, PromptStatus, RunAll
from stations.bus import channel_layer
from tests.campaigns import test_campaign_e2e
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

worker_env = test_campaign_e2e.worker_env
worker = test_campaign_e2e.worker


def _state(run_pk: int, station_id: int) -> tuple[RunAll, Prompt | None]:
    run = RunAll.objects.get(pk=run_pk)
    prompt = (
        Prompt.objects.filter(attempt__station_id=station_id, status=PromptStatus.OPEN)
        .order_by("pk")
        .first()
    )
    return run, prompt


def _step_number(prompt: Prompt) -> int:
    return prompt.attempt.plan_item.function.number


async def _follow(run: RunAll, station_id: int, user, *, timeout: float) -> list[int]:
    """Until the sequence ends: woken by its events and the station's prompts, each prompt is
    done on the simulator. Returns the step numbers whose prompts were answered."""
    layer = channel_layer()
    channel = await layer.new_channel()
    groups = [run_all_group(run.campaign_id), station_attempts_group(station_id)]
    for group in groups:
        await layer.group_add(group, channel)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    answered = []
    try:
        while True:
            current, prompt = await sync_to_async(_state)(run.pk, station_id)
            if not current.is_running:
                return answered
            if prompt is not None:
                number = await sync_to_async(_step_number)(prompt)
                await sync_to_async(services.prompt_do_on_simulator)(prompt=prompt, user=user)
                answered.append(number)
                continue
            remaining = deadline - loop.time()
            assert remaining > 0, f"the run did not end within {timeout} s: {current.reason}"
            # A slice at most: an event between the read and the wait is still seen next round.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(layer.receive(channel), min(remaining, 10))
    finally:
        for group in groups:
            with contextlib.suppress(Exception):
                await layer.group_discard(group, channel)


async def test_the_worker_runs_the_steps_one_after_the_other_waiting_on_prompts(lab, worker):
    await lab.start()
    qa = await sync_to_async(UserFactory)(username="qa-run-all")
    campaign = await sync_to_async(services.campaign_create)(
        station=lab.station,
        owner=qa,
        parameters=LabParameters.fast(answer_prompts_on_simulator=False, prompt_timeout=120),
    )
    run = await sync_to_async(run_all.campaign_run_all)(campaign=campaign, user=qa, numbers=[1, 6])
    answered = await _follow(run, lab.station.pk, qa, timeout=400)
    run = await sync_to_async(RunAll.objects.get)(pk=run.pk)
    attempts = await sync_to_async(
        lambda: list(
            Attempt.objects.filter(pk__in=run.attempts).select_related("plan_item__function")
        )
    )()
    assert run.status == "finished", run.reason
    assert [a.plan_item.function.number for a in sorted(attempts, key=lambda a: a.pk)] == [1, 6]
    assert 6 in answered  # it waited on its prompts (plug in, present the tag) and went on
    for attempt in attempts:
        assert attempt.status == "finished", (attempt, attempt.ending_reason)
        assert attempt.proposed_verdict == "ok", (attempt, attempt.proposed_text)
        assert not attempt.final_verdict  # QA decide; the run only proposes
