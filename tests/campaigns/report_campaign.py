"""A whole campaign as the report sees it, built straight in the database: 16 steps decided,
each with checks and the frames behind them, step 12 retested and installing an update, and the
attachments steps 4, 8, 12, 13 and 14 leave. The report tests and bench/report_pdf.py use it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from campaigns import services
from campaigns.engine.params import LabParameters
from campaigns.models import Attempt, AttemptStatus, Campaign, Check, CriterionResult
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
