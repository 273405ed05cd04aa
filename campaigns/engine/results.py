"""What a check leaves (its outcome, the level it judges at, the result with its evidence), and
the ledger of one attempt's checks, whose verbs a step calls through its context (``ctx.check``,
``ctx.finding``, ``ctx.unexpected``, ``ctx.lab_side``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from campaigns.engine.blocks import Blocks, describe_frames
from campaigns.engine.frames import Frame


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_OBSERVED = "not_observed"
    NOT_APPLICABLE = "not_applicable"
    FLAGGED = "flagged"  # for QA to judge (an unexpected status transition, say)


class Level(StrEnum):
    """What a check judges: the lab's acceptance criterion (it decides the proposed verdict),
    or a finding that goes beyond the criterion's text (an OCTT rule): shown apart for QA, and
    deciding the verdict only in a campaign run in strict (OCTT) mode."""

    CRITERION = "criterion"
    FINDING = "finding"


@dataclass
class CheckResult:
    criterion: str
    key: str
    outcome: Outcome
    detail: str
    evidence: list[dict[str, Any]]
    at: datetime
    level: Level = Level.CRITERION
    reference: str = ""  # where the rule comes from ("OCTT TC_012"), for a finding


class Ledger:
    """One attempt's checks as they are recorded. ``lacks``: why a criterion does not apply by
    the station's declaration (None when it does); ``blocks``: the criteria and checks whose
    action did not happen; ``publish``: the live hook each new result goes to."""

    def __init__(
        self,
        *,
        lacks: Callable[[str], str | None],
        blocks: Blocks,
        publish: Callable[[CheckResult], None],
    ) -> None:
        self.results: list[CheckResult] = []
        self._lacks = lacks
        self._blocks = blocks
        self._publish = publish

    def check(
        self,
        criterion: str,
        ok: bool | None,
        detail: str,
        *,
        evidence: Iterable[Frame | None] = (),
        key: str = "",
        not_applicable: bool = False,
        level: Level = Level.CRITERION,
        reference: str = "",
        flagged: bool = False,
    ) -> CheckResult:
        """Record one check of a criterion: ok True passed, False failed, None not observed;
        ``flagged`` leaves it to QA to judge. A criterion the station's declaration rules out
        stays not applicable whatever a step records for it: what it saw is kept in the detail.
        A check of something whose action did not happen is not observed whatever ``ok`` says."""
        if not not_applicable and (reason := self._lacks(criterion)):
            not_applicable, detail = True, f"Not applicable: {reason}. Seen anyway: {detail}"
        key = key or f"{criterion}#{sum(r.criterion == criterion for r in self.results) + 1}"
        why = self._blocks.reason(criterion, key)
        if why and (ok is not None or flagged) and not not_applicable:
            ok, flagged, detail = None, False, f"Not scored, as {why}: {detail}"
        outcome = (
            Outcome.NOT_APPLICABLE if not_applicable
            else Outcome.FLAGGED if flagged
            else Outcome.NOT_OBSERVED if ok is None
            else Outcome.PASSED if ok
            else Outcome.FAILED
        )  # fmt: skip
        result = CheckResult(
            criterion=criterion,
            key=key,
            outcome=outcome,
            detail=detail,
            evidence=[f.ref() for f in evidence if f is not None],
            at=datetime.now(UTC),
            level=level,
            reference=reference,
        )
        self.results.append(result)
        self._publish(result)
        return result

    def finding(
        self,
        criterion: str,
        ok: bool | None,
        detail: str,
        *,
        reference: str,
        evidence: Iterable[Frame | None] = (),
        key: str = "",
        flagged: bool = False,
        not_applicable: bool = False,
    ) -> CheckResult:
        """A check beyond the criterion's text (``reference``: the OCTT test case or the OCPP
        section it comes from): shown to QA apart, deciding the verdict only in strict mode."""
        return self.check(criterion, ok, detail, evidence=evidence, key=key, level=Level.FINDING,
                          reference=reference, flagged=flagged,
                          not_applicable=not_applicable)  # fmt: skip

    def unexpected(self, criterion: str, frames: Iterable[Frame], why: str, *, key: str = ""
                   ) -> CheckResult:  # fmt: skip
        """What the station did by itself at a moment nobody asked for it (before the prompt for
        it, while the operator was asked for something else): not observed, QA to judge."""
        frames = [f for f in frames if f is not None]
        return self.check(criterion, None, f"Unexpected, QA to judge: {why}: "
                          f"{describe_frames(frames)}", evidence=frames, key=key)  # fmt: skip

    def lab_side(self, criterion: str, detail: str, *, key: str = "") -> CheckResult:
        """Not observed because of CertLab (its queue, database, worker, clock), never the
        station's fault."""
        return self.check(criterion, None, f"Not observed, CertLab's trouble: {detail}", key=key)

    def criteria_passed(self) -> bool:
        """Every check of the lab's criteria so far passed (findings beyond them aside: the
        result text counts those itself)."""
        lab = [r for r in self.results if r.level == Level.CRITERION]
        return all(r.outcome in (Outcome.PASSED, Outcome.NOT_APPLICABLE) for r in lab)
