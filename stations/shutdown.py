"""A daphne process that is asked to stop (SIGTERM, or SIGINT) tells its stations first.

Daphne (Twisted) answers SIGTERM by stopping its reactor, which cancels every application
coroutine: a consumer's disconnect() never runs, so its station stayed registered as online,
its connection record open, and the log said "Task was destroyed but it is pending".
``install()`` puts a handler in front of Twisted's: every OCPP consumer of the process closes
its socket as a "server shutdown" and runs its disconnect (frames
flushed, registration released, connection record closed), at most ``SHUTDOWN_WAIT`` s in all;
whatever registration is still left is released; then Twisted stops as before. A second signal
stops at once. A killed process (SIGKILL) cannot do any of this: its registrations expire
(stations.registry.HOLDER_TTL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import weakref

from stations import registry

logger = logging.getLogger(__name__)

SHUTDOWN_WAIT = 10.0  # s for every station's socket to close and its disconnect to run
SHUTDOWN_DETAIL = "server shutdown: the CertLab web server holding the connection stopped"
# Not 1001 (going away): autobahn lets a server close only with 1000 or 3000-4999.
CLOSE_CODE = 1000

_consumers: weakref.WeakSet = weakref.WeakSet()
_stopping = False


def track(consumer) -> None:
    """A connected OCPP consumer; it must set ``consumer.ended`` once its disconnect ran."""
    consumer.ended = asyncio.Event()
    _consumers.add(consumer)


def install() -> None:
    """In a daphne process: take over SIGTERM and SIGINT once Twisted has installed its own."""
    reactor = sys.modules.get("twisted.internet.reactor")  # daphne installed it; never we
    if reactor is not None:
        reactor.callWhenRunning(_take_over_signals, reactor)


def _take_over_signals(reactor) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        twisted_handler = signal.getsignal(signum)

        def handler(number, frame, twisted_handler=twisted_handler) -> None:
            global _stopping
            if _stopping or not callable(twisted_handler):  # asked twice: stop now
                _stop(reactor, twisted_handler, number)
                return
            _stopping = True
            logger.warning("signal %s: closing %d station connections", number, len(_consumers))
            reactor.callFromThread(
                lambda: asyncio.ensure_future(_shut_down(reactor, twisted_handler, number))
            )

        signal.signal(signum, handler)


def _stop(reactor, twisted_handler, number: int) -> None:
    if callable(twisted_handler):
        twisted_handler(number, None)
    else:
        reactor.callFromThread(reactor.stop)


async def close_all(wait: float = SHUTDOWN_WAIT) -> None:
    """Close every station's socket as a server shutdown and release what is still held."""
    from stations.models import EndReason

    consumers = list(_consumers)

    async def close(consumer) -> None:
        await consumer.end(EndReason.SHUTDOWN, SHUTDOWN_DETAIL, code=CLOSE_CODE)
        await consumer.ended.wait()

    if consumers:
        _done, pending = await asyncio.wait(
            [asyncio.ensure_future(close(c)) for c in consumers], timeout=wait
        )
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("%d station connections did not close in %s s", len(pending), wait)
    for charge_point_id, channel in registry.forget_all_held().items():
        with contextlib.suppress(Exception):
            await registry.release(charge_point_id, channel)


async def _shut_down(reactor, twisted_handler, number: int) -> None:
    try:
        await close_all()
    except Exception:
        logger.exception("closing the station connections failed")
    finally:
        _stop(reactor, twisted_handler, number)
