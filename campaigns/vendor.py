"""The vendor's side of a campaign: QA share it with the vendor (or take it back), and the vendor
acknowledges the signed-off report. Who sees what is decided in one place,
``campaigns.selectors.campaigns_for``; these are the acts that change it.

Each act is in the campaign's history (campaigns.audit), in its own transaction, and not lab-only:
the vendor may read when it was given the campaign, taken it back and acknowledged the report."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from campaigns import audit
from campaigns.events import campaign_changed_sync, campaign_withdrawn_sync
from campaigns.models import Attempt, Campaign


@transaction.atomic
def campaign_share(*, campaign: Campaign, user: User) -> None:
    """The campaign's vendor sees it from now on, results so far included."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.shared_with_vendor is not None:
        raise ValidationError(f"Already shared with {campaign.manufacturer} since "
                              f"{locked.shared_with_vendor:%Y-%m-%d %H:%M}.")  # fmt: skip
    campaign.shared_with_vendor = timezone.now()
    campaign.shared_by = user
    campaign.save(update_fields=["shared_with_vendor", "shared_by"])
    sharing_record(campaign=campaign, user=user, was_shared=False)
    # The vendor's home page shows it from now on: every section may hold some of it.
    pk = campaign.pk
    transaction.on_commit(lambda: campaign_changed_sync(pk, "shared"))


@transaction.atomic
def campaign_unshare(*, campaign: Campaign, user: User) -> None:
    """A signed-off campaign stays the vendor's: its report is what was certified."""
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.is_signed_off:
        raise ValidationError(
            "A signed-off campaign stays visible to its vendor: the report is theirs."
        )
    if locked.shared_with_vendor is None:
        raise ValidationError("This campaign is not shared with its vendor.")
    campaign.shared_with_vendor = None
    campaign.shared_by = None
    campaign.save(update_fields=["shared_with_vendor", "shared_by"])
    sharing_record(campaign=campaign, user=user, was_shared=True)
    # Its vendor's open pages drop it: the home page's sections, the campaign's live panels.
    pk, manufacturer_id = campaign.pk, campaign.station.charger_model.manufacturer_id
    attempt_ids = list(
        Attempt.objects.filter(plan_item__campaign=campaign).values_list("pk", flat=True)
    )
    transaction.on_commit(
        lambda: campaign_withdrawn_sync(
            pk, manufacturer_id=manufacturer_id, attempt_ids=attempt_ids
        )
    )


def sharing_record(*, campaign: Campaign, user: User, was_shared: bool, reason: str = "") -> None:
    """The history's entry for a change of who sees the campaign (also signing off shares it)."""
    labels = {False: "Not shared", True: f"Shared with {campaign.manufacturer}"}
    audit.record(campaign=campaign, user=user, what=audit.SHARING, field="Shared with the vendor",
                 before=labels[was_shared], after=labels[campaign.shared_with_vendor is not None],
                 reason=reason)  # fmt: skip


@transaction.atomic
def campaign_acknowledge(*, campaign: Campaign, user: User) -> None:
    """The vendor says it received the signed-off report; once, by one of its own users."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not user.is_vendor or user.manufacturer_id != campaign.manufacturer.pk:
        raise ValidationError("Only the campaign's vendor acknowledges its report.")
    if not campaign.is_signed_off:
        raise ValidationError("Only a signed-off report can be acknowledged.")
    if campaign.vendor_acknowledged is not None:
        raise ValidationError(
            f"Already acknowledged by {campaign.vendor_acknowledged_by.get_username()} on "
            f"{campaign.vendor_acknowledged:%Y-%m-%d %H:%M}."
        )
    campaign.vendor_acknowledged = timezone.now()
    campaign.vendor_acknowledged_by = user
    campaign.save(update_fields=["vendor_acknowledged", "vendor_acknowledged_by"])
    audit.record(campaign=campaign, user=user, what=audit.ACKNOWLEDGEMENT,
                 field="Report acknowledged by the vendor", before="Not acknowledged",
                 after="Acknowledged")  # fmt: skip
