"""A campaign's lab parameters: what to test with and how long to wait."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class LabParameters:
    heartbeat_interval: int = 60  # s, set on the station during the heartbeat step
    heartbeat_tolerance: float = 0.2  # fraction of the interval
    meter_interval: int = 30  # s, MeterValueSampleInterval during a transaction
    meter_tolerance: float = 0.2
    meter_samples: int = 3  # periodic samples to observe before stopping
    valid_id_tag: str = "CERTLAB-OK"
    invalid_id_tag: str = "CERTLAB-UNKNOWN"
    connector_id: int = 1
    call_timeout: int = 30  # s for a station to answer a call
    status_window: int = 30  # s for StatusNotifications to follow a change
    transaction_window: int = 60  # s for StartTransaction/StopTransaction to follow
    boot_window: int = 20  # s to wait for a BootNotification before triggering one
    reconnect_timeout: int = 180  # s for a station to come back after a reset or drop
    prompt_timeout: int = 300  # s an operator has to answer a prompt
    firmware_timeout: int = 600  # s for the whole firmware update
    diagnostics_timeout: int = 300  # s for the diagnostics upload
    offline_seconds: int = 60  # s the station stays offline in the offline step
    connection_timeout: int = 60  # s of ConnectionTimeOut to wait for in the cable step
    quiet_window: int = 30  # s to watch that nothing follows (no start after an invalid tag)
    answer_prompts_on_simulator: bool = False  # fast mode: the simulator does the manual part

    @classmethod
    def fast(cls, **overrides: Any) -> LabParameters:
        """Short intervals for rehearsals against the simulator and for the test suite."""
        values = dict(
            heartbeat_interval=2, meter_interval=1, meter_samples=2, call_timeout=10,
            status_window=5, transaction_window=8, boot_window=3, reconnect_timeout=20,
            prompt_timeout=20, firmware_timeout=30, diagnostics_timeout=20, offline_seconds=3,
            connection_timeout=1, quiet_window=1, answer_prompts_on_simulator=True,
            # Intervals of 1-2 s measured on a busy 2-core machine need more slack than 20 %;
            # every defect these catch is off by far more (a 300 s interval, twice the period).
            heartbeat_tolerance=0.5, meter_tolerance=0.5,
        )  # fmt: skip
        values.update(overrides)
        return cls(**values)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> LabParameters:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
