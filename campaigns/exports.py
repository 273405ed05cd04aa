"""A campaign's downloads: the frames of its attempts (stations/frame_export.py streams them) and
its verdicts as JSON or JUnit XML, for the CI pipelines of vendors who test their firmware.

An attempt's frames are its station's frames from the attempt's start (its queueing, if it never
started) to its end (now, while it runs); a campaign's are those of all its attempts."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from campaigns.junit import junit_xml
from campaigns.models import Applicability, Attempt, Campaign
from campaigns.selectors import plan_with_attempts
from campaigns.unattended import StepOutcome, criteria_of
from stations.frame_export import station_frames
from stations.models import Frame


def _window(attempt: Attempt) -> Q:
    return Q(
        timestamp__gte=attempt.started or attempt.queued,
        timestamp__lte=attempt.ended or timezone.now(),
    )


def attempt_frames(attempt: Attempt) -> QuerySet[Frame]:
    return station_frames(attempt.station_id).filter(_window(attempt))


def campaign_frames(campaign: Campaign) -> QuerySet[Frame]:
    windows = Q()
    for attempt in Attempt.objects.filter(plan_item__campaign=campaign).only(
        "started", "queued", "ended"
    ):
        windows |= _window(attempt)
    if not windows:
        return Frame.objects.none()
    return station_frames(campaign.station_id).filter(windows)


def step_outcomes(campaign: Campaign) -> list[StepOutcome]:
    """Per planned step its deciding attempt (the last with a final verdict, else the last run)
    and that attempt's criteria with their checks' details."""
    outcomes = []
    for item in plan_with_attempts(campaign=campaign):
        number, title = item.function.number, item.function.title
        if item.applicability != Applicability.PLANNED:
            label = Applicability(item.applicability).label
            reason = f"{label}: {item.reason}" if item.reason else label
            outcomes.append(StepOutcome(number, title, None, not_planned=reason))
            continue
        attempts = list(item.attempts.all())
        decided = [a for a in attempts if a.final_verdict]
        attempt = (decided or attempts or [None])[-1]
        if attempt is None:
            outcomes.append(StepOutcome(number, title, None, skipped="not run yet"))
            continue
        outcomes.append(StepOutcome(number, title, attempt, criteria=criteria_of(attempt)))
    return outcomes


def _when(moment) -> str | None:
    return moment.isoformat() if moment else None


def verdicts(campaign: Campaign) -> dict:
    """The campaign's verdicts as the JSON download gives them."""
    station = campaign.station
    steps = []
    for outcome in step_outcomes(campaign):
        attempt = outcome.attempt
        steps.append(
            {
                "number": outcome.number,
                "title": outcome.title,
                "planned": not outcome.not_planned,
                "reason": outcome.not_planned or outcome.skipped,
                "verdict": attempt.final_verdict if attempt else "",
                "result": attempt.result_text if attempt else "",
                "attempt": attempt
                and {
                    "id": attempt.pk,
                    "number": attempt.number,
                    "status": attempt.status,
                    "proposed_verdict": attempt.proposed_verdict,
                    "proposed_text": attempt.proposed_text,
                    "started": _when(attempt.started),
                    "ended": _when(attempt.ended),
                    "firmware": attempt.firmware.version if attempt.firmware else None,
                },
                "criteria": outcome.criteria,
            }
        )
    return {
        "campaign": campaign.pk,
        "status": campaign.status,
        "rehearsal": campaign.rehearsal,
        "signed_off": _when(campaign.signed_off),
        "station": station.charge_point_id,
        "manufacturer": station.charger_model.manufacturer.name,
        "model": station.charger_model.name,
        "firmware": campaign.firmware.version if campaign.firmware else None,
        "steps": steps,
    }


def verdicts_junit(campaign: Campaign) -> str:
    return junit_xml(name=f"CertLab campaign {campaign.pk}", outcomes=step_outcomes(campaign))
