"""What the attempt panel shows: checks grouped by criterion with their evidence, the open
prompt, progress, and pictures of evidence data (a meter-value plot)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from campaigns.engine.params import PARAMETERS, LabParameters
from campaigns.models import Attempt, CheckLevel, Outcome, PromptStatus
from stations.models import Frame


def lab_parameter_rows(parameters: dict) -> dict:
    """A campaign's lab parameters as its page shows them: the mode, then each parameter with
    its unit, and whether QA set it away from the mode's default."""
    used = LabParameters.from_dict(parameters)
    defaults = LabParameters.for_mode(rehearsal=used.rehearsal)
    rows = [
        {"label": spec.label, "value": spec.shown(getattr(used, name)),
         "changed": getattr(used, name) != getattr(defaults, name),
         "default": spec.shown(getattr(defaults, name))}
        for name, spec in PARAMETERS.items()
    ]  # fmt: skip
    return {"rehearsal": used.rehearsal, "rows": rows}


def attempt_context(attempt: Attempt) -> dict:
    from campaigns.report_data import attachment_title  # it draws on this module's plots

    checks = list(attempt.checks.select_related("criterion"))
    by_criterion: dict[str, list] = defaultdict(list)
    findings = []
    for check in checks:
        check.frames = [_frame_view(ref) for ref in check.evidence]
        if check.level == CheckLevel.FINDING:  # beyond the criterion's text: shown apart
            findings.append(check)
        else:
            by_criterion[check.criterion.key].append(check)
    outcomes = {r.criterion.key: r for r in attempt.criterion_results.select_related("criterion")}
    criteria = []
    for criterion in attempt.plan_item.function.criteria.all():
        result = outcomes.get(criterion.key)
        criteria.append({
            "criterion": criterion,
            "outcome": result.outcome if result else _live_outcome(by_criterion[criterion.key]),
            "checks": by_criterion[criterion.key],
        })  # fmt: skip
    prompts = list(attempt.prompts.all())
    open_prompt = next((p for p in prompts if p.status == PromptStatus.OPEN), None)
    return {
        "attempt": attempt,
        "criteria": criteria,
        "findings": findings,
        "open_prompt": open_prompt,
        "answered_prompts": [p for p in prompts if p.status != PromptStatus.OPEN],
        "progress": progress_log(attempt, prompts),
        "meter_plot": meter_plot(attempt.attachments.get("meter_series") or []),
        "configuration": attempt.attachments.get("configuration"),
        "other_attachments": {
            attachment_title(k): json.dumps(v, indent=2)
            for k, v in attempt.attachments.items()
            if k not in {"meter_series", "configuration", "traceback"}
        },
        "traceback": attempt.attachments.get("traceback"),
        "now": timezone.now(),
        "waiting": long_wait(attempt),
        "prompt_steps": prompt_steps(open_prompt) if open_prompt else [],
    }


def progress_log(attempt: Attempt, prompts: list) -> list[dict]:
    """The attempt's progress lines and its closed prompts in one list, in time order."""
    lines = [{"at": n.at, "text": n.text} for n in attempt.progress.all()]
    lines += [{"at": p.opened, "prompt": p} for p in prompts if p.status != PromptStatus.OPEN]
    return sorted(lines, key=lambda line: line["at"])


def prompt_steps(prompt) -> list[dict]:
    """A prompt's timed actions one after the other from its opening: each with its own start,
    end and state (done, now, next) and its seconds left to start or to end."""
    now, start, steps = timezone.now(), prompt.opened, []
    for number, step in enumerate(prompt.steps or [], start=1):
        seconds = float(step.get("seconds") or 0)
        end = start + timedelta(seconds=seconds)
        state = "done" if now >= end else "now" if now >= start else "next"
        left = (end - now) if state == "now" else (start - now)
        steps.append({"number": number, "text": step.get("text", ""), "seconds": round(seconds),
                      "start": start, "end": end, "state": state,
                      "left": max(0, round(left.total_seconds()))})  # fmt: skip
        start = end
    return steps


def long_wait(attempt: Attempt) -> dict | None:
    """The long wait a running step is in, as the page shows it: what for, for how long of how
    long, and how long the station has been silent (its last frame, from the log or as the
    step saw it)."""
    wait = attempt.waiting if attempt.is_active else None
    if not wait:
        return None
    try:
        started, until, heard = (
            datetime.fromisoformat(wait[k]) for k in ("started", "until", "silent_since")
        )
    except (KeyError, TypeError, ValueError):
        return None
    last = (
        Frame.objects.of_station(attempt.station_id)
        .filter(direction="in")
        .values_list("timestamp", flat=True)
        .first()
    )
    heard = max(heard, last) if last else heard
    now = timezone.now()
    return {
        "id": wait.get("id"),
        "what": wait.get("what", ""),
        "waited": max(0, round((now - started).total_seconds())),
        "limit": round((until - started).total_seconds()),
        "silent": max(0, round((now - heard).total_seconds())),
        "ending": attempt.end_wait_requested == wait.get("id"),
    }


def _live_outcome(checks: list) -> str:
    """While the attempt runs, a criterion shows the worst of its checks so far."""
    outcomes = {c.outcome for c in checks}
    for outcome in (Outcome.FAILED, Outcome.NOT_OBSERVED, Outcome.FLAGGED, Outcome.PASSED):
        if outcome in outcomes:
            return outcome
    return ""


def _frame_view(ref: dict) -> dict:
    raw = ref.get("raw", "")
    try:
        pretty = json.dumps(json.loads(raw), indent=2)
    except (ValueError, TypeError):
        pretty = raw
    return {**ref, "pretty": pretty}


PLOT_MEASURANDS = {
    "Voltage": ("V", "#1f6feb"),
    "Current.Import": ("A", "#d9480f"),
    "Power.Active.Import": ("W", "#2f9e44"),
    "Energy.Active.Import.Register": ("Wh", "#7048e8"),
}


def meter_plot(series: list[dict], width: int = 720, height: int = 140) -> SafeString | None:
    """Small multiples, one inline SVG line chart per measurand over the transaction: a picture
    says more than the table of samples."""
    lines: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for sample in series:
        name = sample.get("measurand") or "Energy.Active.Import.Register"
        if name not in PLOT_MEASURANDS:
            continue
        try:
            when = datetime.fromisoformat(str(sample["timestamp"]).replace("Z", "+00:00"))
            value = float(sample["value"])
        except (KeyError, ValueError, TypeError):
            continue
        lines[name].append((when, value))
    if not lines:
        return None
    charts = [_chart(name, sorted(points), width, height) for name, points in lines.items()]
    return mark_safe("".join(charts))


def _chart(name: str, points: list[tuple[datetime, float]], width: int, height: int) -> str:
    unit, colour = PLOT_MEASURANDS[name]
    pad = 40
    t0, t1 = points[0][0], points[-1][0]
    span = max((t1 - t0).total_seconds(), 1.0)
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    if high == low:
        high, low = high + 1, low - 1

    def xy(when: datetime, value: float) -> str:
        x = pad + (width - 2 * pad) * (when - t0).total_seconds() / span
        y = height - 20 - (height - 40) * (value - low) / (high - low)
        return f"{x:.1f},{y:.1f}"

    path = " ".join(xy(t, v) for t, v in points)
    dots = "".join(f'<circle cx="{xy(t, v).split(",")[0]}" cy="{xy(t, v).split(",")[1]}" r="2.5"'
                   f' fill="{colour}"><title>{t:%H:%M:%S} {v:g} {unit}</title></circle>'
                   for t, v in points)  # fmt: skip
    label = escape(f"{name} ({unit})")
    return (
        f'<svg class="plot" viewBox="0 0 {width} {height}" role="img" aria-label="{label}">'
        f'<text x="{pad}" y="14" class="plot-title">{label}</text>'
        f'<text x="4" y="{height - 20}" class="plot-axis">{low:g}</text>'
        f'<text x="4" y="30" class="plot-axis">{high:g}</text>'
        f'<text x="{width - pad}" y="{height - 4}" class="plot-axis" text-anchor="end">'
        f"{span:.0f} s</text>"
        f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>{dots}</svg>'
    )
