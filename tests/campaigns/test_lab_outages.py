"""CertLab losing the station's connection (its web server shut down under it) is CertLab's
trouble: criteria that failed on what could not arrive meanwhile are not observed with the
lab-side reason, a step ended by it ends lab-side, and a failure seen before it stands."""

from __future__ import annotations

import asyncio
import types
from datetime import UTC, datetime

import pytest

from campaigns.engine.results import Outcome
from campaigns.engine.runner import Ending, run_step
from campaigns.engine.verdict import Proposed
from stations.outages import Outage

REASON = "CertLab's web server holding the station's connection shut down at 21:00:00 UTC"


def _step(before_ok: bool = True):
    async def run(ctx):
        ctx.check("c1", before_ok, "boot payload")
        await asyncio.sleep(0.05)
        outage_at.append(datetime.now(UTC))
        await asyncio.sleep(0.05)
        ctx.check("c2", False, "1 periodic Heartbeat(s) of 2 expected arrived")
        ctx.summary("Failed, 1 periodic Heartbeat(s) of 2 expected arrived")

    outage_at: list[datetime] = []
    return types.SimpleNamespace(__name__="fake_step", CRITERIA=["c1", "c2"], run=run), outage_at


def _with_outage(scripted, outage_at: list[datetime]):
    async def lab_outage(since):
        return Outage(outage_at[0], REASON) if outage_at else None

    scripted.lab_outage = lab_outage


async def test_a_criterion_failed_after_certlab_lost_the_station_is_not_observed(
    scripted, make_ctx
):
    step, outage_at = _step()
    _with_outage(scripted, outage_at)
    run = await run_step(step, make_ctx(), time_limit=10)
    assert run.ending == Ending.FINISHED
    assert run.outcomes == {"c1": Outcome.PASSED, "c2": Outcome.NOT_OBSERVED}
    assert run.proposed == Proposed.INCOMPLETE
    assert REASON in run.result_text
    assert "Heartbeat" not in run.result_text


async def test_a_failure_seen_before_certlab_lost_the_station_stands(scripted, make_ctx):
    step, outage_at = _step(before_ok=False)
    _with_outage(scripted, outage_at)
    run = await run_step(step, make_ctx(), time_limit=10)
    assert run.outcomes["c1"] == Outcome.FAILED
    assert run.proposed == Proposed.FAILED


async def test_without_an_outage_a_failure_is_the_stations(scripted, make_ctx):
    step, _ = _step()
    run = await run_step(step, make_ctx(), time_limit=10)
    assert run.outcomes == {"c1": Outcome.PASSED, "c2": Outcome.FAILED}
    assert run.proposed == Proposed.FAILED


async def test_a_station_certlab_lost_and_that_stays_away_ends_the_step_lab_side(
    scripted, make_ctx
):
    async def run(ctx):
        await asyncio.sleep(30)

    async def lab_outage(since):
        return Outage(since, REASON)

    scripted.lab_outage = lab_outage
    scripted.disconnect(delay=0.1)
    step = types.SimpleNamespace(__name__="fake_wait", CRITERIA=["c1"], run=run)
    run_ = await run_step(step, make_ctx(reconnect_timeout=1), time_limit=20)
    assert run_.ending == Ending.LAB_TROUBLE
    assert REASON in run_.reason and "did not come back within 1 s" in run_.reason
    assert run_.outcomes == {"c1": Outcome.NOT_OBSERVED}
    assert run_.proposed == Proposed.INCOMPLETE


# --- CertLab answering late (issue 13) ---------------------------------------------------------
def _boot_then_fail(scripted, answered_after: float):
    """The station boots (CertLab answering after ``answered_after`` s); a check before the
    boot passes, the one after it fails (say, Heartbeats a station that gave up on its boot
    did not send)."""

    async def run(ctx):
        ctx.check("c1", True, "configuration read")
        scripted.emit("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"},
                      answered_after=answered_after)  # fmt: skip
        boot = await ctx.expect("BootNotification", within=5)
        await ctx.answer_to(boot, within=10)
        ctx.check("c2", False, "no Heartbeat after the boot")

    return types.SimpleNamespace(__name__="fake_boot", CRITERIA=["c1", "c2"], run=run)


async def test_a_criterion_failed_after_certlab_answered_late_is_not_observed(scripted, make_ctx):
    run = await run_step(_boot_then_fail(scripted, 2.5), make_ctx(), time_limit=20)
    assert run.outcomes == {"c1": Outcome.PASSED, "c2": Outcome.NOT_OBSERVED}
    assert run.proposed == Proposed.INCOMPLETE
    assert "CertLab answered the station's BootNotification of" in run.result_text
    assert "only after 2.5 s (the lab counts 2 s or more as late)" in run.result_text


async def test_a_failure_after_certlab_answered_in_time_stands(scripted, make_ctx):
    run = await run_step(_boot_then_fail(scripted, 0.05), make_ctx(), time_limit=20)
    assert run.outcomes == {"c1": Outcome.PASSED, "c2": Outcome.FAILED}
    assert run.proposed == Proposed.FAILED


@pytest.mark.parametrize(
    ("late_answer", "outcome", "proposed"),
    [(1, Outcome.NOT_OBSERVED, Proposed.INCOMPLETE), (2, Outcome.FAILED, Proposed.FAILED)],
)
async def test_how_late_an_answer_is_lab_side_is_the_lab_parameter(
    scripted, make_ctx, late_answer, outcome, proposed
):
    """An answer 1.5 s late is CertLab's trouble when QA count 1 s as late, not at 2 s."""
    run = await run_step(
        _boot_then_fail(scripted, 1.5), make_ctx(late_answer=late_answer), time_limit=20
    )
    assert run.outcomes == {"c1": Outcome.PASSED, "c2": outcome}
    assert run.proposed == proposed
    lab_side = "only after 1.5 s (the lab counts 1 s or more as late)" in run.result_text
    assert lab_side is (late_answer == 1), run.result_text
