"""A campaign's lab parameters: what to test with and how long to wait.

Two sets of defaults: a certification's (``LabParameters()``) and a rehearsal's
(``LabParameters.fast()``: short intervals against the simulator, also the test suite's). Each
parameter is described in ``PARAMETERS`` (label, unit, range) so the campaign form offers all of
them and the campaign page shows what was used.
"""

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
    # s of silence in a long wait after which CertLab asks the connected station a harmless
    # question (GetConfiguration HeartbeatInterval); unanswered, the step ends. 0: never ask.
    silence_limit: int = 120
    # s after which CertLab's answer to a station's call is its own trouble (its database, its
    # load): what the station did after that call is not held against it (engine/outages).
    # CertLab answers in milliseconds (p99 under 0.1 s with 8 stations, docs/PERFORMANCE.md); a
    # station may give up after a few seconds (the simulator in fast mode after 5).
    late_answer: int = 2
    # s at most for a start or a Preparing after a remote start before the cable prompt; a
    # station that hides Preparing lets the start lapse after ConnectionTimeOut (engine/charging).
    cable_prompt_wait: int = 2
    answer_prompts_on_simulator: bool = False  # fast mode: the simulator does the manual part
    rehearsal: bool = False  # fast mode: a rehearsal, never a certification

    @classmethod
    def fast(cls, **overrides: Any) -> LabParameters:
        """Short intervals for rehearsals against the simulator and for the test suite."""
        values = dict(
            heartbeat_interval=2, meter_interval=1, meter_samples=2, call_timeout=10,
            status_window=5, transaction_window=8, boot_window=3, reconnect_timeout=20,
            prompt_timeout=20, firmware_timeout=30, diagnostics_timeout=20, offline_seconds=3,
            connection_timeout=1, quiet_window=1, silence_limit=20,
            answer_prompts_on_simulator=True, rehearsal=True,
            # Intervals of 1-2 s measured on a busy 2-core machine need more slack than 20 %;
            # every defect these catch is off by far more (a 300 s interval, twice the period).
            heartbeat_tolerance=0.5, meter_tolerance=0.5,
        )  # fmt: skip
        values.update(overrides)
        return cls(**values)

    @classmethod
    def for_mode(cls, *, rehearsal: bool, **overrides: Any) -> LabParameters:
        return cls.fast(**overrides) if rehearsal else cls(**overrides)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> LabParameters:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ParameterSpec:
    """How a parameter is asked for and shown: ``unit`` "%" stores a fraction (20 % -> 0.2)."""

    label: str
    unit: str = ""
    low: int | None = None
    high: int | None = None
    group: str = "Timing"

    def shown(self, value: Any) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if self.unit == "%":
            return f"{round(value * 100)} %"
        return f"{value} {self.unit}".strip()


TESTED = "What to test with"
OPERATOR = "Operator"

# Every field of LabParameters but ``rehearsal`` (the mode itself), in the form's order.
PARAMETERS: dict[str, ParameterSpec] = {
    "valid_id_tag": ParameterSpec("Valid idTag", group=TESTED),
    "invalid_id_tag": ParameterSpec("Invalid idTag", group=TESTED),
    "connector_id": ParameterSpec("Connector to test", "", 1, 32, TESTED),
    "heartbeat_interval": ParameterSpec("Heartbeat interval to test", "s", 1, 86400, TESTED),
    "heartbeat_tolerance": ParameterSpec("Heartbeat tolerance", "%", 1, 99, TESTED),
    "meter_interval": ParameterSpec("Meter value sample interval to test", "s", 1, 3600, TESTED),
    "meter_tolerance": ParameterSpec("Meter interval tolerance", "%", 1, 99, TESTED),
    "meter_samples": ParameterSpec("Periodic meter samples to observe", "", 1, 100, TESTED),
    "offline_seconds": ParameterSpec("Offline time in the offline step", "s", 1, 3600, TESTED),
    "call_timeout": ParameterSpec("Time for the station to answer a call", "s", 1, 600),
    "status_window": ParameterSpec("Time for StatusNotifications to follow", "s", 1, 600),
    "transaction_window": ParameterSpec("Time for a Start/StopTransaction to follow", "s", 1, 3600),
    "boot_window": ParameterSpec("Time for a BootNotification before triggering one", "s", 1, 600),
    "reconnect_timeout": ParameterSpec("Time to come back after a reset or drop", "s", 5, 3600),
    "firmware_timeout": ParameterSpec("Time for the whole firmware update", "s", 10, 7200),
    "diagnostics_timeout": ParameterSpec("Time for the diagnostics upload", "s", 10, 3600),
    "connection_timeout": ParameterSpec("ConnectionTimeOut to test (cable step)", "s", 1, 3600),
    "quiet_window": ParameterSpec("Time to watch that nothing follows", "s", 1, 600),
    "silence_limit": ParameterSpec(
        "Silence before asking whether the station answers (0: never)", "s", 0, 3600
    ),
    "cable_prompt_wait": ParameterSpec(
        "Time for a start or Preparing before the cable prompt", "s", 0, 30
    ),
    "late_answer": ParameterSpec("CertLab answering this late is lab-side trouble", "s", 1, 30),
    "prompt_timeout": ParameterSpec("Time to answer a prompt", "s", 10, 3600, OPERATOR),
    "answer_prompts_on_simulator": ParameterSpec(
        "On the built-in simulator, the simulator does the manual parts", group=OPERATOR
    ),
}


def out_of_bounds(name: str, value: Any) -> str:
    """What is wrong with ``value`` (as stored: a fraction for "%") for the parameter ``name``,
    in the form's words, or "" when it is within the bounds the form and the API allow."""
    spec = PARAMETERS.get(name)
    if spec is None or isinstance(value, bool | str):
        return ""
    typed = round(value * 100) if spec.unit == "%" else value
    unit = f" {spec.unit}" if spec.unit else ""
    if spec.low is not None and typed < spec.low:
        return f"{spec.label}: at least {spec.low}{unit}."
    if spec.high is not None and typed > spec.high:
        return f"{spec.label}: at most {spec.high}{unit}."
    return ""
