"""What the report says, gathered once for the printable page and the PDF: the seed layout's
header and table, the facts around it (test period, lab, testers, firmware before and after the
update) and an appendix per step with the evidence behind its verdict, every frame numbered."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings
from django.db.models import Max, Min, Prefetch

from campaigns import selectors
from campaigns.models import Attempt, Campaign, Check, CheckLevel, Outcome
from campaigns.presentation import meter_plot

# Attachments shown under their own heading (the rest under their name); never the traceback,
# which is CertLab's trouble and QA's business, not the report's.
ATTACHMENT_TITLES = {
    "configuration": "Configuration list (GetConfiguration)",
    "diagnostics_file": "Diagnostics file received",
    "diagnostics_statuses": "DiagnosticsStatusNotification sequence",
    "firmware_statuses": "FirmwareStatusNotification sequence",
    "firmware_downloads": "Firmware download record",
    "offline_replay": "Offline replay: what the station sent after reconnecting",
    "cable_statuses": "Cable status notifications",
    "hardware_errors": "Reported hardware errors",
    "triggers": "TriggerMessage requests and what followed",
}
DASH = "\N{EN DASH}"
HISTORY_TITLE = "Appendix: history of the report"
NOT_SHOWN = {"traceback", "meter_series", "firmware_installed"}


@dataclass
class FrameEntry:
    number: int
    direction: str
    timestamp: str
    message_type: str
    action: str
    unique_id: str
    pretty: str

    @property
    def anchor(self) -> str:
        return f"frame-{self.number}"

    @property
    def arrow(self) -> str:
        return "←" if self.direction == "in" else "→"

    @property
    def direction_label(self) -> str:
        return "station → CS" if self.direction == "in" else "CS → station"

    @property
    def time(self) -> str:
        try:
            moment = datetime.fromisoformat(self.timestamp.replace("Z", "+00:00"))
        except ValueError:
            return self.timestamp
        # isoformat, not strftime: the same text (milliseconds cut, not rounded), several times
        # faster, which counts with 10,000 frames.
        shown = moment.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")
        return shown + (" UTC" if moment.tzinfo else "")


@dataclass
class CheckEntry:
    check: Check
    frames: list[FrameEntry]

    @property
    def frame_ranges(self) -> str:
        """ "F3, F7-F19" (with an en dash): the frames as the PDF prints them, runs folded."""
        numbers = sorted({f.number for f in self.frames})
        runs: list[list[int]] = []
        for number in numbers:
            if runs and number == runs[-1][-1] + 1:
                runs[-1].append(number)
            else:
                runs.append([number])
        return ", ".join(f"F{r[0]}" if len(r) == 1 else f"F{r[0]}{DASH}F{r[-1]}" for r in runs)


@dataclass
class CriterionEntry:
    criterion: Any
    outcome: str
    checks: list[CheckEntry]

    @property
    def anchor(self) -> str:
        return f"criterion-{self.criterion.key}"

    @property
    def outcome_label(self) -> str:
        return Outcome(self.outcome).label if self.outcome in Outcome.values else "Not run"


@dataclass
class Attachment:
    title: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    text: str = ""


@dataclass
class StepAppendix:
    row: selectors.ReportRow
    final: Attempt | None
    earlier: list[Attempt]
    criteria: list[CriterionEntry]
    findings: list[CheckEntry]
    frames: list[FrameEntry]
    attachments: list[Attachment]
    meter_plot: Any = None
    firmware_change: dict | None = None

    @property
    def number(self) -> int:
        return self.row.item.function.number

    @property
    def anchor(self) -> str:
        return f"appendix-{self.number}"

    @property
    def frame_range(self) -> str:
        if not self.frames:
            return ""
        first, last = self.frames[0].number, self.frames[-1].number
        return f"F{first}" if first == last else f"F{first}{DASH}F{last}"


@dataclass(frozen=True)
class ReportSeal:
    """The report's revision (raised by each reopening of the signed-off campaign) and its
    evidence digest (campaigns.sealing), printed in the header."""

    revision: int = 1
    digest: str = ""


def report_seal(campaign: Campaign) -> ReportSeal:
    return ReportSeal(revision=campaign.revision, digest=campaign.evidence_digest)


def report_context(campaign: Campaign) -> dict:
    rows = selectors.report_rows(campaign=campaign)
    attempts = _attempts_with_evidence(campaign)
    numbering = _Numbering()
    appendices = [_appendix(row, attempts.get(row.item.pk, []), numbering) for row in rows]
    seal = report_seal(campaign)
    period = Attempt.objects.filter(plan_item__campaign=campaign).aggregate(
        first=Min("started"), last=Max("ended")
    )
    return {
        "campaign": campaign,
        "rows": rows,
        "appendices": appendices,
        "frame_count": numbering.count,
        "platform": settings.CERTLAB_PLATFORM_NAME,
        "lab_name": settings.CERTLAB_LAB_NAME,
        "period": period,
        "testers": _testers(attempts),
        "seal": seal,
        "history": list(selectors.campaign_history(campaign=campaign, lab_only=False)),
        "history_title": HISTORY_TITLE,
        "history_intro": history_intro(seal),
        "pdf": False,
    }


def history_intro(seal: ReportSeal) -> str:
    """What the history appendix lists, said alike by the page and the PDF."""
    text = (
        "Every change to what this report says, newest first: who, when, what, before and "
        "after, and why"
    )
    if seal.revision > 1:
        reopenings = "a reopening" if seal.revision == 2 else f"{seal.revision - 1} reopenings"
        text += f"; revision {seal.revision} follows {reopenings} of the signed-off campaign"
    return text + "."


def running_head(campaign: Campaign, seal: ReportSeal) -> str:
    """The line at the top of every PDF page."""
    return (
        f"{campaign.station.charge_point_id} · campaign #{campaign.pk} · "
        f"report revision {seal.revision}"
    )


def marks(campaign: Campaign) -> list[str]:
    """What every page must say about the campaign's standing."""
    found = []
    if campaign.rehearsal:
        found.append("REHEARSAL — not a certification")
    if not campaign.is_signed_off:
        found.append("DRAFT — not signed off")
    return found


def _attempts_with_evidence(campaign: Campaign) -> dict[int, list[Attempt]]:
    attempts = (
        Attempt.objects.filter(plan_item__campaign=campaign)
        .select_related("firmware", "started_by", "decided_by")
        .prefetch_related(
            Prefetch("checks", queryset=Check.objects.select_related("criterion")),
            "criterion_results__criterion",
        )
        .order_by("plan_item", "number")
    )
    grouped: dict[int, list[Attempt]] = {}
    for attempt in attempts:
        grouped.setdefault(attempt.plan_item_id, []).append(attempt)
    return grouped


def _testers(attempts: dict[int, list[Attempt]]) -> list[str]:
    names: list[str] = []
    for group in attempts.values():
        for attempt in group:
            for user in (attempt.started_by, attempt.decided_by):
                name = user and (user.get_full_name() or user.get_username())
                if name and name not in names:
                    names.append(name)
    return names


def final_attempt(attempts: list[Attempt]) -> Attempt | None:
    """The attempt whose verdict the report gives: the last decided, else the last one."""
    decided = [a for a in attempts if a.final_verdict]
    return decided[-1] if decided else (attempts[-1] if attempts else None)


def _appendix(row, attempts: list[Attempt], numbering: _Numbering) -> StepAppendix:
    final = final_attempt(attempts)
    earlier = [a for a in attempts if a is not final]
    if final is None:
        return StepAppendix(row, None, earlier, [CriterionEntry(c, "", []) for c in row.criteria],
                            [], [], [])  # fmt: skip
    frames: dict[tuple, FrameEntry] = {}

    def entries(check: Check) -> CheckEntry:
        return CheckEntry(check, [numbering.frame(frames, ref) for ref in check.evidence or []])

    outcomes = {r.criterion.key: r.outcome for r in final.criterion_results.all()}
    by_key: dict[str, list[CheckEntry]] = {}
    findings = []
    for check in final.checks.all():
        if check.level == CheckLevel.FINDING:
            findings.append(entries(check))
        else:
            by_key.setdefault(check.criterion.key, []).append(entries(check))
    criteria = [
        CriterionEntry(c, outcomes.get(c.key, ""), by_key.get(c.key, [])) for c in row.criteria
    ]
    attachments = final.attachments or {}
    return StepAppendix(
        row=row,
        final=final,
        earlier=earlier,
        criteria=criteria,
        findings=findings,
        frames=sorted(frames.values(), key=lambda f: f.number),
        attachments=[
            _attachment(name, data) for name, data in attachments.items() if name not in NOT_SHOWN
        ],
        meter_plot=meter_plot(attachments.get("meter_series") or []),
        firmware_change=_firmware_change(row, final),
    )


def _firmware_change(row, final: Attempt) -> dict | None:
    """Step 12's before and after: what the station ran and what it booted on."""
    if row.item.function.step != "firmware_update":
        return None
    installed = (final.attachments or {}).get("firmware_installed") or {}
    campaign = row.item.campaign
    before = installed.get("before") or (final.firmware or campaign.firmware or None)
    return {
        "before": getattr(before, "version", before) or "unknown",
        "offered": campaign.update_firmware.version if campaign.update_firmware else "",
        "after": installed.get("after") or "",
        "boot": installed.get("boot") or "",
    }


class _Numbering:
    """Frames numbered through the whole report in order of appearance (F1, F2, …); a frame
    that proves several checks of one step keeps one number."""

    def __init__(self) -> None:
        self.count = 0

    def frame(self, seen: dict[tuple, FrameEntry], ref: dict) -> FrameEntry:
        key = (ref.get("timestamp"), ref.get("direction"), ref.get("unique_id"),
               ref.get("message_type"), ref.get("action"), ref.get("id"))  # fmt: skip
        if key not in seen:
            self.count += 1
            seen[key] = FrameEntry(
                number=self.count,
                direction=ref.get("direction") or "",
                timestamp=str(ref.get("timestamp") or ""),
                message_type=ref.get("message_type") or "",
                action=ref.get("action") or "",
                unique_id=ref.get("unique_id") or "",
                pretty=pretty_json(ref.get("raw") or ""),
            )
        return seen[key]


def pretty_json(raw: str) -> str:
    """The frame's JSON indented by two, as json.dumps(indent=2) writes it; orjson does it ten
    times faster, which counts with 10,000 frames. What it cannot take (an integer beyond 64
    bits) goes the slow way; what is not JSON is shown as the station sent it."""
    try:
        return orjson.dumps(orjson.loads(raw), option=orjson.OPT_INDENT_2).decode()
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, TypeError):
        try:
            return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
        except (ValueError, TypeError):
            return raw


def attachment_title(name: str) -> str:
    """An attachment's title for people: "hardware_errors" is "Reported hardware errors"."""
    return ATTACHMENT_TITLES.get(name, name.replace("_", " ").capitalize())


def _attachment(name: str, data: Any) -> Attachment:
    title = attachment_title(name)
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        columns: list[str] = []
        for item in data:
            columns += [k for k in item if k not in columns]
        rows = [[_cell(item.get(c)) for c in columns] for item in data]
        return Attachment(title, columns, rows)
    if isinstance(data, dict):
        return Attachment(title, ["", ""], [[str(k), _cell(v)] for k, v in data.items()])
    if isinstance(data, list) and all(not isinstance(item, dict | list) for item in data):
        return Attachment(title, text=", ".join(_cell(item) for item in data) or "—")
    return Attachment(title, text=json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
