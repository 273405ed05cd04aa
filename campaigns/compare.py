"""Two campaigns of one charger model side by side (issue 10), typically two firmware versions:
the verdict of each step, the configuration keys step 4 listed, and what the station was
measured doing (its boot fields, heartbeat and meter intervals).

Everything comes from what the steps already recorded in the final attempt of each step (the one
whose verdict the report gives): step 4's configuration list, step 8's meter series, and the
frames that prove the checks of steps 1 and 2. A figure a campaign did not record is "not
measured", never guessed."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounts.models import User
from campaigns import selectors
from campaigns.models import Attempt, Campaign, Check
from campaigns.report_data import final_attempt

NOT_MEASURED = "not measured"
NOT_SENT = "not sent"
# The steps whose records the comparison reads, by their module (the catalogue's `step`).
BOOT, HEARTBEAT, CONFIGURATION, METER = (
    "boot_notification", "heartbeat", "get_configuration", "meter_values",
)  # fmt: skip
BOOT_FIELDS = (
    ("chargePointVendor", "Vendor"),
    ("chargePointModel", "Model"),
    ("chargePointSerialNumber", "Serial number"),
    ("chargeBoxSerialNumber", "Charge box serial number"),
    ("firmwareVersion", "Firmware version"),
    ("iccid", "ICCID"),
    ("imsi", "IMSI"),
    ("meterType", "Meter type"),
    ("meterSerialNumber", "Meter serial number"),
)
# A measured interval moved when its median gap differs by more than this (seconds, or this
# fraction of the interval the lab set, whichever is larger): less is the timing's jitter.
JITTER_SECONDS = 1.0
JITTER_FRACTION = 0.05


@dataclass(frozen=True)
class StepChange:
    number: int
    title: str
    a: str  # the verdict's label, "Not decided" or "Not in the plan"
    b: str

    @property
    def changed(self) -> bool:
        return self.a != self.b


@dataclass(frozen=True)
class KeyChange:
    key: str
    kind: Literal["added", "removed", "changed"]
    a: dict | None  # {"value", "readonly"} as step 4 listed it, None when not listed
    b: dict | None

    @property
    def what(self) -> str:
        """What changed of a key both list: "value", "readonly flag" or both."""
        if self.kind != "changed" or self.a is None or self.b is None:
            return ""
        parts = [name for name, k in (("value", "value"), ("readonly flag", "readonly"))
                 if self.a[k] != self.b[k]]  # fmt: skip
        return " and ".join(parts)


@dataclass(frozen=True)
class Measure:
    """One figure measured in each campaign, as shown ("not measured" when it was not)."""

    group: str
    name: str
    a: str
    b: str
    moved: bool
    note: str = ""

    @property
    def compared(self) -> bool:
        return NOT_MEASURED not in (self.a, self.b)


@dataclass
class ConfigurationChanges:
    listed_a: bool
    listed_b: bool
    changes: list[KeyChange] = field(default_factory=list)
    unchanged: int = 0

    @property
    def compared(self) -> bool:
        return self.listed_a and self.listed_b


@dataclass
class Comparison:
    a: Campaign
    b: Campaign
    steps: list[StepChange]
    configuration: ConfigurationChanges
    measures: list[Measure]

    @property
    def steps_changed(self) -> int:
        return sum(step.changed for step in self.steps)

    @property
    def measures_moved(self) -> int:
        return sum(m.moved for m in self.measures)


def comparable_campaigns(*, campaign: Campaign, user: User) -> QuerySet[Campaign]:
    """The other campaigns of the campaign's charger model that the user may see."""
    return (
        selectors.campaigns_for(user=user)
        .filter(station__charger_model_id=campaign.station.charger_model_id)
        .exclude(pk=campaign.pk)
    )


def same_model(a: Campaign, b: Campaign) -> bool:
    return a.station.charger_model_id == b.station.charger_model_id


def campaign_pair(campaign: Campaign, chosen: Campaign) -> tuple[Campaign, Campaign]:
    """The two campaigns, the older first (the comparison reads from it to the newer); a
    ValidationError saying why they do not compare. The page and the API both ask this."""
    if campaign.pk == chosen.pk:
        raise ValidationError("A campaign compares with another campaign.")
    if not same_model(campaign, chosen):
        raise ValidationError(
            f"Campaign #{chosen.pk} tested {chosen.station.charger_model}, not "
            f"{campaign.station.charger_model}: only campaigns of one charger model compare."
        )
    older, newer = sorted((campaign, chosen), key=lambda c: (c.created, c.pk))
    return older, newer


def campaign_compare(*, a: Campaign, b: Campaign) -> Comparison:
    """Campaign `a` against campaign `b` (the later one, usually): what changed from a to b."""
    finals_a, finals_b = _finals(a), _finals(b)
    return Comparison(
        a=a,
        b=b,
        steps=_steps(a, b),
        configuration=_configuration(finals_a.get(CONFIGURATION), finals_b.get(CONFIGURATION)),
        measures=[
            *_boot(finals_a.get(BOOT), finals_b.get(BOOT)),
            *_heartbeat(finals_a.get(HEARTBEAT), finals_b.get(HEARTBEAT)),
            _meter(finals_a.get(METER), finals_b.get(METER)),
        ],
    )


# --- Verdicts ------------------------------------------------------------------------------


def _steps(a: Campaign, b: Campaign) -> list[StepChange]:
    rows_a = {r.item.function.number: r for r in selectors.report_rows(campaign=a)}
    rows_b = {r.item.function.number: r for r in selectors.report_rows(campaign=b)}
    changes = []
    for number in sorted(rows_a.keys() | rows_b.keys()):
        row_a, row_b = rows_a.get(number), rows_b.get(number)
        title = (row_a or row_b).item.function.title
        changes.append(StepChange(number, title, _verdict(row_a), _verdict(row_b)))
    return changes


def _verdict(row: selectors.ReportRow | None) -> str:
    return row.verdict_label if row is not None else "Not in the plan"


def _finals(campaign: Campaign) -> dict[str, Attempt]:
    """The final attempt of each step the comparison reads, by step module."""
    attempts = (
        Attempt.objects.filter(
            plan_item__campaign=campaign,
            plan_item__function__step__in=(BOOT, HEARTBEAT, CONFIGURATION, METER),
        )
        .select_related("plan_item__function")
        .prefetch_related("checks__criterion")
        .order_by("plan_item", "number")
    )
    grouped: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        grouped.setdefault(attempt.plan_item.function.step, []).append(attempt)
    return {step: final for step, group in grouped.items() if (final := final_attempt(group))}


# --- Step 4's configuration list -------------------------------------------------------------


def _listed(attempt: Attempt | None) -> dict[str, dict] | None:
    table = (attempt.attachments or {}).get("configuration") if attempt else None
    if not isinstance(table, list):
        return None
    return {
        str(row["key"]): {"value": _text(row.get("value")), "readonly": row.get("readonly")}
        for row in table
        if isinstance(row, dict) and row.get("key") is not None
    }


def _configuration(attempt_a: Attempt | None, attempt_b: Attempt | None) -> ConfigurationChanges:
    listed_a, listed_b = _listed(attempt_a), _listed(attempt_b)
    found = ConfigurationChanges(listed_a is not None, listed_b is not None)
    if listed_a is None or listed_b is None:
        return found
    for key in sorted(listed_a.keys() | listed_b.keys(), key=str.lower):
        before, after = listed_a.get(key), listed_b.get(key)
        if before is None:
            found.changes.append(KeyChange(key, "added", None, after))
        elif after is None:
            found.changes.append(KeyChange(key, "removed", before, None))
        elif before != after:
            found.changes.append(KeyChange(key, "changed", before, after))
        else:
            found.unchanged += 1
    return found


# --- Measured behaviour ------------------------------------------------------------------------


def _boot(attempt_a: Attempt | None, attempt_b: Attempt | None) -> list[Measure]:
    """The fields of the BootNotification that proves step 1's checks, field by field."""
    boots = [_boot_payload(attempt) for attempt in (attempt_a, attempt_b)]
    if boots == [None, None]:
        return [Measure("Boot", "BootNotification fields", NOT_MEASURED, NOT_MEASURED, False)]
    measures = []
    for name, label in BOOT_FIELDS:
        if not any(boot is not None and name in boot for boot in boots):
            continue  # an optional field no station measured sends
        shown = [
            NOT_MEASURED if boot is None else _text(boot.get(name), missing=NOT_SENT)
            for boot in boots
        ]
        measures.append(Measure("Boot", label, shown[0], shown[1], _moved(*shown)))
    return measures


def _boot_payload(attempt: Attempt | None) -> dict | None:
    frames = [f for f in _frames(attempt) if _is(f, "in", "CALL", "BootNotification")]
    if not frames:
        return None
    return _payload(frames[-1])


def _heartbeat(attempt_a: Attempt | None, attempt_b: Attempt | None) -> list[Measure]:
    own = [_own_heartbeat_interval(attempt) for attempt in (attempt_a, attempt_b)]
    shown = [NOT_MEASURED if value is None else f"{value} s" for value in own]
    interval = Measure(
        "Heartbeat", "HeartbeatInterval the station had (read in step 2)", shown[0], shown[1],
        _moved(*shown),
    )  # fmt: skip
    beats = [_times(_periodic_heartbeats(attempt)) for attempt in (attempt_a, attempt_b)]
    gaps = _interval_measure(
        "Heartbeat", "Gaps between periodic Heartbeats", beats,
        [_parameter(attempt, "heartbeat_interval") for attempt in (attempt_a, attempt_b)],
    )  # fmt: skip
    return [interval, gaps]


def _own_heartbeat_interval(attempt: Attempt | None) -> str | None:
    """HeartbeatInterval as the station first reported it in step 2 (before the lab set its
    own), from the GetConfiguration answer that proves 2.c."""
    answers = [f for f in _frames(attempt, criterion="2.c") if _is(f, "in", "CALLRESULT")]
    for frame in answers:
        for entry in (_payload(frame) or {}).get("configurationKey") or []:
            if isinstance(entry, dict) and entry.get("key") == "HeartbeatInterval":
                return _text(entry.get("value"))
    return None


def _periodic_heartbeats(attempt: Attempt | None) -> list[dict]:
    """The periodic Heartbeats step 2 measured (the triggered one proves 2.b, not these)."""
    return [f for f in _frames(attempt, criterion="2.a") if _is(f, "in", "CALL", "Heartbeat")]


def _meter(attempt_a: Attempt | None, attempt_b: Attempt | None) -> Measure:
    samples = [_periodic_samples(attempt) for attempt in (attempt_a, attempt_b)]
    return _interval_measure(
        "Meter values", "Gaps between periodic meter samples", samples,
        [_parameter(attempt, "meter_interval") for attempt in (attempt_a, attempt_b)],
    )  # fmt: skip


def _periodic_samples(attempt: Attempt | None) -> list[datetime] | None:
    """The times of the periodic samples in step 8's meter series (one per meterValue)."""
    series = (attempt.attachments or {}).get("meter_series") if attempt else None
    if not isinstance(series, list):
        return None
    stamps = {
        row.get("timestamp")
        for row in series
        if isinstance(row, dict) and (row.get("context") or "Sample.Periodic") == "Sample.Periodic"
    }
    return sorted(t for t in map(_when, stamps) if t is not None)


def _interval_measure(
    group: str, name: str, times: list[list[datetime] | None], intervals: list[Any]
) -> Measure:
    gaps = [
        [(y - x).total_seconds() for x, y in pairwise(t)] if t is not None else [] for t in times
    ]
    shown = [_gaps_text(g, interval) for g, interval in zip(gaps, intervals, strict=True)]
    if not all(gaps):
        return Measure(group, name, *shown, moved=False)
    if intervals[0] != intervals[1]:
        note = f"not comparable: the lab set {intervals[0]} s and {intervals[1]} s"
        return Measure(group, name, *shown, moved=False, note=note)
    medians = [statistics.median(g) for g in gaps]
    set_interval = intervals[0] if isinstance(intervals[0], int | float) else medians[0]
    moved = abs(medians[0] - medians[1]) > max(JITTER_SECONDS, JITTER_FRACTION * set_interval)
    return Measure(group, name, *shown, moved=moved)


def _gaps_text(gaps: list[float], interval: Any) -> str:
    if not gaps:
        return NOT_MEASURED
    listed = ", ".join(f"{g:.1f}" for g in gaps[:6]) + (", …" if len(gaps) > 6 else "")
    asked = f"; the lab set {interval} s" if interval is not None else ""
    return f"median {statistics.median(gaps):.1f} s ({listed}{asked})"


# --- Reading what the attempts recorded ------------------------------------------------------


def _frames(attempt: Attempt | None, *, criterion: str = "") -> list[dict]:
    """The evidence frames of an attempt's checks (of one criterion), each once, in time order."""
    if attempt is None:
        return []
    checks: list[Check] = list(attempt.checks.all())
    seen: dict[tuple, dict] = {}
    for check in checks:
        if criterion and check.criterion.key != criterion:
            continue
        for ref in check.evidence or []:
            if isinstance(ref, dict):
                seen.setdefault((ref.get("timestamp"), ref.get("unique_id"),
                                 ref.get("direction"), ref.get("message_type")), ref)  # fmt: skip
    return sorted(seen.values(), key=lambda ref: str(ref.get("timestamp") or ""))


def _is(ref: dict, direction: str, message_type: str, action: str = "") -> bool:
    return (
        ref.get("direction") == direction
        and ref.get("message_type") == message_type
        and (not action or ref.get("action") == action)
    )


def _payload(ref: dict) -> dict | None:
    """The payload of a logged frame: the last element of its OCPP message ([2, id, action,
    payload] or [3, id, payload]); a frame whose raw text is the payload alone is taken as is."""
    try:
        message = json.loads(ref.get("raw") or "")
    except (ValueError, TypeError):
        return None
    if isinstance(message, list) and message and isinstance(message[-1], dict):
        return message[-1]
    return message if isinstance(message, dict) else None


def _times(refs: list[dict]) -> list[datetime] | None:
    if not refs:
        return None
    return sorted(t for t in (_when(ref.get("timestamp")) for ref in refs) if t is not None)


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _parameter(attempt: Attempt | None, name: str) -> Any:
    return (attempt.parameters or {}).get(name) if attempt else None


def _text(value: Any, *, missing: str = "—") -> str:
    if value is None:
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _moved(a: str, b: str) -> bool:
    return NOT_MEASURED not in (a, b) and a != b
