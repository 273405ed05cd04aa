"""Attempts whose worker is gone, found by a sweep that every live worker runs every heartbeat
(and by Abort at once), so that no station stays blocked by an attempt nobody runs:

- running, its worker silent for ``STALE_BEATS`` heartbeats: interrupted, its prompts closed;
- running with an abort requested, its worker silent for ``ABORT_STALE_BEATS``: aborted;
- queued with an abort requested: aborted (nobody may ever pick its task up);
- queued for ``STALE_BEATS`` heartbeats while its task is in no queue (a worker died holding the
  message, or the broker lost it): its task is sent again. Claiming is idempotent
  (campaigns.execution._claim), so a task delivered twice runs once.

While an attempt is queued, ``heartbeat`` is when its task was last sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.events import attempt_changed_sync
from campaigns.models import Attempt, AttemptStatus, Prompt, PromptStatus
from campaigns.sealing import attempt_seal_ids

logger = logging.getLogger(__name__)

STALE_BEATS = 6  # a running attempt whose worker missed this many heartbeats is lost
ABORT_STALE_BEATS = 2  # with an abort requested, a live worker answers within one beat

WORKER_LOST = "The worker running this attempt stopped; retest the step."
ABORTED_WORKER_LOST = "Aborted by the operator; the worker running it had stopped."
ABORTED_QUEUED = "Aborted before it started."


def _before(beats: int, now: datetime) -> datetime:
    return now - timedelta(seconds=settings.CERTLAB_ATTEMPT_HEARTBEAT * beats)


def _end(ids: list[int], *, was: str, status: str, reason: str, now: datetime) -> list[int]:
    """End these attempts if they are still ``was`` (another sweep, or a worker claiming a
    queued one, may have been first)."""
    ended = []
    for pk in ids:
        # The end and its prompts' cancellation commit together: nobody sees an ended attempt
        # still offering a prompt (sealing, which reads its frames, may take a while).
        with transaction.atomic():
            updated = Attempt.objects.filter(pk=pk, status=was).update(
                status=status,
                ended=now,
                ending_reason=reason,
                proposed_verdict="incomplete",
                proposed_text=f"Incomplete: {reason}",
            )
            if updated:
                Prompt.objects.filter(attempt_id=pk, status=PromptStatus.OPEN).update(
                    status=PromptStatus.CANCELLED
                )
                ended.append(pk)
    attempt_seal_ids(ended)
    for pk in ended:  # the page re-reads the attempt: no prompt left to answer
        attempt_changed_sync(pk, "status")
    return ended


def attempts_mark_interrupted(*, now: datetime | None = None) -> list[int]:
    """Running attempts whose worker stopped beating are interrupted, never running forever."""
    now = now or timezone.now()
    stale = Attempt.objects.filter(
        status=AttemptStatus.RUNNING, heartbeat__lt=_before(STALE_BEATS, now)
    )
    return _end(
        list(stale.values_list("pk", flat=True)),
        was=AttemptStatus.RUNNING,
        status=AttemptStatus.INTERRUPTED,
        reason=WORKER_LOST,
        now=now,
    )


def attempts_end_aborted(*, now: datetime | None = None) -> list[int]:
    """Aborts nobody will act on: queued ones, and running ones whose worker is silent."""
    now = now or timezone.now()
    queued = Attempt.objects.filter(status=AttemptStatus.QUEUED, abort_requested=True)
    running = Attempt.objects.filter(
        status=AttemptStatus.RUNNING,
        abort_requested=True,
        heartbeat__lt=_before(ABORT_STALE_BEATS, now),
    )
    return _end(
        list(queued.values_list("pk", flat=True)),
        was=AttemptStatus.QUEUED,
        status=AttemptStatus.ABORTED,
        reason=ABORTED_QUEUED,
        now=now,
    ) + _end(
        list(running.values_list("pk", flat=True)),
        was=AttemptStatus.RUNNING,
        status=AttemptStatus.ABORTED,
        reason=ABORTED_WORKER_LOST,
        now=now,
    )


def attempts_requeue_lost(
    *,
    waiting: Callable[[], set[int] | None],
    send: Callable[[int], None],
    now: datetime | None = None,
) -> list[int]:
    """Send again the tasks of queued attempts that waited too long and are in no queue.
    ``waiting()`` names the attempts whose task is in the broker's queue (None: cannot say)."""
    now = now or timezone.now()
    overdue = list(
        Attempt.objects.annotate(sent=Coalesce("heartbeat", "queued"))
        .filter(
            status=AttemptStatus.QUEUED, abort_requested=False, sent__lt=_before(STALE_BEATS, now)
        )
        .values_list("pk", flat=True)
    )
    if not overdue:
        return []
    in_queue = waiting()
    if in_queue is None:
        return []
    lost = []
    for pk in overdue:
        if pk in in_queue:
            continue
        # Only one sweeper sends it again: the one whose update still saw the old time.
        if Attempt.objects.filter(
            Q(heartbeat__isnull=True) | Q(heartbeat__lt=_before(STALE_BEATS, now)),
            pk=pk,
            status=AttemptStatus.QUEUED,
        ).update(heartbeat=now):
            send(pk)
            lost.append(pk)
    return lost
