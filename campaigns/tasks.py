"""Celery tasks: each takes ids and calls the engine; an attempt runs as a task of the process's
one event loop (campaigns.attempt_loop), never through a thread of its own (rule 8).
Every worker also sweeps for attempts whose worker is gone (campaigns.recovery)."""

from __future__ import annotations

import base64
import json
import logging
import threading

from celery import current_app, shared_task
from celery.signals import worker_ready, worker_shutdown

logger = logging.getLogger(__name__)


@shared_task(name="campaigns.run_attempt", acks_late=True)
def run_attempt(attempt_id: int) -> str | None:
    """Run the attempt; then, when it belongs to a "run all remaining steps", the next step
    starts (its verdict proposed first, so the campaign page shows it as the next one begins)."""
    from django.db import connections

    from campaigns import attempt_loop
    from campaigns.execution import execute_attempt
    from campaigns.run_all import run_all_attempt_ended

    try:
        return attempt_loop.run(execute_attempt, attempt_id)
    finally:
        try:
            run_all_attempt_ended(attempt_id=attempt_id)
        except Exception:  # the sweep moves the sequence on (run_alls_catch_up)
            logger.exception("could not move on from attempt %s", attempt_id)
        finally:
            # This thread's connection is not kept: the worker's connections are the attempt
            # loop's few (CERTLAB_WORKER_DB_THREADS), not one more per Celery thread.
            connections.close_all()


def attempts_in_queue() -> set[int] | None:
    """The attempts whose task waits in the broker's queue; None when the broker cannot say.
    (The Redis transport keeps a queue as a list of JSON envelopes, the body base64 JSON.)"""
    try:
        with current_app.connection_for_read() as connection:
            client = connection.default_channel.client
            envelopes = client.lrange(current_app.conf.task_default_queue, 0, -1)
    except Exception:
        logger.warning("could not read the broker's queue", exc_info=True)
        return None
    ids = set()
    for envelope in envelopes:
        try:
            message = json.loads(envelope)
            if message["headers"]["task"] == run_attempt.name:
                args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
                ids.add(int(args[0]))
        except (ValueError, KeyError, TypeError, IndexError):
            continue  # not a message of ours
    return ids


def sweep_lost_attempts() -> dict[str, list[int]]:
    """One look for attempts nobody runs any more (safe to call any time, from any process)."""
    from django.db import close_old_connections

    from campaigns import recovery, run_all

    found: dict[str, list[int]] = {}
    try:
        found = {
            "interrupted": recovery.attempts_mark_interrupted(),
            "aborted": recovery.attempts_end_aborted(),
            "sent again": recovery.attempts_requeue_lost(
                waiting=attempts_in_queue, send=run_attempt.delay
            ),
        }
        # Sequences whose attempt the lines above (or an abort) ended move on.
        run_all.run_alls_catch_up()
    except Exception:  # a missing table or a database hiccup must not stop the worker
        logger.exception("could not look for lost attempts")
    finally:
        close_old_connections()
    for what, ids in found.items():
        if ids:
            logger.warning("attempts %s: %s (their worker or task was lost)", ids, what)
    return found


class Sweeper(threading.Thread):
    """Every heartbeat, in the worker's main process (a thread, not a queued task: a task would
    wait behind the attempts it should rescue and hold the worker's only prefetch slot)."""

    def __init__(self, every: float) -> None:
        super().__init__(name="certlab-sweeper", daemon=True)
        self.every = every
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            sweep_lost_attempts()
            self.stopped.wait(self.every)


_sweeper: Sweeper | None = None


@worker_ready.connect
def start_sweeping(sender=None, **kwargs) -> None:
    from django.conf import settings

    global _sweeper
    _sweeper = Sweeper(settings.CERTLAB_ATTEMPT_HEARTBEAT)
    _sweeper.start()


@worker_shutdown.connect
def stop_sweeping(sender=None, **kwargs) -> None:
    if _sweeper is not None:
        _sweeper.stopped.set()
