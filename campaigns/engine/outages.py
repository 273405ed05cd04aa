"""CertLab losing the station's connection during a step (its web server shut down or died
under the station) is CertLab's trouble, never the station's: a step that ends because the
station stayed away then ends lab-side, and a criterion that failed only on what was checked
after the loss (heartbeats that could not arrive meanwhile) is not observed, with the reason.

A port may offer ``async lab_outage(since) -> (at, reason) | None`` (stations.outages behind
the bus); a port without it (a scripted station) never loses a connection on CertLab's side.
"""

from __future__ import annotations

import logging
from datetime import datetime

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


def spare_station(ctx: StepContext, outcomes: dict[str, Outcome], outage) -> dict[str, Outcome]:
    """Failed criteria whose every failing check came after CertLab lost the connection are
    not observed, with CertLab's reason."""
    spared = dict(outcomes)
    for criterion, outcome in outcomes.items():
        if outcome != Outcome.FAILED:
            continue
        failing = [r for r in ctx.results if r.criterion == criterion
                   and r.level == Level.CRITERION and r.outcome == Outcome.FAILED]  # fmt: skip
        if failing and all(r.at >= outage.at for r in failing):
            ctx.lab_side(
                criterion,
                f"{outage.reason}; what the station sent meanwhile could not reach CertLab",
                key=f"{criterion}#lab-outage",
            )
            spared[criterion] = Outcome.NOT_OBSERVED
    return spared
