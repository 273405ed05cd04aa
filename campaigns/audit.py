"""The audit trail of what a report says (campaigns.models.AuditEntry).

The services call ``record`` inside the transaction that makes the change, so the pages, the API
and run_campaign are audited alike and an entry never outlives a change that rolled back. Only
real changes are written: ``before == after`` records nothing."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import User
from campaigns.models import Attempt, AuditEntry, Campaign, PlanItem
from stations.models import Station

# Keys of the entries (AuditEntry.what), grouped as the history page groups them.
VERDICT = "verdict.verdict"
RESULT_TEXT = "verdict.result_text"
NOTES = "verdict.notes"
APPLICABILITY = "plan.applicability"
PLAN_REASON = "plan.reason"
STATUS = "campaign.status"
REVISION = "campaign.revision"
FIRMWARE_AFTER_UPDATE = "campaign.firmware_after_update"
EXPECTED_FIRMWARE = "station.expected_firmware"
SHARING = "campaign.shared_with_vendor"
ACKNOWLEDGEMENT = "campaign.vendor_acknowledged"

# Texts the vendor never reads: their changes are the lab's business. A verdict's note is QA's
# internal note (lab only); the result text is what the report states.
LAB_ONLY = {NOTES}


def actor_label(user: User | None, by: str = "") -> str:
    """Who, as the history shows it: the user's name, or CertLab itself ("CertLab (step 12)")."""
    if user is not None:
        return user.get_full_name() or user.get_username()
    return f"CertLab ({by})" if by else "CertLab"


def record(
    *,
    campaign: Campaign | None,
    user: User | None,
    what: str,
    field: str,
    before: object,
    after: object,
    station: Station | None = None,
    plan_item: PlanItem | None = None,
    attempt: Attempt | None = None,
    reason: str = "",
    by: str = "",
) -> AuditEntry | None:
    """One entry, unless nothing changed. `by` names what CertLab was doing when no user acted."""
    before, after = _text(before), _text(after)
    if before == after:
        return None
    return AuditEntry.objects.create(
        campaign=campaign,
        station=station or campaign.station,
        plan_item=plan_item or (attempt.plan_item if attempt else None),
        attempt=attempt,
        actor=user,
        actor_label=actor_label(user, by),
        at=timezone.now(),
        what=what,
        field=field,
        before=before,
        after=after,
        reason=reason,
        lab_only=what in LAB_ONLY,
    )


def _text(value: object) -> str:
    return "" if value is None else str(value)


def station_firmware_changed(sender, *, station, before, after, user, via, **kwargs) -> None:
    """stations.signals.expected_firmware_changed: the change belongs to no one campaign but to
    the history of each campaign of the station open at the time (selectors.history_for)."""
    record(campaign=None, station=station, user=user, what=EXPECTED_FIRMWARE,
           field="Station's expected firmware", before=before and before.version,
           after=after and after.version, reason=f"Changed {via}.")  # fmt: skip
