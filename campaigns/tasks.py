"""Celery tasks: each takes ids and calls the engine; one async_to_sync per task (rule 8)."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from celery import shared_task
from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@shared_task(name="campaigns.run_attempt", acks_late=True)
def run_attempt(attempt_id: int) -> str | None:
    from campaigns.execution import execute_attempt

    return async_to_sync(execute_attempt)(attempt_id)


@worker_ready.connect
def mark_lost_attempts(**kwargs) -> None:
    """A worker that died mid-attempt left it "running": say it was interrupted."""
    from campaigns.services import attempts_mark_interrupted

    try:
        if ids := attempts_mark_interrupted():
            logger.warning("attempts %s were interrupted by a lost worker", ids)
    except Exception:  # a missing table must not stop the worker from starting
        logger.exception("could not check for interrupted attempts")
