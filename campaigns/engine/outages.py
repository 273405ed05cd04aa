"""CertLab losing the station's connection during a step (its web server shut down or died
under the station) is CertLab's trouble, never the station's: a step that ends because the
station stayed away then ends lab-side, and a criterion that failed only on what was checked
after the loss (heartbeats that could not arrive meanwhile) is not observed, with the reason.

A port may offer ``async lab_outage(since) -> (at, reason) | None`` (stations.outages behind
the bus); a port without it (a scripted station) never loses a connection on CertLab's side.

CertLab answering a station's call late (the lab parameter ``late_answer`` s or more, 2 s by
default: its database, its load) is CertLab's trouble the same way: a station that gave up
waiting, retried or went on its own timers meanwhile did what a charger does, so a criterion that
failed only on what came after that call is not observed, with the reason (issue 13). Answers
each a little late add up: ``lab_answer_time`` is how much of a window the station spent waiting
on CertLab, which a step's long window (a firmware update's) gives back to the station.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

from campaigns.engine.context import StepContext
from campaigns.engine.results import Level, Outcome

logger = logging.getLogger(__name__)


async def lab_outage(ctx: StepContext, since: datetime):
    """The first loss of the station's connection on CertLab's side since ``since``, if any."""
    find = getattr(ctx.port, "lab_outage", None)
    if find is None:
        return None
    try:
        return await find(since)
    except Exception:  # a question about CertLab's own trouble must not become more of it
        logger.warning("could not look for a lab-side outage", exc_info=True)
        return None


class LateAnswer(NamedTuple):
    at: datetime  # when the station's call came
    reason: str


def late_answer(ctx: StepContext) -> LateAnswer | None:
    """The earliest of the station's calls seen during the step that CertLab answered
    ``late_answer`` s (the lab parameter) or more after it came, if any."""
    calls = {f.unique_id: f for f in ctx.history
             if f.direction == "in" and f.message_type == "CALL"}  # fmt: skip
    limit, late = ctx.params.late_answer, None
    for answer in ctx.history:
        call = calls.get(answer.unique_id)
        if call is None or answer.direction != "out":
            continue
        if answer.message_type not in ("CALLRESULT", "CALLERROR"):
            continue
        took = (answer.timestamp - call.timestamp).total_seconds()
        if took >= limit and (late is None or call.timestamp < late.at):
            late = LateAnswer(call.timestamp, f"CertLab answered the station's {call.action} of "
                              f"{call.timestamp:%H:%M:%S} only after {took:.1f} s (the lab "
                              f"counts {limit} s or more as late)")  # fmt: skip
    return late


def spare_station(
    ctx: StepContext,
    outcomes: dict[str, Outcome],
    outage,
    *,
    consequence: str = "what the station sent meanwhile could not reach CertLab",
    key: str = "lab-outage",
) -> dict[str, Outcome]:
    """Failed criteria whose every failing check came after CertLab's trouble began
    (``outage.at``) are not observed, with CertLab's reason."""
    spared = dict(outcomes)
    for criterion, outcome in outcomes.items():
        if outcome != Outcome.FAILED:
            continue
        failing = [r for r in ctx.results if r.criterion == criterion
                   and r.level == Level.CRITERION and r.outcome == Outcome.FAILED]  # fmt: skip
        if failing and all(r.at >= outage.at for r in failing):
            ctx.lab_side(criterion, f"{outage.reason}; {consequence}", key=f"{criterion}#{key}")
            spared[criterion] = Outcome.NOT_OBSERVED
    return spared


def lab_answer_time(ctx: StepContext, since: int) -> float:
    """Seconds the station spent, since history mark ``since``, waiting for CertLab's answers
    to its calls (from each call's arrival to CertLab's answer; overlapping waits counted
    once). A call not answered yet is left out: the time it waits is not known yet."""
    spans = []
    for call in ctx.history[since:]:
        answer = ctx.answered(call) if call.direction == "in" else None
        if call.message_type == "CALL" and answer is not None:
            spans.append((call.timestamp, answer.timestamp))
    total, reached = 0.0, None
    for begin, end in sorted(spans):
        begin = max(begin, reached) if reached else begin
        if end > begin:
            total += (end - begin).total_seconds()
            reached = end
    return total
