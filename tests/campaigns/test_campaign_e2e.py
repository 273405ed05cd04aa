"""Campaigns for real: attempts queued from the app, run by a real Celery worker process
through Redis, the station bus and a real daphne to the simulator, and every way an attempt can
end: finished, aborted, a prompt timing out, the station going away, the worker killed."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError

from campaigns import services
from campaigns.engine.params import LabParameters
from campaigns.models import Attempt, AttemptStatus, Prompt
from tests.campaigns.lab import UPDATE_VERSION, child_environment
from tests.factories import UserFactory
from tests.processes import celery_worker

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ENDED = {s for s in AttemptStatus.values if s not in ("queued", "running")}


@pytest.fixture
def worker_env(lab_servers):
    return {
        **child_environment(),
        "CERTLAB_PUBLIC_HOST": "127.0.0.1",
        "CERTLAB_PUBLIC_HTTP_PORT": str(lab_servers.http_port),
        "CERTLAB_PUBLIC_FTP_PORT": str(lab_servers.ftp_port),
        "CERTLAB_ATTEMPT_HEARTBEAT": "1",
    }


@pytest.fixture
def worker(worker_env, tmp_path):
    process = celery_worker(log_path=tmp_path / "worker.log", env=worker_env)
    with process:
        process.wait_for_log("ready.", timeout=60)
        yield process


async def _campaign(lab, **params):
    qa = await sync_to_async(UserFactory)(username="qa-e2e")
    return await sync_to_async(services.campaign_create)(
        station=lab.station, owner=qa, parameters=LabParameters.fast(**params)
    ), qa


async def _start(campaign, qa, number: int) -> Attempt:
    item = await sync_to_async(campaign.plan.get)(function__number=number)
    return await sync_to_async(services.attempt_start)(plan_item=item, user=qa)


async def _wait(attempt_pk: int, statuses, timeout: float = 60) -> Attempt:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        attempt = await sync_to_async(Attempt.objects.get)(pk=attempt_pk)
        if attempt.status in statuses:
            return attempt
        await asyncio.sleep(0.3)
    raise AssertionError(f"attempt {attempt_pk} is still {attempt.status} after {timeout} s")


async def _open_prompt(attempt_pk: int, timeout: float = 30) -> Prompt:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        prompt = await sync_to_async(
            Prompt.objects.filter(attempt_id=attempt_pk, status="open").first
        )()
        if prompt:
            return prompt
        await asyncio.sleep(0.3)
    raise AssertionError("no prompt opened")


async def test_a_whole_rehearsal_runs_through_the_worker_follows_the_update_and_never_signs_off(
    lab, worker
):
    await lab.start()
    campaign, qa = await _campaign(lab)
    proposed = {}
    for number in range(1, 17):
        attempt = await _start(campaign, qa, number)
        attempt = await _wait(attempt.pk, ENDED, timeout=90)
        proposed[number] = (attempt.status, attempt.proposed_verdict, attempt.proposed_text)
        verdict = "ok" if attempt.proposed_verdict == "ok" else "failed"
        await sync_to_async(services.attempt_record_verdict)(
            attempt=attempt, user=qa, verdict=verdict, result_text=attempt.proposed_text
        )
    failures = {n: p for n, p in proposed.items() if p[:2] != ("finished", "ok")}
    assert failures == {}, failures
    await sync_to_async(services.campaign_complete)(campaign=campaign)
    with pytest.raises(ValidationError, match="A rehearsal cannot be signed off"):
        await sync_to_async(services.campaign_sign_off)(campaign=campaign, user=qa)
    await sync_to_async(campaign.refresh_from_db)()
    assert (campaign.status, campaign.rehearsal) == ("completed", True)
    # Step 12 installed the update: the campaign, the later steps and the station follow it.
    installed, ran_on, expected = await sync_to_async(
        lambda: (
            campaign.firmware_after_update.version,
            {a.plan_item.function.number: a.firmware.version
             for a in Attempt.objects.filter(plan_item__campaign=campaign)},
            type(lab.station).objects.get(pk=lab.station.pk).expected_firmware.version,
        )
    )()  # fmt: skip
    assert installed == expected == UPDATE_VERSION
    assert {ran_on[n] for n in range(13, 17)} == {UPDATE_VERSION}
    assert UPDATE_VERSION not in {ran_on[n] for n in range(1, 13)}
    without_evidence = await sync_to_async(
        lambda: list(
            Attempt.objects.filter(plan_item__campaign=campaign, checks__isnull=True).values_list(
                "plan_item__function__number", flat=True
            )
        )
    )()
    assert without_evidence == []


async def test_abort_ends_a_waiting_attempt_as_aborted(lab, worker):
    await lab.start(defects=("trigger_message_ignored",))
    campaign, qa = await _campaign(lab, answer_prompts_on_simulator=False, boot_window=1,
                                   status_window=1, prompt_timeout=120)  # fmt: skip
    attempt = await _start(campaign, qa, 1)
    prompt = await _open_prompt(attempt.pk)
    assert "Reboot the station" in prompt.text
    await sync_to_async(services.attempt_abort)(attempt=attempt)
    attempt = await _wait(attempt.pk, ENDED, timeout=15)
    assert attempt.status == AttemptStatus.ABORTED
    await sync_to_async(prompt.refresh_from_db)()
    assert prompt.status == "cancelled"
    assert attempt.proposed_verdict == "incomplete"


async def test_an_unanswered_prompt_times_out_and_the_attempt_ends(lab, worker):
    await lab.start(defects=("trigger_message_ignored",))
    campaign, qa = await _campaign(lab, answer_prompts_on_simulator=False, boot_window=1,
                                   status_window=1, prompt_timeout=2)  # fmt: skip
    attempt = await _start(campaign, qa, 1)
    attempt = await _wait(attempt.pk, ENDED, timeout=30)
    assert attempt.status == AttemptStatus.FINISHED
    # An expired prompt means "not observed", never Failed: the reboot was never done.
    assert attempt.proposed_verdict == "incomplete"
    assert "expired" in attempt.proposed_text and "with no answer" in attempt.proposed_text
    prompt = await sync_to_async(Prompt.objects.get)(attempt=attempt)
    assert prompt.status == "expired"


async def test_a_station_that_goes_away_ends_the_attempt_station_offline(lab, worker):
    await lab.start(defects=("trigger_message_ignored",))
    campaign, qa = await _campaign(
        lab, answer_prompts_on_simulator=False, boot_window=1, status_window=1,
        prompt_timeout=120, reconnect_timeout=2,
    )  # fmt: skip
    attempt = await _start(campaign, qa, 1)
    await _open_prompt(attempt.pk)
    await lab.stop()
    attempt = await _wait(attempt.pk, ENDED, timeout=20)
    assert attempt.status == AttemptStatus.STATION_OFFLINE
    assert "disconnected" in attempt.proposed_text


async def test_a_killed_worker_leaves_the_attempt_interrupted(lab, worker, worker_env, tmp_path):
    await lab.start(defects=("trigger_message_ignored",))
    campaign, qa = await _campaign(lab, answer_prompts_on_simulator=False, boot_window=1,
                                   status_window=1, prompt_timeout=120)  # fmt: skip
    attempt = await _start(campaign, qa, 1)
    await _open_prompt(attempt.pk)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.proc.wait(10)
    await asyncio.sleep(1)
    assert (await sync_to_async(Attempt.objects.get)(pk=attempt.pk)).status == "running"
    with celery_worker(log_path=tmp_path / "worker2.log", env=worker_env) as second:
        second.wait_for_log("ready.", timeout=60)
        attempt = await _wait(attempt.pk, ENDED, timeout=30)
    assert attempt.status == AttemptStatus.INTERRUPTED
    assert "worker" in attempt.ending_reason
