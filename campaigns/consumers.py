"""The browser's live view of an attempt: ``ws/attempts/<pk>/``.

Any change (status, progress, check, prompt, verdict) is announced on the attempt's group; the
socket then sends the freshly rendered panel, the same partial the page renders, so the live view
and a reload never differ. Permission is checked on connect and again on every event, and when
QA take the campaign back from its vendor (``campaign.withdrawn``): a vendor's socket closes then,
not at the attempt's next change.
"""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string

from campaigns.events import (
    AttemptEvent,
    RunAllEvent,
    WithdrawnEvent,
    attempt_group,
    run_all_group,
)
from campaigns.presentation import attempt_context
from campaigns.run_all import run_all_current, run_all_progress
from campaigns.selectors import attempts_for, campaigns_for


class AttemptConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.attempt_pk = self.scope["url_route"]["kwargs"]["pk"]
        if await self._render() is None:
            await self.close()
            return
        self.group = attempt_group(self.attempt_pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # What changed between the page's render and joining the group would otherwise be
        # missed until the next change: start from the current state.
        await self.attempt_changed({"type": "attempt.changed", "attempt_id": self.attempt_pk,
                                    "what": "connected"})  # fmt: skip

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def attempt_changed(self, event: AttemptEvent) -> None:
        html = await self._render()
        if html is None:  # the user lost access since connecting
            await self.close()
            return
        await self.send(text_data=json.dumps({"what": event.get("what"), "html": html}))

    async def campaign_withdrawn(self, event: WithdrawnEvent) -> None:
        if not await self._may_watch():
            await self.close()

    @database_sync_to_async
    def _may_watch(self) -> bool:
        user = self.scope.get("user")
        return user is not None and attempts_for(user=user).filter(pk=self.attempt_pk).exists()

    @database_sync_to_async
    def _render(self) -> str | None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None
        attempt = attempts_for(user=user).filter(pk=self.attempt_pk).first()
        if attempt is None:
            return None
        # The panel holds forms (prompt answers, abort): they need the page's CSRF secret,
        # which the browser sent with the websocket handshake as its cookie.
        cookies = self.scope.get("cookies", {})
        context = {"a": attempt_context(attempt), "is_qa": user.is_qa,
                   "csrf_token": cookies.get(settings.CSRF_COOKIE_NAME, "")}  # fmt: skip
        return render_to_string("campaigns/_attempt.html", context)


class RunAllConsumer(AsyncWebsocketConsumer):
    """The campaign page's live "run all remaining steps": ``ws/campaigns/<pk>/run-all/``.

    It follows the campaign's sequence (a next step started, the run ended) and the events of
    the attempt running now (its prompt opened or answered, its status), and sends the panel
    rendered afresh from the same partial as the page."""

    async def connect(self) -> None:
        self.campaign_pk = self.scope["url_route"]["kwargs"]["pk"]
        self.following: str | None = None
        self.withdrawn = False
        rendered = await self._render()
        if rendered is None:
            await self.close()
            return
        await self.channel_layer.group_add(run_all_group(self.campaign_pk), self.channel_name)
        await self.accept()
        await self._send(await self._render(), "connected")

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(run_all_group(self.campaign_pk), self.channel_name)
        if self.following:
            await self.channel_layer.group_discard(self.following, self.channel_name)

    async def run_all_changed(self, event: RunAllEvent) -> None:
        await self._send(await self._render(), "run_all")

    async def attempt_changed(self, event: AttemptEvent) -> None:
        await self._send(await self._render(), event.get("what", ""))

    async def campaign_withdrawn(self, event: WithdrawnEvent) -> None:
        # Heard on the campaign's group and on the followed attempt's: close once.
        if not self.withdrawn and not await self._may_watch():
            self.withdrawn = True
            await self.close()

    @database_sync_to_async
    def _may_watch(self) -> bool:
        user = self.scope.get("user")
        return user is not None and campaigns_for(user=user).filter(pk=self.campaign_pk).exists()

    async def _send(self, rendered: tuple[str, int | None] | None, what: str) -> None:
        while True:
            if rendered is None:  # the user lost access since connecting
                await self.close()
                return
            html, attempt_pk = rendered
            group = attempt_group(attempt_pk) if attempt_pk else None
            if group == self.following:
                break
            # The next step started: follow its attempt instead.
            if self.following:
                await self.channel_layer.group_discard(self.following, self.channel_name)
            self.following = group
            if not group:
                break
            await self.channel_layer.group_add(group, self.channel_name)
            # What the step did between that render and joining its group (its prompt opened,
            # a busy machine widens the gap) was announced to nobody here: read it again now
            # that its events arrive, or the panel would miss the prompt until it expired.
            rendered = await self._render()
        await self.send(text_data=json.dumps({"what": what, "html": html}))

    @database_sync_to_async
    def _render(self) -> tuple[str, int | None] | None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return None
        campaign = campaigns_for(user=user).filter(pk=self.campaign_pk).first()
        if campaign is None:
            return None
        sequence = run_all_current(campaign=campaign)
        progress = run_all_progress(sequence) if sequence else None
        cookies = self.scope.get("cookies", {})
        context = {"campaign": campaign, "ra": progress, "is_qa": user.is_qa,
                   "csrf_token": cookies.get(settings.CSRF_COOKIE_NAME, "")}  # fmt: skip
        html = render_to_string("campaigns/_run_all.html", context)
        current = progress["current"] if progress else None
        return html, current.pk if current else None
