"""The one place that sends campaign events to the channel layer (browsers watching an attempt,
the engine waiting for a prompt's answer, the home page following the whole lab)."""

from __future__ import annotations

from typing import Literal, TypedDict

from stations.bus import channel_layer
from stations.events import sync_sender


class AttemptEvent(TypedDict, total=False):
    type: Literal["attempt.changed"]
    attempt_id: int
    what: Literal["status", "note", "check", "prompt", "verdict", "wait"]


class RunAllEvent(TypedDict):
    type: Literal["run_all.changed"]
    campaign_id: int


class CampaignEvent(TypedDict):
    type: Literal["campaign.changed"]
    campaign_id: int
    what: Literal["created", "started", "run_all", "status", "shared"]


class WithdrawnEvent(TypedDict):
    type: Literal["campaign.withdrawn"]
    campaign_id: int
    manufacturer_id: int


# Who follows every campaign of the lab (the home page): it hears what changes a prompt, an
# attempt's state or a campaign's progress, never the checks and notes a step streams.
LAB_GROUP = "lab-campaigns"
LAB_WHATS = {"status", "prompt", "verdict"}


def vendor_group(manufacturer_id: int) -> str:
    """Who follows the lab as one manufacturer's vendor (its home pages): told when a campaign
    leaves its sight, which the lab's groups cannot tell it (its selectors no longer find it)."""
    return f"vendor-{manufacturer_id}"


def attempt_group(attempt_id: int) -> str:
    return f"attempt-{attempt_id}"


def station_attempts_group(station_id: int) -> str:
    """Who follows every attempt on a station (a script doing its local actions)."""
    return f"station-attempts-{station_id}"


def run_all_group(campaign_id: int) -> str:
    """Who follows a campaign's "run all remaining steps" (its page)."""
    return f"campaign-run-all-{campaign_id}"


async def attempt_changed(attempt_id: int, what: str, *, station_id: int | None = None) -> None:
    """Tell watchers that something of the attempt changed; they re-read what they show.
    With ``station_id``, the station's followers hear it too."""
    layer = channel_layer()
    event: AttemptEvent = {"type": "attempt.changed", "attempt_id": attempt_id, "what": what}
    try:
        await layer.group_send(attempt_group(attempt_id), event)
        if station_id is not None:
            await layer.group_send(station_attempts_group(station_id), event)
        if what in LAB_WHATS:
            await layer.group_send(LAB_GROUP, event)
    except Exception:  # a live view is a convenience; the record is in the database
        import logging

        logging.getLogger(__name__).warning("could not announce attempt %s change", attempt_id)


attempt_changed_sync = sync_sender(attempt_changed)


async def run_all_changed(campaign_id: int) -> None:
    """The campaign's run-all moved on (a next step started) or ended."""
    event: RunAllEvent = {"type": "run_all.changed", "campaign_id": campaign_id}
    try:
        await channel_layer().group_send(run_all_group(campaign_id), event)
        await campaign_changed(campaign_id, "run_all")
    except Exception:  # a live view is a convenience; the record is in the database
        import logging

        logging.getLogger(__name__).warning("could not announce campaign %s run", campaign_id)


run_all_changed_sync = sync_sender(run_all_changed)


async def campaign_changed(campaign_id: int, what: str) -> None:
    """The campaign's place in the lab changed ("created"; "started": its first step; its run-all
    moved on; "status": completed, reopened, signed off; "shared" with its vendor): the home
    page's followers hear it."""
    event: CampaignEvent = {"type": "campaign.changed", "campaign_id": campaign_id, "what": what}
    try:
        await channel_layer().group_send(LAB_GROUP, event)
    except Exception:  # a live view is a convenience; the record is in the database
        import logging

        logging.getLogger(__name__).warning("could not announce campaign %s change", campaign_id)


campaign_changed_sync = sync_sender(campaign_changed)


async def campaign_withdrawn(
    campaign_id: int, *, manufacturer_id: int, attempt_ids: list[int]
) -> None:
    """The campaign left its vendor's sight (QA took it back). Its vendor's home pages hear it on
    the vendor's group; the campaign's and its attempts' live pages hear it on theirs, and
    check again whether their user may still watch."""
    event: WithdrawnEvent = {"type": "campaign.withdrawn", "campaign_id": campaign_id,
                             "manufacturer_id": manufacturer_id}  # fmt: skip
    layer = channel_layer()
    try:
        await layer.group_send(vendor_group(manufacturer_id), event)
        await layer.group_send(run_all_group(campaign_id), event)
        for attempt_id in attempt_ids:
            await layer.group_send(attempt_group(attempt_id), event)
    except Exception:  # a live view is a convenience (each re-checks on its next event)
        import logging

        logging.getLogger(__name__).warning(
            "could not announce campaign %s taken back", campaign_id
        )


campaign_withdrawn_sync = sync_sender(campaign_withdrawn)
