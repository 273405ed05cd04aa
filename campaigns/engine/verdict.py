"""From check results to criterion outcomes, a proposed verdict and a result text.

Two levels of judgement: the lab's acceptance criteria decide the proposed verdict; findings
(checks beyond a criterion's text, such as OCTT rules) are shown to QA apart and decide the
verdict only when the campaign runs in strict (OCTT) mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from campaigns.engine.results import CheckResult, Level, Outcome


class Proposed(StrEnum):
    OK = "ok"
    FAILED = "failed"
    INCOMPLETE = "incomplete"  # something was not observed: QA must judge


def criterion_outcome(checks: Iterable[CheckResult]) -> Outcome:
    outcomes = {check.outcome for check in checks}
    if not outcomes:
        return Outcome.NOT_OBSERVED
    if Outcome.FAILED in outcomes:
        return Outcome.FAILED
    if outcomes == {Outcome.NOT_APPLICABLE}:
        return Outcome.NOT_APPLICABLE
    if outcomes & {Outcome.NOT_OBSERVED, Outcome.FLAGGED}:
        return Outcome.NOT_OBSERVED
    return Outcome.PASSED


def criterion_outcomes(
    criteria: Sequence[str], results: Sequence[CheckResult]
) -> dict[str, Outcome]:
    """Each criterion's outcome from its criterion-level checks (findings never count here)."""
    lab = [r for r in results if r.level == Level.CRITERION]
    return {c: criterion_outcome(r for r in lab if r.criterion == c) for c in criteria}


def findings(results: Iterable[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.level == Level.FINDING]


def open_findings(results: Iterable[CheckResult]) -> list[CheckResult]:
    """The findings QA must look at: failed, flagged or not observed."""
    return [r for r in findings(results)
            if r.outcome not in (Outcome.PASSED, Outcome.NOT_APPLICABLE)]  # fmt: skip


def propose(
    outcomes: dict[str, Outcome], *, results: Sequence[CheckResult] = (), strict: bool = False
) -> Proposed:
    """The lab's criteria decide; in strict (OCTT) mode the findings among ``results`` too: a
    failed one fails the step, a flagged or unobserved one leaves it to QA."""
    values = set(outcomes.values())
    if strict:
        values |= {Outcome.NOT_OBSERVED if r.outcome == Outcome.FLAGGED else r.outcome
                   for r in findings(results)}  # fmt: skip
    if Outcome.FAILED in values:
        return Proposed.FAILED
    if Outcome.NOT_OBSERVED in values or not outcomes:
        return Proposed.INCOMPLETE
    return Proposed.OK


def result_text(
    proposed: Proposed, summary: str, results: Sequence[CheckResult], *, strict: bool = False
) -> str:
    """A result line in the seed reports' style, prefilled for QA to confirm or edit; findings
    that did not decide it are counted after it."""
    text = _verdict_text(proposed, summary, results, strict=strict)
    pending = open_findings(results)
    if pending and not (strict and proposed != Proposed.OK):
        refs = ", ".join(dict.fromkeys(r.reference for r in pending if r.reference))
        text += (
            f" ({len(pending)} finding{'s' if len(pending) > 1 else ''} beyond the criteria "
            f"for QA{': ' + refs if refs else ''})"
        )
    return text


def _verdict_text(
    proposed: Proposed, summary: str, results: Sequence[CheckResult], *, strict: bool
) -> str:
    if summary and not (proposed != Proposed.OK and summary.lower().startswith("ok")):
        prefix = {"ok": "Ok", "failed": "Failed", "incomplete": "Incomplete"}[proposed]
        return summary if summary.lower().startswith(prefix.lower()) else f"{prefix}, {summary}"
    if proposed == Proposed.OK:
        return "Ok"
    deciding = [r for r in results if r.level == Level.CRITERION or strict]
    first = next(
        (r for r in deciding if r.outcome == Outcome.FAILED),
        next((r for r in deciding if r.outcome in (Outcome.NOT_OBSERVED, Outcome.FLAGGED)), None),
    )
    label = "Failed" if proposed == Proposed.FAILED else "Incomplete"
    if first is None:
        return label
    ref = f" [{first.reference}]" if first.level == Level.FINDING and first.reference else ""
    return f"{label}: {first.detail}{ref}"
