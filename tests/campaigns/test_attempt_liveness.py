"""The worker's liveness beat of a running attempt rides out database errors (a dropped
connection, a server out of connections): the sweep must not call a live attempt interrupted
because PostgreSQL hiccuped, and an abort still stops the step afterwards."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError
from django.utils import timezone

from campaigns import execution, services
from campaigns.models import Attempt, AttemptStatus
from campaigns.recovery import attempts_mark_interrupted
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _flaky(real, failures: list[int]):
    """``real``, failing with the error psycopg raises when the server drops the connection
    for the first ``failures[0]`` calls."""

    def call(attempt_id: int):
        if failures[0]:
            failures[0] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return real(attempt_id)

    return call


def _running_attempt(qa_user) -> Attempt:
    station = StationFactory()
    campaign = services.campaign_create(station=station, owner=qa_user)
    # Its last beat long ago: without a new one the next sweep ends it.
    silent = timezone.now() - timedelta(minutes=10)
    return Attempt.objects.create(plan_item=campaign.plan.get(function__number=1),
                                  station=station, number=1, status=AttemptStatus.RUNNING,
                                  started_by=qa_user, started=silent, heartbeat=silent)  # fmt: skip


async def test_beats_continue_through_database_errors_and_abort_still_stops(
    qa_user, settings, monkeypatch
):
    settings.CERTLAB_ATTEMPT_HEARTBEAT = 1
    monkeypatch.setattr(execution, "POLL_EVERY", 0.05)
    looks, beats = [4], [3]
    monkeypatch.setattr(execution, "_look", _flaky(execution._look, looks))
    monkeypatch.setattr(execution, "_beat", _flaky(execution._beat, beats))
    attempt = await sync_to_async(_running_attempt)(qa_user)
    step = asyncio.create_task(asyncio.sleep(120))  # the step, waiting on its station
    watcher = asyncio.create_task(execution._watch(attempt.pk, step, None))

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while (await Attempt.objects.aget(pk=attempt.pk)).heartbeat < attempt.heartbeat + timedelta(
        minutes=5
    ):
        assert loop.time() < deadline, "no liveness beat reached the database within 60 s"
        assert not watcher.done(), watcher
        await asyncio.sleep(0.1)
    assert looks == [0] and beats == [0]  # every error happened, and the watcher went on
    assert not watcher.done()
    assert await sync_to_async(attempts_mark_interrupted)() == []

    await Attempt.objects.filter(pk=attempt.pk).aupdate(abort_requested=True)
    await asyncio.wait_for(watcher, 30)
    assert step.cancelled() or step.cancelling()
    with pytest.raises(asyncio.CancelledError):
        await step
