"""Long-polls for scripts: wait for an attempt's next prompt or its end, or for a station's next
prompt, woken by the attempt's events (campaigns.watch) the moment the change happens.

Served by the ASGI application itself (certlab/asgi.py), not by a Django view: Django runs a
view behind sync-only middleware in a thread, so every waiting script would hold one of a few
threads for up to a minute. Here a wait is a coroutine and costs no thread. Authenticated like
the rest of the API: a personal token, or the browser's session (a GET changes nothing, so no
CSRF). The schema describes them (api.schema)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.generic.http import AsyncHttpConsumer
from django.conf import settings
from django.urls import path

from campaigns import watch
from campaigns.selectors import attempts_for
from stations.selectors import stations_for

DEFAULT_TIMEOUT = 30.0


class _Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        self.status, self.detail = status, detail


@database_sync_to_async
def _token_user(token: str):
    from api.tokens import token_user

    found = token_user(token)
    return found[0] if found else None


@database_sync_to_async
def _visible(queryset, pk: int) -> bool:
    return queryset.filter(pk=pk).exists()


@database_sync_to_async
def _body(moment: watch.Moment, user) -> dict:
    from types import SimpleNamespace

    from api.serializers.campaigns import AttemptSerializer, PromptSerializer

    context = {"request": SimpleNamespace(user=user)}  # who asks decides what the body says
    attempt = moment.attempt
    return {
        "attempt": AttemptSerializer(attempt, context=context).data if attempt else None,
        "prompt": PromptSerializer(moment.prompt).data if moment.prompt else None,
        "ended": moment.ended,
        "timed_out": moment.timed_out,
    }


class _Wait(AsyncHttpConsumer):
    async def handle(self, body: bytes) -> None:
        try:
            if self.scope["method"] not in ("GET", "HEAD"):
                raise _Refused(405, f'Method "{self.scope["method"]}" not allowed.')
            user = await self._user()
            after, timeout = self._params()
            pk = self.scope["url_route"]["kwargs"]["pk"]
            if not await _visible(self.visible(user), pk):
                raise _Refused(404, "Not found.")
        except _Refused as refused:
            extra = [(b"WWW-Authenticate", b"Bearer")] if refused.status == 401 else []
            await self._json(refused.status, {"detail": refused.detail}, extra)
            return
        moment = await self.wait(pk, user, after_prompt=after, timeout=timeout)
        # Looked at again: a campaign QA took back from the vendor while it waited (unshared)
        # is no longer theirs to hear about.
        if not await _visible(self.visible(user), pk):
            await self._json(404, {"detail": "Not found."})
            return
        await self._json(200, await _body(moment, user))

    async def _user(self):
        headers = dict(self.scope.get("headers", []))
        authorization = headers.get(b"authorization", b"").decode("latin-1").split()
        if authorization and authorization[0].lower() == "bearer":
            user = await _token_user(authorization[1]) if len(authorization) == 2 else None
            if user is None:
                raise _Refused(401, "Unknown or revoked token.")
            return user
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            raise _Refused(401, "Authentication credentials were not provided.")
        return user

    def _params(self) -> tuple[int, float]:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        after = query.get("after", ["0"])[-1]
        timeout = query.get("timeout", [""])[-1]
        if not after.isdigit():
            raise _Refused(400, "after: a prompt id (a whole number).")
        try:
            seconds = float(timeout) if timeout else DEFAULT_TIMEOUT
        except ValueError:
            raise _Refused(400, "timeout: seconds, e.g. 30.") from None
        if not 0 <= seconds <= settings.CERTLAB_API_WAIT_MAX:
            raise _Refused(400, f"timeout: 0 to {settings.CERTLAB_API_WAIT_MAX} seconds.")
        return int(after), seconds

    async def _json(self, status: int, data: dict, extra: list | None = None) -> None:
        headers = [(b"Content-Type", b"application/json"), (b"Cache-Control", b"no-store")]
        await self.send_response(status, json.dumps(data).encode(), headers=headers + (extra or []))


class AttemptNext(_Wait):
    """The attempt's next open prompt (newer than ?after=<prompt id>) or its end, whichever
    comes first, or ``timed_out`` after ?timeout= seconds."""

    @staticmethod
    def visible(user):
        return attempts_for(user=user)

    @staticmethod
    async def wait(pk: int, user, *, after_prompt: int, timeout: float) -> watch.Moment:
        return await watch.next_of_attempt(pk, after_prompt=after_prompt, timeout=timeout)


class StationNextPrompt(_Wait):
    """The next open prompt of any attempt on the station (newer than ?after=<prompt id>)."""

    @staticmethod
    def visible(user):
        return stations_for(user=user)

    @staticmethod
    async def wait(pk: int, user, *, after_prompt: int, timeout: float) -> watch.Moment:
        # Only prompts of campaigns the user sees: the station is the vendor's, a draft is not.
        return await watch.next_prompt_of_station(
            pk, after_prompt=after_prompt, timeout=timeout, user=user
        )


# Before Django in the ASGI application's HTTP routes; the session middleware gives the
# browser's user, a token the script's.
http_urlpatterns = [
    path("api/v1/attempts/<int:pk>/next/", AuthMiddlewareStack(AttemptNext.as_asgi())),
    path(
        "api/v1/stations/<int:pk>/prompts/next/",
        AuthMiddlewareStack(StationNextPrompt.as_asgi()),
    ),
]
