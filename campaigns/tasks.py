"""Celery tasks: each takes ids and calls the engine; one async_to_sync per task (rule 8)."""

from __future__ import annotations

import logging
import threading

from asgiref.sync import async_to_sync
from celery import shared_task
from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@shared_task(name="campaigns.run_attempt", acks_late=True)
def run_attempt(attempt_id: int) -> str | None:
    from campaigns.execution import execute_attempt

    return async_to_sync(execute_attempt)(attempt_id)


def mark_lost_attempts() -> list[int]:
    """A worker that died mid-attempt left it "running": say it was interrupted."""
    from django.db import close_old_connections

    from campaigns.services import attempts_mark_interrupted

    try:
        ids = attempts_mark_interrupted()
    except Exception:  # a missing table or a database hiccup must not stop the worker
        logger.exception("could not check for interrupted attempts")
        return []
    finally:
        close_old_connections()
    if ids:
        logger.warning("attempts %s were interrupted by a lost worker", ids)
    return ids


@worker_ready.connect
def look_for_lost_attempts(sender=None, **kwargs) -> None:
    """At start, and once more when the attempt of a worker that died just now has gone stale
    (a timer in this process, not a queued task: an ETA task would hold the worker's only
    prefetch slot and delay the next attempt)."""
    from django.conf import settings

    from campaigns.services import STALE_BEATS

    mark_lost_attempts()
    later = threading.Timer(
        settings.CERTLAB_ATTEMPT_HEARTBEAT * STALE_BEATS + 1, mark_lost_attempts
    )
    later.daemon = True
    later.start()
