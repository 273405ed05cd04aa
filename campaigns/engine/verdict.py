"""From check results to criterion outcomes, a proposed verdict and a result text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from campaigns.engine.context import CheckResult, Outcome


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
    if Outcome.NOT_OBSERVED in outcomes:
        return Outcome.NOT_OBSERVED
    return Outcome.PASSED


def criterion_outcomes(
    criteria: Sequence[str], results: Sequence[CheckResult]
) -> dict[str, Outcome]:
    return {c: criterion_outcome(r for r in results if r.criterion == c) for c in criteria}


def propose(outcomes: dict[str, Outcome]) -> Proposed:
    values = set(outcomes.values())
    if Outcome.FAILED in values:
        return Proposed.FAILED
    if Outcome.NOT_OBSERVED in values or not values:
        return Proposed.INCOMPLETE
    return Proposed.OK


def result_text(proposed: Proposed, summary: str, results: Sequence[CheckResult]) -> str:
    """A result line in the seed reports' style, prefilled for QA to confirm or edit."""
    if summary:
        prefix = {"ok": "Ok", "failed": "Failed", "incomplete": "Incomplete"}[proposed]
        return summary if summary.lower().startswith(prefix.lower()) else f"{prefix}, {summary}"
    if proposed == Proposed.OK:
        return "Ok"
    first = next(
        (r for r in results if r.outcome == Outcome.FAILED),
        next((r for r in results if r.outcome == Outcome.NOT_OBSERVED), None),
    )
    label = "Failed" if proposed == Proposed.FAILED else "Incomplete"
    return f"{label}: {first.detail}" if first else label
