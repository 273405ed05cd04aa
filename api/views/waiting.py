"""Long-polls for scripts: wait for an attempt's next prompt or its end, or for a station's next
prompt, woken by the attempt's events (campaigns.watch) within milliseconds of the change.

Async views (a long-poll must not hold one of the server's threads), so plain Django views with
the API's own authentication run in a thread; their schema is in api.schema."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.settings import api_settings

from api.serializers.campaigns import AttemptSerializer, PromptSerializer
from campaigns import watch
from campaigns.selectors import attempts_for
from stations.selectors import stations_for

DEFAULT_TIMEOUT = 30.0


def _user(request: HttpRequest):
    """The user by token or session, as the other endpoints authenticate (an error response
    when neither says who it is)."""
    drf_request = Request(
        request, authenticators=[a() for a in api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    )
    try:
        user = drf_request.user
    except exceptions.AuthenticationFailed as error:
        return None, JsonResponse({"detail": str(error.detail)}, status=401)
    if not (user and user.is_authenticated and user.is_active):
        return None, JsonResponse(
            {"detail": "Authentication credentials were not provided."},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user, None


def _params(request: HttpRequest) -> tuple[int, float]:
    after, timeout = request.GET.get("after", "0"), request.GET.get("timeout", "")
    if not after.isdigit():
        raise ValueError("after: a prompt id (a whole number).")
    try:
        seconds = float(timeout) if timeout else DEFAULT_TIMEOUT
    except ValueError:
        raise ValueError("timeout: seconds, e.g. 30.") from None
    if not 0 <= seconds <= settings.CERTLAB_API_WAIT_MAX:
        raise ValueError(f"timeout: 0 to {settings.CERTLAB_API_WAIT_MAX} seconds.")
    return int(after), seconds


def _visible_attempt(user, pk: int) -> None:
    if not attempts_for(user=user).filter(pk=pk).exists():
        raise Http404


def _visible_station(user, pk: int) -> None:
    if not stations_for(user=user).filter(pk=pk).exists():
        raise Http404


def _body(moment: watch.Moment) -> dict:
    return {
        "attempt": AttemptSerializer(moment.attempt).data if moment.attempt else None,
        "prompt": PromptSerializer(moment.prompt).data if moment.prompt else None,
        "ended": moment.ended,
        "timed_out": moment.timed_out,
    }


async def _answer(request: HttpRequest, pk: int, check, wait) -> JsonResponse:
    user, refused = await sync_to_async(_user)(request)
    if refused:
        return refused
    try:
        after, timeout = _params(request)
    except ValueError as error:
        return JsonResponse({"detail": str(error)}, status=400)
    try:
        await sync_to_async(check)(user, pk)
    except Http404:
        return JsonResponse({"detail": "Not found."}, status=404)
    moment = await wait(pk, after_prompt=after, timeout=timeout)
    return JsonResponse(await sync_to_async(_body)(moment))


@require_GET
async def attempt_next(request: HttpRequest, pk: int) -> JsonResponse:
    """The attempt's next open prompt (newer than ?after=<prompt id>) or its end, whichever
    comes first, or ``timed_out`` after ?timeout= seconds."""
    return await _answer(request, pk, _visible_attempt, watch.next_of_attempt)


@require_GET
async def station_next_prompt(request: HttpRequest, pk: int) -> JsonResponse:
    """The next open prompt of any attempt on the station (newer than ?after=<prompt id>)."""
    return await _answer(request, pk, _visible_station, watch.next_prompt_of_station)
