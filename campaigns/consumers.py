"""The browser's live view of an attempt: ``ws/attempts/<pk>/``.

Any change (status, progress, check, prompt, verdict) is announced on the attempt's group; the
socket then sends the freshly rendered panel, the same partial the page renders, so the live view
and a reload never differ. Permission is checked on connect and again on every event.
"""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string

from campaigns.events import AttemptEvent, attempt_group
from campaigns.presentation import attempt_context
from campaigns.selectors import attempts_for


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
