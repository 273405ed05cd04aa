"""Transaction messages that must reach the Central System in order, even across outages.

Every StartTransaction, StopTransaction and transaction MeterValues goes through this queue; while
online it drains at once, while offline it grows and is replayed in order after reconnect.
Transactions started offline carry a negative local id; when the Central System answers their
StartTransaction, the real transactionId replaces the local one in every later queued message.
The queue is part of the persistent state, so a power cycle does not lose it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from simulator.persistence import StateFile


@dataclass
class QueuedMessage:
    action: str  # StartTransaction, StopTransaction or MeterValues
    payload: dict[str, Any]  # camelCase, as it goes on the wire
    local_id: int | None = None  # the transaction id this message refers to when queued
    attempts: int = 0


class OfflineQueue:
    def __init__(self, state: StateFile) -> None:
        self._state = state
        self.items = [QueuedMessage(**item) for item in state.get("offline_queue", [])]

    def __len__(self) -> int:
        return len(self.items)

    def append(self, message: QueuedMessage) -> None:
        self.items.append(message)
        self._save()

    def peek(self) -> QueuedMessage | None:
        return self.items[0] if self.items else None

    def pop(self) -> None:
        self.items.pop(0)
        self._save()

    def clear(self) -> None:
        self.items.clear()
        self._save()

    def map_transaction_id(self, local_id: int, real_id: int) -> None:
        """Replace a local (offline) transaction id by the one the Central System assigned."""
        for item in self.items:
            if item.payload.get("transactionId") == local_id:
                item.payload["transactionId"] = real_id
        self._save()

    def _save(self) -> None:
        self._state.set("offline_queue", [asdict(item) for item in self.items])
