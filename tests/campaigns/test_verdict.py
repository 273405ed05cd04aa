from datetime import UTC, datetime

from campaigns.engine.context import CheckResult, Outcome
from campaigns.engine.verdict import Proposed, criterion_outcome, propose, result_text


def _check(outcome: Outcome, detail: str = "d", criterion: str = "1.a") -> CheckResult:
    return CheckResult(criterion, f"{criterion}#x", outcome, detail, [], datetime.now(UTC))


def test_any_failed_check_fails_the_criterion():
    checks = [_check(Outcome.PASSED), _check(Outcome.FAILED), _check(Outcome.NOT_OBSERVED)]
    assert criterion_outcome(checks) == Outcome.FAILED


def test_a_criterion_without_checks_is_not_observed():
    assert criterion_outcome([]) == Outcome.NOT_OBSERVED


def test_partly_observed_criterion_is_not_observed():
    assert criterion_outcome([_check(Outcome.PASSED), _check(Outcome.NOT_OBSERVED)]) == (
        Outcome.NOT_OBSERVED
    )


def test_proposals():
    assert propose({"a": Outcome.PASSED, "b": Outcome.NOT_APPLICABLE}) == Proposed.OK
    assert propose({"a": Outcome.PASSED, "b": Outcome.NOT_OBSERVED}) == Proposed.INCOMPLETE
    assert propose({"a": Outcome.FAILED, "b": Outcome.NOT_OBSERVED}) == Proposed.FAILED


def test_result_text_uses_the_summary_or_the_first_failure():
    assert result_text(Proposed.OK, "Ok, Configuration (67) Full list", []) == (
        "Ok, Configuration (67) Full list"
    )
    assert result_text(Proposed.OK, "heartbeat interval edited", []) == (
        "Ok, heartbeat interval edited"
    )
    failed = [_check(Outcome.PASSED, "fine"), _check(Outcome.FAILED, "ClearCache Rejected")]
    assert result_text(Proposed.FAILED, "", failed) == "Failed: ClearCache Rejected"
