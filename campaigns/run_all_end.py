"""How a "run all remaining steps" ends: below both campaigns.run_all (which starts and moves
sequences on) and campaigns.services (whose abort must stop a sequence at once), so that neither
imports the other."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from campaigns.events import run_all_changed_sync
from campaigns.models import Attempt, AttemptStatus, RunAll, RunAllStatus

# An attempt that ended this way stops the sequence: QA stopped it, or the station or the worker
# went away and every next step would fail the same way.
STOPS_THE_RUN = {
    AttemptStatus.ABORTED: "step {number} was aborted",
    AttemptStatus.STATION_OFFLINE: "the station went offline during step {number}",
    AttemptStatus.INTERRUPTED: "the worker running step {number} stopped",
}


def run_all_end(run: RunAll, status: str, reason: str) -> None:
    run.status, run.reason, run.ended = status, reason, timezone.now()
    run.save(update_fields=["status", "reason", "ended"])


def run_all_stop_on_abort(*, attempt: Attempt) -> bool:
    """QA aborted the attempt a sequence is on: the sequence stops now, whether the attempt was
    still queued (ended at once, nobody would move the sequence on before the worker's sweep) or
    running (its worker stops it within a poll, and must not start the next step meanwhile).
    False when the attempt is no running sequence's current one."""
    with transaction.atomic():
        run = (
            RunAll.objects.select_for_update()
            .filter(current_id=attempt.pk, status=RunAllStatus.RUNNING)
            .first()
        )
        if run is None:
            return False
        number = (
            Attempt.objects.filter(pk=attempt.pk)
            .values_list("plan_item__function__number", flat=True)
            .get()
        )
        reason = STOPS_THE_RUN[AttemptStatus.ABORTED].format(number=number)
        run_all_end(run, RunAllStatus.STOPPED, reason.capitalize() + ".")
    run_all_changed_sync(run.campaign_id)
    return True
