"""The home page's overview to start the day: campaigns in progress with their progress, the
stations connected now, the prompts waiting for someone, recent sign-offs, the catalogue's
counts. Everything comes through the selectors that decide what a user may see (a vendor: their
own), in a fixed number of queries whatever the number of rows."""

from __future__ import annotations

from accounts.models import User
from campaigns import selectors as campaign_selectors
from stations import registry
from stations import selectors as station_selectors

SECTIONS = ("prompts", "campaigns", "stations", "sign_offs", "catalogue")


def home_overview(*, user: User) -> dict:
    overview: dict = {}
    for section in SECTIONS:
        overview.update(home_section(user=user, section=section))
    return overview


def home_section(*, user: User, section: str) -> dict:
    """What one section of the home page shows: the page renders every section, the live page
    fetches the one that changed (templates/home/_<section>.html)."""
    if section == "prompts":
        return {"prompts": campaign_selectors.prompts_waiting(user=user)}
    if section == "campaigns":
        in_progress = campaign_selectors.campaigns_in_progress(user=user)
        progress = campaign_selectors.progress_for(campaigns=in_progress)
        sequences = campaign_selectors.running_sequences(campaigns=in_progress)
        rows = [{"campaign": c, "done": progress[c.pk][0], "total": progress[c.pk][1],
                 "sequence": sequences.get(c.pk)} for c in in_progress]  # fmt: skip
        return {"in_progress": rows}
    if section == "stations":
        connected = _connected_stations(user)
        busy = campaign_selectors.active_attempts_on(stations=connected, user=user)
        return {"connected": [(s, busy.get(s.pk)) for s in connected]}
    if section == "sign_offs":
        return {"sign_offs": campaign_selectors.recent_sign_offs(user=user)}
    if section == "catalogue":  # the tiles: how many of each the user sees
        campaigns = campaign_selectors.campaigns_for(user=user)
        return {"counts": {**station_selectors.catalogue_counts(user=user),
                           "campaigns": campaigns.count(),
                           "running": campaigns.filter(status="running").count()}}  # fmt: skip
    raise ValueError(f"no home section {section!r}")


def _connected_stations(user: User) -> list:
    """The visible stations whose socket is open now (the registry in Redis knows)."""
    stations = station_selectors.stations_for(user=user).order_by("charge_point_id")
    ids = list(stations.values_list("charge_point_id", flat=True))
    online = registry.online_ids(ids)
    return list(stations.filter(charge_point_id__in=online)) if online else []
