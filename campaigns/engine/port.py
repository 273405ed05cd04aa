"""How the engine reaches a station: a small protocol with the station bus behind it in a
worker, and a scripted station behind it in unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol


class PortError(Exception):
    pass


class StationGone(PortError):
    """The station is not connected (or left while we waited for it)."""


class CallTimedOut(PortError):
    pass


class LabTrouble(PortError):
    """CertLab could not do its own part in time (its queue, database, worker, clock): whatever
    was not observed because of it is "not observed" with this reason, never the station's
    fault. The runner ends the step with the lab-side reason."""


class CallRejected(PortError):
    """The station answered with a CALLERROR."""

    def __init__(self, code: str, description: str = "") -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description


class BadResponse(PortError):
    """The station's answer breaks the response schema."""

    def __init__(self, payload: Any, error: str) -> None:
        super().__init__(error)
        self.payload = payload
        self.error = error


class StationPort(Protocol):
    charge_point_id: str

    async def call(self, action: str, payload: dict, *, timeout: float, unique_id: str) -> dict: ...

    async def send_raw(self, frame: str, *, timeout: float) -> dict: ...

    async def is_connected(self) -> bool: ...

    def frames(self) -> AsyncIterator[dict]:
        """Frame events from the moment the port is opened, in order (FrameEvent dicts)."""
        ...

    async def open(self) -> None: ...

    # Optional: ``async def logged_answer(unique_id, direction, timeout) -> dict | None``, CertLab's
    # answer to the station's call ``unique_id`` (sent in ``direction``) as the frame log holds it
    # (a FrameEvent dict), for when the stream is late (StepContext.answer_to).

    async def close(self) -> None: ...
