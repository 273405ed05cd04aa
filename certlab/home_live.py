"""The home page follows the lab live: ``ws/home/``.

The socket only ever says which sections changed (``{"sections": ["prompts", ...]}``); the page
then fetches each from the ``home_section`` view, which renders the section's partial through
the user's own selectors, so the live page and a reload never differ and nothing of what a
vendor may not see travels on the socket.

Even "something changed" is told only about objects the user may see: every event names its
attempt, campaign, station or (the catalogue's) manufacturers, and the consumer forwards it only
when the user's selectors (attempts_for, campaigns_for, stations_for, manufacturers_for) find it.
A campaign QA take back from its vendor is no longer found by the vendor's selectors: that is
told on the vendor's own group (campaigns.events.vendor_group), naming its manufacturer, so its
home pages fetch their sections again, without it. Events are gathered for ``DEBOUNCE`` seconds
and checked in one database trip, the user and their session read afresh: a burst (a run-all
moving on, many stations reconnecting) becomes one message per section.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.sockets import watching_user
from campaigns.events import (
    LAB_GROUP,
    AttemptEvent,
    CampaignEvent,
    WithdrawnEvent,
    vendor_group,
)
from campaigns.selectors import attempts_for, campaigns_for
from certlab.home import SECTIONS
from stations.events import CATALOGUE_GROUP, CONNECTIONS_GROUP, CatalogueEvent, ConnectionEvent
from stations.selectors import manufacturers_for, stations_for

DEBOUNCE = 0.5  # s: events within it become one message

ATTEMPT_SECTIONS = {
    "prompt": ("prompts",),
    "status": ("prompts", "campaigns", "stations"),  # an attempt ending closes its prompt
    "verdict": ("campaigns",),
}
CAMPAIGN_SECTIONS = {  # the catalogue's tiles count campaigns and those running
    "created": ("catalogue",),
    "started": ("campaigns", "catalogue"),
    "run_all": ("campaigns",),
    "status": ("campaigns", "sign_offs", "catalogue"),
    "shared": SECTIONS,  # its vendor now sees its prompts, progress, running step too
}
CATALOGUE_SECTIONS = {
    "added": ("catalogue",),
    "moved": SECTIONS,  # a model or station changed hands: its campaigns and prompts with it
}

Ref = tuple[str, int]  # ("attempt" | "campaign" | "station" | "manufacturer", its id)


class HomeConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.pending: dict[str, set[Ref]] = {}
        self.flushing: asyncio.Task | None = None
        self.groups_joined: list[str] = []
        if await database_sync_to_async(self._visible)(set()) is None:
            await self.close()
            return
        self.groups_joined = [LAB_GROUP, CONNECTIONS_GROUP, CATALOGUE_GROUP]
        user = self.scope["user"]
        if user.is_vendor and user.manufacturer_id:
            self.groups_joined.append(vendor_group(user.manufacturer_id))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        # What changed between the page's render and joining the groups: fetch every section.
        await self.send(text_data=json.dumps({"sections": list(SECTIONS)}))

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.flushing is not None:
            self.flushing.cancel()

    async def attempt_changed(self, event: AttemptEvent) -> None:
        sections = ATTEMPT_SECTIONS.get(event.get("what", ""), ())
        self._note(sections, ("attempt", event["attempt_id"]))

    async def campaign_changed(self, event: CampaignEvent) -> None:
        self._note(CAMPAIGN_SECTIONS.get(event["what"], ()), ("campaign", event["campaign_id"]))

    async def campaign_withdrawn(self, event: WithdrawnEvent) -> None:
        # Not the campaign (the vendor's selectors no longer find it): its manufacturer, still
        # the user's when read afresh. Every section may have shown some of it.
        self._note(SECTIONS, ("manufacturer", event["manufacturer_id"]))

    async def station_connection(self, event: ConnectionEvent) -> None:
        self._note(("stations",), ("station", event["station_id"]))

    async def catalogue_changed(self, event: CatalogueEvent) -> None:
        sections = CATALOGUE_SECTIONS.get(event["what"], ())
        self._note(sections, *(("manufacturer", pk) for pk in event["manufacturer_ids"]))

    def _note(self, sections: tuple[str, ...], *refs: Ref) -> None:
        for section in sections:
            self.pending.setdefault(section, set()).update(refs)
        if sections and self.flushing is None:
            self.flushing = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(DEBOUNCE)
        pending, self.pending, self.flushing = self.pending, {}, None
        refs = set().union(*pending.values())
        visible = await database_sync_to_async(self._visible)(refs)
        if visible is None:  # logged out, deactivated: nothing more is sent
            with contextlib.suppress(Exception):
                await self.close()
            return
        sections = [s for s in SECTIONS if pending.get(s, set()) & visible]
        if sections:
            await self.send(text_data=json.dumps({"sections": sections}))

    def _visible(self, refs: set[Ref]) -> set[Ref] | None:
        """Those of ``refs`` the scope's user, read afresh, may see; None when the user may no
        longer watch at all."""
        user = watching_user(self.scope)
        if user is None:
            return None
        visible: set[Ref] = set()
        for kind, queryset in (("attempt", attempts_for), ("campaign", campaigns_for),
                               ("station", stations_for),
                               ("manufacturer", manufacturers_for)):  # fmt: skip
            ids = [pk for k, pk in refs if k == kind]
            if ids:
                found = queryset(user=user).filter(pk__in=ids).values_list("pk", flat=True)
                visible.update((kind, pk) for pk in found)
        return visible
