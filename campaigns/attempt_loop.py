"""One event loop per worker process, on a thread of its own, on which every attempt the
process runs is a task (issue 11: several stations at once).

A Celery task (a thread of the worker's thread pool) hands its attempt to this loop and waits
for the end. Eight stations' attempts then cost eight asyncio tasks in one process instead of
eight prefork children of ~105 MB each, and the process keeps one channel layer (one per loop,
rule 12) and one small pool of database threads (``DB_THREADS`` connections, whatever the
number of attempts) instead of a new loop, layer and set of connections per task. A step
waits on the station nearly all of its time, so the attempts share the loop well.

The same code runs under the prefork pool (one attempt per child at a time).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings

R = TypeVar("R")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid: int | None = None


def _start() -> asyncio.AbstractEventLoop:
    """The process's attempt loop, started on first use."""
    global _loop, _pid
    with _lock:
        if _loop is None or _pid != os.getpid():  # a prefork child does not inherit the thread
            loop = asyncio.new_event_loop()
            # The ORM runs on these threads (campaigns.execution._db): each keeps one
            # persistent connection, so the process holds at most this many.
            loop.set_default_executor(
                ThreadPoolExecutor(
                    max_workers=settings.CERTLAB_WORKER_DB_THREADS,
                    thread_name_prefix="certlab-attempt-db",
                )
            )
            thread = threading.Thread(target=loop.run_forever, name="certlab-attempts", daemon=True)
            thread.start()
            _loop, _pid = loop, os.getpid()
        return _loop


def run(fn: Callable[..., Awaitable[R]], *args) -> R:
    """``await fn(*args)`` on the process's attempt loop; blocks the calling thread until done.
    If the caller is interrupted (the prefork pool's soft time limit), the attempt's task is
    cancelled, so the step ends the way an abort ends it."""
    future = asyncio.run_coroutine_threadsafe(fn(*args), _start())
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise
