"""Campaign queries shared by views, the report and the API; every one a vendor can reach is
filtered to the vendor's own manufacturer here."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.models import User
from campaigns.engine import needs
from campaigns.models import (
    ACTIVE_STATUSES,
    Applicability,
    Attempt,
    AuditEntry,
    Campaign,
    CampaignStatus,
    PlanItem,
    Prompt,
    PromptStatus,
    RunAll,
    RunAllStatus,
    Verdict,
)

# What a vendor may see of its own manufacturer's campaigns: those QA shared with it and those
# signed off (the certified report is theirs). Drafts and anything not shared stay the lab's.
# Every page, download, export, websocket and API answer reaches campaigns through this.
VENDOR_SEES = Q(shared_with_vendor__isnull=False) | Q(status=CampaignStatus.SIGNED_OFF)


def campaigns_for(*, user: User) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.select_related(
        "station__charger_model__manufacturer", "firmware", "owner", "update_firmware"
    )
    if not user.is_authenticated or not user.is_active:
        return campaigns.none()
    if user.is_qa:
        return campaigns
    if user.is_vendor and user.manufacturer_id:
        own = campaigns.filter(station__charger_model__manufacturer_id=user.manufacturer_id)
        return own.filter(VENDOR_SEES)
    return campaigns.none()


def attempts_for(*, user: User) -> QuerySet[Attempt]:
    return Attempt.objects.filter(plan_item__campaign__in=campaigns_for(user=user)).select_related(
        "plan_item__campaign__station", "plan_item__function"
    )


def progress_for(*, campaigns: list[Campaign]) -> dict[int, tuple[int, int]]:
    """(steps with a final verdict or not planned, steps in all) per campaign, in one query: the
    steps `report_rows` gives a verdict."""
    decided = ~Q(applicability=Applicability.PLANNED) | Exists(
        Attempt.objects.filter(plan_item=OuterRef("pk")).exclude(final_verdict="")
    )
    counts = (
        PlanItem.objects.filter(campaign__in=campaigns)
        .values("campaign")
        .annotate(done=Count("pk", filter=decided), total=Count("pk"))
        .order_by()
    )
    progress = {c["campaign"]: (c["done"], c["total"]) for c in counts}
    return {campaign.pk: progress.get(campaign.pk, (0, 0)) for campaign in campaigns}


def plan_with_attempts(*, campaign: Campaign) -> QuerySet[PlanItem]:
    return (
        campaign.plan.select_related("function")
        .prefetch_related("function__criteria")
        .prefetch_related(Prefetch("attempts", queryset=Attempt.objects.order_by("number")))
    )


def undecided_steps(*, campaign: Campaign) -> list[PlanItem]:
    missing = []
    for item in plan_with_attempts(campaign=campaign):
        if item.applicability != Applicability.PLANNED:
            continue
        attempts = list(item.attempts.all())
        if not attempts or not attempts[-1].final_verdict:
            missing.append(item)
    return missing


@dataclass(frozen=True)
class ReportRow:
    """One line of the report: the step, its criteria and its result with the history."""

    item: PlanItem
    criteria: list
    attempts: list[Attempt]
    verdict: str  # a Verdict value, or "" while undecided
    result: str

    @property
    def verdict_label(self) -> str:
        return Verdict(self.verdict).label if self.verdict else "Not decided"


def report_rows(*, campaign: Campaign) -> list[ReportRow]:
    rows = []
    for item in plan_with_attempts(campaign=campaign):
        attempts = list(item.attempts.all())
        criteria = list(item.function.criteria.all())
        if item.applicability != Applicability.PLANNED:
            label = Applicability(item.applicability).label
            verdict = (
                Verdict.NOT_APPLICABLE
                if item.applicability == Applicability.NOT_APPLICABLE
                else Verdict.NOT_SUPPORTED
            )
            rows.append(ReportRow(item, criteria, attempts, verdict, f"{label}: {item.reason}"))
            continue
        decided = [a for a in attempts if a.final_verdict]
        latest = decided[-1] if decided else None
        rows.append(
            ReportRow(
                item,
                criteria,
                attempts,
                latest.final_verdict if latest else "",
                history_text(decided),
            )
        )
    return rows


def declared_limits(*, campaign: Campaign) -> dict[int, list[str]]:
    """Per step number (every step, [] for none), what the station's declaration rules out
    before the run: criteria that will be not applicable and parts of checks a step leaves out,
    each with its reason."""
    capabilities = campaign.station.capabilities
    items = campaign.plan.select_related("function").prefetch_related("function__criteria")
    return {item.function.number: item_limits(item, capabilities) for item in items}


def item_limits(item: PlanItem, capabilities=None) -> list[str]:
    """What the declaration rules out of one step, as ``declared_limits`` says it."""
    capabilities = capabilities or item.campaign.station.capabilities
    keys = tuple(c.key for c in item.function.criteria.all())
    lines = [f"{key}: {why}" for key, why in needs.criteria_lacking(capabilities, keys).items()]
    lines += [
        f"{part.split('/')[0]}: {why}."
        for part, why in needs.parts_lacking(capabilities, keys).items()
    ]
    return lines


def declaration_drift(*, campaign: Campaign) -> list[tuple[PlanItem, str]]:
    """Steps planned and never run that the station's current declaration rules out (changed
    since the plan was made), each with the reason."""
    capabilities = campaign.station.capabilities
    planned = campaign.plan.filter(applicability=Applicability.PLANNED, attempts__isnull=True)
    found = []
    for item in planned.select_related("function").order_by("function__number"):
        if reason := needs.step_lacks(capabilities, item.function.number):
            found.append((item, reason))
    return found


def history_text(decided: list[Attempt]) -> str:
    """ "Ok" for one attempt; "1st attempt failed: …; retest Ok" when there were retests."""
    if not decided:
        return ""
    if len(decided) == 1:
        return decided[0].result_text
    parts = [
        f"{a.ordinal} attempt {Verdict(a.final_verdict).label.lower()}: {a.result_text}"
        for a in decided[:-1]
    ]
    parts.append(f"retest {decided[-1].result_text}")
    return "; ".join(parts)


def campaigns_in_progress(*, user: User, limit: int = 20) -> list[Campaign]:
    """Running campaigns the user may see, the latest started first."""
    running = campaigns_for(user=user).filter(status=CampaignStatus.RUNNING)
    return list(running.order_by("-started", "-pk")[:limit])


def recent_sign_offs(*, user: User, limit: int = 8) -> list[Campaign]:
    signed = campaigns_for(user=user).filter(status=CampaignStatus.SIGNED_OFF)
    return list(signed.select_related("signed_off_by").order_by("-signed_off", "-pk")[:limit])


def prompts_waiting(*, user: User) -> list[Prompt]:
    """Open prompts of attempts the user may see, the oldest first: each holds a step."""
    return list(
        Prompt.objects.filter(status=PromptStatus.OPEN, attempt__in=attempts_for(user=user))
        .select_related(
            "attempt__plan_item__function", "attempt__plan_item__campaign", "attempt__station"
        )
        .order_by("deadline", "pk")
    )


def running_sequences(*, campaigns: list[Campaign]) -> dict[int, RunAll]:
    """The running "run all remaining steps" of each of these campaigns that has one."""
    runs = RunAll.objects.filter(
        campaign__in=campaigns, status=RunAllStatus.RUNNING
    ).select_related("current__plan_item__function")
    return {run.campaign_id: run for run in runs}


def active_attempts_on(*, stations: list, user: User) -> dict[int, Attempt]:
    """The attempt queued or running on each of these stations that has one, of the campaigns
    the user sees (a vendor's station also runs campaigns not shared with it)."""
    active = attempts_for(user=user).filter(station__in=stations, status__in=ACTIVE_STATUSES)
    return {a.station_id: a for a in active.select_related("plan_item__function")}


def history_for(*, campaign: Campaign, user: User) -> QuerySet[AuditEntry]:
    """The campaign's history as `user` may read it: a vendor never sees the lab-only entries.
    The caller has checked that the user may see the campaign."""
    return campaign_history(campaign=campaign, lab_only=user.is_qa)


def campaign_history(*, campaign: Campaign, lab_only: bool) -> QuerySet[AuditEntry]:
    """The campaign's audit trail, newest first: its own entries, and the station's changes made
    while the campaign was open (from its creation to its sign-off); with the lab-only entries
    or without them (the report never prints them: it goes to the vendor)."""
    station_changes = Q(campaign=None, station_id=campaign.station_id, at__gte=campaign.created)
    if campaign.is_signed_off and campaign.signed_off:
        station_changes &= Q(at__lte=campaign.signed_off)
    entries = AuditEntry.objects.filter(Q(campaign=campaign) | station_changes).select_related(
        "plan_item__function", "attempt"
    )
    return entries if lab_only else entries.filter(lab_only=False)
