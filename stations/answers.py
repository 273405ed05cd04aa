"""Where the Central System's answers get their database work done: never in the queue of the
async ORM's single database thread.

That thread (``database_sync_to_async``) serves every handshake, connection close and page view
of the daphne process one at a time. Under load (several stations rebooting at once, each
handshake a PBKDF2 password check of about 0.3 s of CPU on this 2-core machine), an answer whose
database work waited there came seconds late: a station that boots and hears nothing for 5 s
gives up on the boot, and its step then blamed the station for CertLab (issue 13). So:

- the few queries an answer needs (the boot's configured status and interval, an idTag's
  status, a new transaction's id) run on ``ANSWER_THREADS`` threads of their own, each with one
  persistent database connection: a bounded number of connections per process, whatever the
  number of stations;
- a password check runs off both (it needs no database) and a verified credential is
  remembered for the process, keyed on the stored hash, so a station that reconnects every
  step does not pay PBKDF2 each time (a changed password changes the key).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

ANSWER_THREADS = 2  # database connections per daphne process for answers (a query is ~1-3 ms)
VERIFIED_MAX = 10_000  # credentials remembered per process (64 bytes each)

_pool = ThreadPoolExecutor(max_workers=ANSWER_THREADS, thread_name_prefix="certlab-answers")
# PBKDF2 releases the GIL: two checks at once use both cores of a small server.
_checks = ThreadPoolExecutor(max_workers=2, thread_name_prefix="certlab-passwords")
# A process-private key: what is remembered cannot be tested against guesses outside it.
_KEY = os.urandom(32)
_verified: OrderedDict[bytes, None] = OrderedDict()
_verified_lock = threading.Lock()  # the loop reads it, the check threads write it

R = TypeVar("R")


def _fresh(fn: Callable[..., R]) -> Callable[..., R]:
    # What Django does after a request, here after a failed answer: a connection the server
    # dropped (a restart, a network cut) is replaced instead of failing every later answer.
    def run(*args, **kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except Exception:
            close_old_connections()
            raise

    return run


def answer_db(fn: Callable[..., R]) -> Callable[..., R]:
    """``fn`` (a service) as a coroutine run on the answer threads."""
    return sync_to_async(_fresh(fn), thread_sensitive=False, executor=_pool)


def _credential(password_hash: str, raw_password: str) -> bytes:
    return hmac.digest(_KEY, f"{password_hash}\0{raw_password}".encode(), hashlib.sha256)


async def password_ok(station, raw_password: str) -> bool:
    """``station.check_password(raw_password)``, off the event loop and the database thread."""
    if not station.password_hash:
        return False
    key = _credential(station.password_hash, raw_password)
    with _verified_lock:
        if key in _verified:
            _verified.move_to_end(key)
            return True

    def check() -> bool:
        # Remembered here, not after the await: a handshake that timed out meanwhile still
        # leaves its station's retry a check it need not pay again.
        ok = station.check_password(raw_password)
        if ok:
            with _verified_lock:
                _verified[key] = None
                while len(_verified) > VERIFIED_MAX:
                    _verified.popitem(last=False)
        return ok

    return await sync_to_async(check, thread_sensitive=False, executor=_checks)()
