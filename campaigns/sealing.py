"""The tamper-evident record kept in the database: an attempt is sealed when it ends (its frames
and checks folded into a chain, campaigns.evidence), a campaign when a verdict changes and at
sign-off (and at a reopening, which raises the revision); ``campaign_verify`` recomputes both
from the database and names what changed."""

from __future__ import annotations

from collections.abc import Iterator

from campaigns import evidence
from campaigns.models import ACTIVE_STATUSES, Attempt, Campaign
from stations.models import Frame


def attempt_rows(attempt: Attempt, *, last_frame: int | None) -> Iterator[dict]:
    """The frames the attempt saw (its station's, from its start to its end, in log order, up to
    `last_frame`), then its checks."""
    if attempt.started and attempt.ended and last_frame:
        frames = (
            Frame.objects.filter(station_id=attempt.station_id, id__lte=last_frame,
                                 timestamp__gte=attempt.started, timestamp__lte=attempt.ended)
            .order_by("id")
            .values_list("id", "direction", "message_type", "unique_id", "raw")
        )  # fmt: skip
        for pk, direction, message_type, unique_id, raw in frames.iterator(chunk_size=2000):
            yield evidence.frame_row(id=pk, direction=direction, message_type=message_type,
                                     unique_id=unique_id, raw=raw)  # fmt: skip
    checks = attempt.checks.order_by("id").values_list("key", "outcome", "detail", "evidence")
    for key, outcome, detail, refs in checks:
        yield evidence.check_row(key=key, outcome=outcome, detail=detail, evidence=refs)


def attempt_seal(attempt: Attempt) -> None:
    """Fold the ended attempt's frames and checks into its chain and store the head."""
    newest = Frame.objects.of_station(attempt.station_id).values_list("id", flat=True).first()
    head, rows = evidence.fold(attempt_rows(attempt, last_frame=newest))
    attempt.evidence_head, attempt.evidence_rows, attempt.evidence_last_frame = head, rows, newest
    Attempt.objects.filter(pk=attempt.pk).update(
        evidence_head=head, evidence_rows=rows, evidence_last_frame=newest
    )


def attempt_seal_ids(ids: list[int]) -> None:
    for attempt in Attempt.objects.filter(pk__in=ids):
        attempt_seal(attempt)


def verdict_rows(campaign: Campaign) -> list[dict]:
    """Per planned step: the verdict and result text the report prints, and the chain head of
    the attempt the verdict was given on."""
    from campaigns.selectors import report_rows

    rows = []
    for row in report_rows(campaign=campaign):
        decided = [a for a in row.attempts if a.final_verdict]
        head = decided[-1].evidence_head if decided else ""
        rows.append(evidence.verdict_row(step=row.item.function.number, verdict=row.verdict,
                                         result_text=row.result, chain_head=head))  # fmt: skip
    return rows


def campaign_rows(campaign: Campaign, revision: int) -> list[dict]:
    return evidence.campaign_rows(revision=revision, verdicts=verdict_rows(campaign))


def campaign_seal(campaign: Campaign) -> None:
    # The revision as stored: a caller's copy of the campaign may predate a reopening.
    revision = Campaign.objects.values_list("revision", flat=True).get(pk=campaign.pk)
    digest, rows = evidence.fold(campaign_rows(campaign, revision))
    campaign.evidence_digest, campaign.evidence_rows = digest, rows
    Campaign.objects.filter(pk=campaign.pk).update(evidence_digest=digest, evidence_rows=rows)


def campaign_verify(campaign: Campaign) -> list[str]:
    """Everything that differs from the record, named; [] when the record holds."""
    found = []
    attempts = Attempt.objects.filter(plan_item__campaign=campaign).exclude(
        status__in=ACTIVE_STATUSES
    )
    for attempt in attempts.select_related("plan_item__function").order_by("plan_item", "number"):
        where = f"step {attempt.plan_item.function.number} attempt {attempt.number}"
        if not attempt.evidence_head:
            found.append(f"{where}: not sealed (no chain head recorded)")
            continue
        rows = attempt_rows(attempt, last_frame=attempt.evidence_last_frame)
        head, index = evidence.fold(rows)
        named = evidence.changes(attempt.evidence_rows, index)
        found += [f"{where}: {change}" for change in named]
        if head != attempt.evidence_head and not named:
            found.append(f"{where}: chain head changed")
    digest, index = evidence.fold(campaign_rows(campaign, campaign.revision))
    named = evidence.changes(campaign.evidence_rows, index)
    found += named
    if digest != campaign.evidence_digest and not named:
        found.append("evidence digest changed")
    return found
