"""A guard against cancellations lost inside libraries."""

from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """Honour a cancellation that the ocpp library's use of ``asyncio.wait_for`` swallowed.

    On Python 3.11, wait_for returns the result instead of raising when the awaited future
    completes in the same loop iteration as the cancel; without this check a loop would go
    on forever after ``stop()``.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
