"""Several stations at once: one real worker process (the embedded lab's command and default
concurrency) runs attempts on two stations side by side, while a station still takes one attempt
at a time."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from campaigns import services
from campaigns.engine.params import LabParameters
from campaigns.models import Attempt, AttemptStatus, Prompt
from campaigns.services import StationBusy
from tests.campaigns.lab import Lab
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ENDED = {s for s in AttemptStatus.values if s not in ("queued", "running")}
# Step 1 with the station ignoring TriggerMessage: the attempt asks the operator to reboot the
# station and waits on that prompt (up to prompt_timeout) until it is aborted.
WAITING = dict(answer_prompts_on_simulator=False, boot_window=1, status_window=1,
               prompt_timeout=240)  # fmt: skip


async def _poll(fetch, what: str, timeout: float):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if found := await sync_to_async(fetch)():
            return found
        await asyncio.sleep(0.3)
    raise AssertionError(f"{what} within {timeout:.0f} s")


@pytest.fixture
async def second_lab(lab_servers, transactional_db):
    lab = Lab(lab_servers)
    yield lab
    await lab.stop()


async def test_one_worker_runs_attempts_on_two_stations_at_the_same_time(lab, second_lab, worker):
    await lab.start(defects=("trigger_message_ignored",), charge_point_id="LAB-SIM-01")
    await second_lab.start(defects=("trigger_message_ignored",), charge_point_id="LAB-SIM-02")
    qa = await sync_to_async(UserFactory)(username="qa-parallel")
    attempts = []
    for station in (lab.station, second_lab.station):
        campaign = await sync_to_async(services.campaign_create)(
            station=station, owner=qa, parameters=LabParameters.fast(**WAITING)
        )
        item = await sync_to_async(campaign.plan.get)(function__number=1)
        attempts.append(await sync_to_async(services.attempt_start)(plan_item=item, user=qa))
        # The station's own rule holds: a second attempt on it is refused while one is queued.
        with pytest.raises(StationBusy):
            await sync_to_async(services.attempt_start)(plan_item=item, user=qa)

    # Both wait on their prompt at once: the second did not queue behind the first (which
    # would hold its prompt until aborted).
    for attempt in attempts:
        prompt = await _poll(
            Prompt.objects.filter(attempt_id=attempt.pk, status="open").first,
            f"no prompt opened for attempt {attempt.pk}",
            timeout=90,
        )
        assert "Reboot the station" in prompt.text
    running = await sync_to_async(
        lambda: set(Attempt.objects.filter(status="running").values_list("pk", flat=True))
    )()
    assert running == {a.pk for a in attempts}

    for attempt in attempts:
        await sync_to_async(services.attempt_abort)(attempt=attempt)
    ended = [
        await _poll(
            lambda pk=a.pk: Attempt.objects.filter(pk=pk, status__in=ENDED).first(),
            f"attempt {a.pk} did not end",
            timeout=60,
        )
        for a in attempts
    ]
    assert [a.status for a in ended] == [AttemptStatus.ABORTED] * 2
    first, second = ended
    assert first.started < second.ended and second.started < first.ended  # the intervals overlap
    assert worker.log().count("Task campaigns.run_attempt[") >= 2  # both ran in this one worker
