"""Run one step coroutine in a context and end it with a clear outcome, whatever happens."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import ModuleType
from typing import Any

from campaigns.engine import idle, needs, outages
from campaigns.engine.context import StepContext
from campaigns.engine.port import LabTrouble, StationGone
from campaigns.engine.results import Level, Outcome
from campaigns.engine.verdict import Proposed, criterion_outcomes, propose, result_text
from campaigns.engine.waits import WaitEnded

logger = logging.getLogger(__name__)


class Ending(StrEnum):
    FINISHED = "finished"
    STATION_OFFLINE = "station_offline"
    TIMED_OUT = "timed_out"
    ABORTED = "aborted"
    ERROR = "error"
    LAB_TROUBLE = "lab_trouble"
    WAIT_ENDED = "wait_ended"  # QA gave up on a silent station: a finished attempt, incomplete


ENDING_TEXT = {
    Ending.STATION_OFFLINE: "The station went offline during the step",
    Ending.TIMED_OUT: "The step did not finish within its time limit",
    Ending.ABORTED: "Aborted by the operator",
    Ending.ERROR: "CertLab failed while running the step",
    Ending.LAB_TROUBLE: "CertLab could not do its own part in time (not the station's doing)",
    Ending.WAIT_ENDED: "Ended early",
}


@dataclass
class StepRun:
    ending: Ending
    reason: str
    outcomes: dict[str, Outcome]
    proposed: Proposed
    result_text: str
    strict: bool = False


async def run_step(
    step: ModuleType, ctx: StepContext, *, time_limit: float, strict: bool = False
) -> StepRun:
    """Run ``step.run(ctx)``; a station that vanishes, a time limit, an abort (cancellation)
    or a crash each end the attempt with every unproven criterion marked not observed.
    ``strict`` (a campaign in OCTT mode): the findings decide the verdict too."""
    ending, reason = Ending.FINISHED, ""
    undecided: tuple[str, ...] = ()  # criteria a cut-short wait was to decide
    started = datetime.now(UTC)
    try:
        async with ctx:
            _mark_not_applicable(step, ctx)
            if not await ctx.port.is_connected():
                raise StationGone(f"{ctx.station.charge_point_id} is not connected")
            await _run_idle_to_idle(step, ctx, time_limit, started)
    except StationGone as error:
        ending, reason = Ending.STATION_OFFLINE, str(error)
        undecided = getattr(error, "criteria", ())
    except LabTrouble as error:
        ending, reason = Ending.LAB_TROUBLE, str(error)
    except WaitEnded as error:
        ending, reason = Ending.WAIT_ENDED, str(error)
        undecided = getattr(error, "criteria", ())
    except TimeoutError:
        ending, reason = Ending.TIMED_OUT, f"{time_limit:.0f} s passed"
    except asyncio.CancelledError:
        ending, reason = Ending.ABORTED, ""
    except Exception as error:  # a bug of ours must still end the attempt, with its trace
        logger.exception("step %s crashed", step.__name__)
        ending, reason = Ending.ERROR, f"{type(error).__name__}: {error}"
        ctx.attach("traceback", traceback.format_exc())
    if ending != Ending.FINISHED:
        _close_open_criteria(step, ctx, ending, reason, undecided)
    outcomes = criterion_outcomes(step.CRITERIA, ctx.results)
    summary = ctx.summary_text
    if (outage := await outages.lab_outage(ctx, started)) is not None:
        spared = outages.spare_station(ctx, outcomes, outage)
        if spared != outcomes:  # what the station was blamed for was CertLab's outage
            outcomes, summary = spared, outage.reason
    if (late := outages.late_answer(ctx)) is not None:
        spared = outages.spare_station(
            ctx, outcomes, late, key="lab-late",
            consequence="what the station did after that call cannot be held against it",
        )  # fmt: skip
        if spared != outcomes:  # what the station was blamed for followed CertLab's delay
            outcomes, summary = spared, late.reason
    proposed = propose(outcomes, results=ctx.results, strict=strict)
    if ending != Ending.FINISHED and proposed == Proposed.OK:
        proposed = Proposed.INCOMPLETE
    text = result_text(proposed, summary, ctx.results, strict=strict)
    if ending != Ending.FINISHED:  # the ending is said once, in front, not again in the text
        text = text.replace(f"Not observed. {_why(ending, reason)}.", "not observed.")
    if ending == Ending.WAIT_ENDED:
        text = f"{reason}. {text}"
    elif ending != Ending.FINISHED:
        text = f"{ENDING_TEXT[ending]}" + (f" ({reason})" if reason else "") + f". {text}"
    return StepRun(ending, reason, outcomes, proposed, text, strict)


MONITOR_EVERY = 0.5  # s between looks at whether the station is still connected


def _idle_limit(ctx: StepContext) -> float:
    p = ctx.params
    return p.prompt_timeout + 2 * (p.status_window + p.transaction_window + p.call_timeout) + 10


async def _run_idle_to_idle(
    step: ModuleType, ctx: StepContext, time_limit: float, started: datetime
) -> None:
    """The station idle first (else every criterion "precondition not met"), then the step,
    then what it started stopped and its settings put back, whatever its verdict
    (campaigns/engine/idle.py). Each part has its own time limit."""
    problem = await _run_watched(lambda: idle.ensure_idle(ctx), ctx, _idle_limit(ctx), started)
    if problem:
        for criterion in step.CRITERIA:
            if not any(r.criterion == criterion for r in ctx.results):
                ctx.check(criterion, None, f"Precondition not met: {problem}.",
                          key=f"{criterion}#precondition")  # fmt: skip
        return
    try:
        await _run_watched(lambda: step.run(ctx), ctx, time_limit, started)
    except StationGone:
        raise  # nothing to clean up with
    except asyncio.CancelledError:  # QA asked to stop now: stop what runs, ask nobody
        await _clean_up_after_abort(ctx)
        raise
    except BaseException:
        await _clean_up(ctx, started)
        raise
    await _clean_up(ctx, started)


# s an aborted step gets to stop its transactions and put settings back: well inside the six
# missed liveness beats (30 s) after which a sweep would take the attempt for interrupted.
ABORT_CLEAN_UP = 15.0


async def _clean_up_after_abort(ctx: StepContext) -> None:
    try:
        async with asyncio.timeout(ABORT_CLEAN_UP):
            await idle.leave_idle(ctx, ask=False)
    except (Exception, TimeoutError) as error:
        logger.warning("clean-up of %s after abort: %r", ctx.station.charge_point_id, error)
        with contextlib.suppress(Exception):
            await ctx.note(f"Clean-up after the abort did not finish: {error or type(error)}.")


async def _clean_up(ctx: StepContext, started: datetime) -> None:
    try:
        await _run_watched(lambda: idle.leave_idle(ctx), ctx, _idle_limit(ctx) * 2, started)
    except Exception as error:  # the verdict stands; say what is left
        logger.warning("clean-up of %s failed: %r", ctx.station.charge_point_id, error)
        with contextlib.suppress(Exception):
            await ctx.note(f"Clean-up after the step did not finish: {error or type(error)}.")


async def _run_watched(
    run: Callable[[], Awaitable[Any]], ctx: StepContext, time_limit: float, started: datetime
):
    """A part of the attempt beside a monitor: a station away for longer than the lab's
    reconnect timeout ends it (StationGone, or LabTrouble when CertLab lost it) wherever it
    waits, a prompt included."""
    running = asyncio.create_task(run())
    monitor = asyncio.create_task(_station_monitor(ctx, ctx.params.reconnect_timeout, started))
    try:
        done, _ = await asyncio.wait(
            {running, monitor}, timeout=time_limit, return_when=asyncio.FIRST_COMPLETED
        )
        if running in done:
            return running.result()
        if monitor in done:
            monitor.result()  # raises StationGone
        raise TimeoutError
    finally:
        for task in (running, monitor):
            task.cancel()
        await asyncio.gather(running, monitor, return_exceptions=True)


async def _station_monitor(ctx: StepContext, grace: float, started: datetime) -> None:
    loop = asyncio.get_running_loop()
    away_since: float | None = None
    while True:
        await asyncio.sleep(MONITOR_EVERY)
        if await ctx.port.is_connected():
            away_since = None
            continue
        away_since = away_since or loop.time()
        if loop.time() - away_since >= grace:
            if (outage := await outages.lab_outage(ctx, started)) is not None:
                raise LabTrouble(f"{outage.reason}; the station did not come back within "
                                 f"{grace:.0f} s")  # fmt: skip
            raise StationGone(
                f"{ctx.station.charge_point_id} has been disconnected for {grace:.0f} s"
            )


def _mark_not_applicable(step: ModuleType, ctx: StepContext) -> None:
    """Criteria the station's declaration rules out are not applicable, with the reason, before
    the step does anything."""
    lacking = needs.criteria_lacking(ctx.station.capabilities, tuple(step.CRITERIA))
    for criterion, reason in lacking.items():
        ctx.check(criterion, None, reason, not_applicable=True, key=f"{criterion}#declared")


def _why(ending: Ending, reason: str) -> str:
    """Why a step ended early, as its not-observed checks say."""
    if ending == Ending.WAIT_ENDED:
        return reason
    return ENDING_TEXT[ending] + (f": {reason}" if reason else "")


def _close_open_criteria(
    step: ModuleType, ctx: StepContext, ending: Ending, reason: str, undecided: Sequence[str] = ()
) -> None:
    lab = [r for r in ctx.results if r.level == Level.CRITERION]  # a finding decides nothing
    declared = {r.criterion for r in lab if r.outcome == Outcome.NOT_APPLICABLE}
    seen = {r.criterion for r in lab} - (set(undecided) - declared)
    why = _why(ending, reason)
    for criterion in step.CRITERIA:
        if criterion not in seen:
            ctx.check(criterion, None, f"Not observed. {why}.", key=f"{criterion}#ended")
