"""What became of CertLab's call to a station (a payload, a CALLERROR, a bad answer, nothing),
and of a reset (the connection dropped, a BootNotification)."""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.engine.frames import Frame
from campaigns.engine.texts import summarise


@dataclass
class CallReply:
    """What became of one call: a payload, a CALLERROR, a bad answer or no answer in time."""

    action: str
    payload: dict | None = None
    error_code: str = ""
    error_description: str = ""
    timed_out: bool = False
    schema_error: str = ""
    request: Frame | None = None
    response: Frame | None = None

    @property
    def ok(self) -> bool:
        return not (self.error_code or self.timed_out or self.schema_error)

    @property
    def status(self) -> str | None:
        return (self.payload or {}).get("status") if isinstance(self.payload, dict) else None

    @property
    def frames(self) -> list[Frame]:
        return [f for f in (self.request, self.response) if f is not None]

    def describe(self) -> str:
        if self.timed_out:
            return "no answer in time"
        if self.error_code:
            return f"CALLERROR {self.error_code}" + (
                f" ({self.error_description})" if self.error_description else ""
            )
        if self.schema_error:
            return f"an answer that breaks the schema ({self.schema_error})"
        return self.status or summarise(self.payload)


@dataclass(frozen=True)
class Reboot:
    """What a station showed of a reboot: the connection dropped, then a BootNotification."""

    dropped: bool
    boot: Frame | None

    @property
    def complete(self) -> bool:
        return self.dropped and self.boot is not None
