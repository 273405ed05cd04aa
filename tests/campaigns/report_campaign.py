"""A whole campaign as the report sees it, built straight in the database: 16 steps decided,
each with checks and the frames behind them, step 12 retested and installing an update, and the
attachments steps 4, 8, 12, 13 and 14 leave; a long history on demand (``add_history``). The
report tests and bench/report_pdf.py use it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from campaigns import audit, services
from campaigns.engine.params import LabParameters
from campaigns.models import Attempt, AttemptStatus, AuditEntry, Campaign, Check, CriterionResult
from tests.factories import FirmwareVersionFactory

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
UPDATE = "2.0.0-update"


def _frame(number: int, step: int, at: datetime) -> dict:
    if number % 2:
        raw = json.dumps([2, f"{step}-{number}", "MeterValues", {
            "connectorId": 1, "transactionId": 4000 + step,
            "meterValue": [{"timestamp": at.isoformat().replace("+00:00", "Z"), "sampledValue": [
                {"value": "230.1", "measurand": "Voltage", "unit": "V"},
                {"value": "16.0", "measurand": "Current.Import", "unit": "A"},
                {"value": "3681", "measurand": "Power.Active.Import", "unit": "W"},
            ]}],
        }])  # fmt: skip
        return {"timestamp": at.isoformat(), "direction": "in", "message_type": "CALL",
                "action": "MeterValues", "unique_id": f"{step}-{number}", "connection_id": 1,
                "raw": raw}  # fmt: skip
    raw = json.dumps([3, f"{step}-{number - 1}", {}])
    return {"timestamp": at.isoformat(), "direction": "out", "message_type": "CALLRESULT",
            "action": "MeterValues", "unique_id": f"{step}-{number - 1}", "connection_id": 1,
            "raw": raw}  # fmt: skip


ATTACHMENTS = {
    4: {
        "configuration": [
            {"key": f"Key{i}", "readonly": i % 3 == 0, "value": str(i)} for i in range(40)
        ]
    },
    8: {
        "meter_series": [
            {
                "timestamp": (T0 + timedelta(seconds=30 * i)).isoformat(),
                "measurand": m,
                "unit": u,
                "value": str(v + i),
                "phase": "",
                "context": "Sample.Periodic",
            }
            for i in range(6)
            for m, u, v in (
                ("Voltage", "V", 229),
                ("Current.Import", "A", 15),
                ("Power.Active.Import", "W", 3600),
            )
        ]
    },
    13: {
        "diagnostics_file": {
            "id": 1,
            "file_name": "diag-20261122.zip",
            "size": 48213,
            "sha256": "9f2c" + "0" * 60,
            "received": T0.isoformat(),
        }
    },
    14: {
        "offline_replay": [
            {
                "action": "StartTransaction",
                "transactionId": None,
                "timestamp": T0.isoformat(),
                "received": (T0 + timedelta(minutes=2)).isoformat(),
                "connection_id": 7,
                "sampled_offline": True,
            },
            {
                "action": "StopTransaction",
                "transactionId": 4014,
                "timestamp": T0.isoformat(),
                "received": (T0 + timedelta(minutes=2)).isoformat(),
                "connection_id": 7,
                "sampled_offline": True,
            },
        ]
    },
}


def full_campaign(
    *, station, owner, frames: int = 4, rehearsal: bool = False, install: bool = True,
    long_result: str = "",
) -> Campaign:  # fmt: skip
    """`frames` frames of evidence in all, spread over the 16 steps."""
    update = FirmwareVersionFactory(charger_model=station.charger_model, version=UPDATE)
    params = LabParameters.fast() if rehearsal else LabParameters()
    campaign = services.campaign_create(
        station=station, owner=owner, parameters=params, update_firmware=update
    )
    per_step = [frames // 16 + (1 if n < frames % 16 else 0) for n in range(16)]
    clock = T0
    for item in campaign.plan.select_related("function").prefetch_related("function__criteria"):
        number = item.function.number
        criteria = list(item.function.criteria.all())
        runs = 2 if number == 12 else 1
        for run in range(1, runs + 1):
            final = run == runs
            firmware = campaign.firmware_after_update or campaign.firmware
            attempt = Attempt.objects.create(
                plan_item=item, station=station, number=run, status=AttemptStatus.FINISHED,
                started_by=owner, started=clock, ended=clock + timedelta(minutes=3),
                firmware=firmware, proposed_verdict="ok" if final else "failed",
                proposed_text="Ok" if final else "Failed: no FirmwareStatusNotification",
                final_verdict="ok" if final else "failed",
                result_text=(long_result or f"Ok, step {number} passed") if final
                else "station did not come back online after the update",
                decided_by=owner, decided_at=clock + timedelta(minutes=4),
                attachments=ATTACHMENTS.get(number, {}) if final else {},
            )  # fmt: skip
            refs = [
                _frame(i + 1, number, clock + timedelta(seconds=i))
                for i in range(per_step[number - 1] if final else 2)
            ]
            share = max(1, len(refs) // len(criteria)) if refs else 0
            Check.objects.bulk_create(
                Check(attempt=attempt, criterion=c, key=f"{c.key}#check",
                      outcome="passed" if final else "failed",
                      detail=f"{c.key}: what the station did matches the criterion.",
                      evidence=refs[i * share:(i + 1) * share] if i < len(criteria) - 1
                      else refs[i * share:], at=clock)
                for i, c in enumerate(criteria)
            )  # fmt: skip
            CriterionResult.objects.bulk_create(
                CriterionResult(attempt=attempt, criterion=c,
                                outcome="passed" if final else "failed")
                for c in criteria
            )  # fmt: skip
            if number == 12 and final and install:
                attempt.attachments = {
                    "firmware_installed": {"before": firmware.version if firmware else "",
                                           "after": UPDATE, "boot": clock.isoformat()},
                    "firmware_downloads": [{"id": 1, "protocol": "http", "bytes": 4352,
                                            "complete": True, "file_name": f"{UPDATE}.bin",
                                            "started": clock.isoformat()}],
                }  # fmt: skip
                attempt.save(update_fields=["attachments"])
                services.attempt_record_firmware_installed(attempt=attempt, version=UPDATE)
                campaign.refresh_from_db()
            clock += timedelta(minutes=5)
    campaign.status = "running"
    campaign.started = T0
    campaign.save(update_fields=["status", "started"])
    return campaign


def history_texts(number: int, *, long: bool) -> tuple[str, str, str]:
    """Before, after and reason of history entry `number`, each naming the entry (H0042) so a
    test can find every one: a verdict's result text rewritten, with the reason, in words people
    type (≤, →); a long one (about 200 characters each, a QA engineer explaining a retest) when
    asked: several lines in its column, still short enough to stay whole on a page."""
    tag = f"H{number:04d}"
    if not long:
        return (f"Failed, {tag} no Heartbeat within 60 s",
                f"Ok, {tag} Heartbeat every 60 s (≤ 61 s)",
                f"{tag} retested → the cable was replaced")  # fmt: skip
    clause = "the station answered the {} request within {} s and its status moved to {}"
    before = f"{tag} before: " + "; ".join(
        clause.format(action, n, status)
        for n, (action, status) in enumerate([("Reset", "Available"), ("RemoteStart", "Charging")],
                                             start=2)
    )  # fmt: skip
    after = f"{tag} after: " + before.split(": ", 1)[1].replace("within", "well within")
    reason = f"{tag} reason: " + " ".join(["the vendor's engineer asked for a retest on site"] * 3)
    return before, after, reason


def add_history(
    campaign: Campaign, *, entries: int, user, long_every: int = 10, lab_only_every: int = 0,
) -> list[AuditEntry]:  # fmt: skip
    """`entries` changes of the campaign's verdicts, one a minute from T0 on, spread over its
    steps' final attempts, as a campaign decided again and again leaves them (normal ones have
    50-100): every `long_every`-th with long texts, every `lab_only_every`-th a lab-only
    internal note (0: none). Written in one go: audit.record writes one at a time."""
    attempts = list(
        Attempt.objects.filter(plan_item__campaign=campaign, final_verdict="ok")
        .select_related("plan_item")
        .order_by("plan_item__function__number")
    )
    rows = []
    for n in range(1, entries + 1):
        attempt = attempts[n % len(attempts)]
        before, after, reason = history_texts(n, long=bool(long_every) and n % long_every == 0)
        lab_only = bool(lab_only_every) and n % lab_only_every == 0
        what, field = (audit.NOTES, "Internal note") if lab_only else (
            audit.RESULT_TEXT, "Result text")  # fmt: skip
        rows.append(AuditEntry(
            campaign=campaign, station=campaign.station, plan_item=attempt.plan_item,
            attempt=attempt, actor=user, actor_label=audit.actor_label(user),
            at=T0 + timedelta(minutes=n), what=what, field=field,
            before=f"LAB-ONLY {before}" if lab_only else before, after=after, reason=reason,
            lab_only=lab_only,
        ))  # fmt: skip
    return AuditEntry.objects.bulk_create(rows)
