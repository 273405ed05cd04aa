from datetime import datetime

from django import template

from campaigns.models import Outcome
from stations.models import Direction

register = template.Library()

STATION_PAGE_CAMPAIGNS = 10


@register.filter
def get_item(mapping: dict, key):
    return mapping.get(key, (0, 0))


@register.filter
def outcome_label(value: str) -> str:
    return Outcome(value).label if value in Outcome.values else value


@register.filter
def direction_label(value: str) -> str:
    """ "station → CS" or "CS → station": the frame log's own wording, on every page."""
    return Direction(value).label if value in Direction.values else value


@register.filter
def seconds_until(deadline: datetime, now: datetime) -> int:
    return max(0, int((deadline - now).total_seconds()))


@register.filter
def duration_to(start: datetime | None, end: datetime | None) -> str:
    if not start or not end:
        return ""
    seconds = int((end - start).total_seconds())
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


@register.inclusion_tag("campaigns/_station_campaigns.html", takes_context=True)
def station_campaigns(context, station) -> dict:
    """A station's latest campaigns, for the catalogue's station page (stations/ knows no
    campaigns); the campaign list has them all."""
    from campaigns.selectors import campaigns_for

    campaigns = campaigns_for(user=context["request"].user).filter(station=station)
    return {"campaigns": campaigns[:STATION_PAGE_CAMPAIGNS], "total": campaigns.count(),
            "station": station}  # fmt: skip
