from datetime import UTC, datetime

from campaigns.engine.results import CheckResult, Level, Outcome
from campaigns.engine.verdict import (
    Proposed,
    criterion_outcome,
    criterion_outcomes,
    propose,
    result_text,
)


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


def _finding(outcome: Outcome, detail: str = "no connector 0", criterion: str = "1.a"):
    check = _check(outcome, detail, criterion)
    check.level, check.reference = Level.FINDING, "OCTT TC_001"
    return check


def test_a_failed_finding_does_not_decide_the_lab_verdict_but_is_counted_in_the_text():
    results = [_check(Outcome.PASSED), _finding(Outcome.FAILED)]
    outcomes = criterion_outcomes(["1.a"], results)
    assert outcomes == {"1.a": Outcome.PASSED}
    assert propose(outcomes, results=results) == Proposed.OK
    assert result_text(Proposed.OK, "Ok, booted", results) == (
        "Ok, booted (1 finding beyond the criteria for QA: OCTT TC_001)"
    )


def test_in_strict_mode_a_failed_finding_fails_and_a_flagged_one_leaves_it_to_qa():
    failed = [_check(Outcome.PASSED), _finding(Outcome.FAILED)]
    outcomes = criterion_outcomes(["1.a"], failed)
    assert propose(outcomes, results=failed, strict=True) == Proposed.FAILED
    assert result_text(Proposed.FAILED, "Ok, booted", failed, strict=True) == (
        "Failed: no connector 0 [OCTT TC_001]"
    )
    flagged = [_check(Outcome.PASSED), _finding(Outcome.FLAGGED)]
    assert propose(outcomes, results=flagged, strict=True) == Proposed.INCOMPLETE
    assert propose(outcomes, results=flagged) == Proposed.OK


async def test_a_criterion_with_only_findings_is_closed_as_not_observed_when_the_station_goes():
    from types import SimpleNamespace

    from campaigns.engine.runner import Ending, run_step
    from tests.campaigns.scripted import ScriptedStation

    async def run(ctx):
        ctx.finding("1.a", False, "no connector 0", reference="OCTT TC_001")
        ctx.port.connected = False
        await ctx.ensure_connected(within=0.3)

    step = SimpleNamespace(__name__="only_findings", CRITERIA=("1.a",), run=run)
    from campaigns.engine.context import StationInfo, StepContext
    from campaigns.engine.params import LabParameters

    station = StationInfo("S", 1, "V", "M", "", "", "")
    ctx = StepContext(port=ScriptedStation(), station=station,
                      params=LabParameters.fast(reconnect_timeout=1))  # fmt: skip
    result = await run_step(step, ctx, time_limit=10)
    assert result.ending == Ending.STATION_OFFLINE
    closing = [r for r in ctx.results if r.key == "1.a#ended"]
    assert [(r.level, r.outcome) for r in closing] == [(Level.CRITERION, Outcome.NOT_OBSERVED)]
