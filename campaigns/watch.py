"""Waiting for an attempt's next prompt or its end, woken by the attempt's events (the channel
layer, campaigns.events), never by a polling loop: what a script doing a charger's local actions
(the API's long-poll) and ``manage.py run_campaign`` both wait on."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from asgiref.sync import sync_to_async

from campaigns.events import attempt_group, station_attempts_group
from campaigns.models import ACTIVE_STATUSES, Attempt, Prompt, PromptStatus
from stations.bus import channel_layer


@dataclass(frozen=True)
class Moment:
    """An attempt as it is now, and the open prompt a waiter had not seen yet (if any)."""

    attempt: Attempt | None
    prompt: Prompt | None
    timed_out: bool = False

    @property
    def ended(self) -> bool:
        return self.attempt is not None and self.attempt.status not in ACTIVE_STATUSES

    @property
    def ready(self) -> bool:
        return self.prompt is not None or self.ended


def attempt_moment(attempt_id: int, *, after_prompt: int = 0) -> Moment:
    attempt = Attempt.objects.select_related("plan_item__function", "started_by").get(pk=attempt_id)
    prompt = (
        attempt.prompts.filter(status=PromptStatus.OPEN, pk__gt=after_prompt).order_by("pk").first()
    )
    return Moment(attempt, prompt)


def station_moment(station_id: int, *, after_prompt: int = 0, user=None) -> Moment:
    """The station's first open prompt after ``after_prompt``, whichever attempt asks it (of
    the attempts ``user`` may see, when given: a vendor's station runs unshared campaigns too)."""
    prompts = Prompt.objects.select_related("attempt__plan_item__function", "attempt__started_by")
    if user is not None:
        from campaigns.selectors import attempts_for

        prompts = prompts.filter(attempt__in=attempts_for(user=user))
    prompt = (
        prompts.filter(
            attempt__station_id=station_id, status=PromptStatus.OPEN, pk__gt=after_prompt
        )
        .order_by("pk")
        .first()
    )
    return Moment(prompt.attempt if prompt else None, prompt)


async def _wait(group: str, read, timeout: float) -> Moment:
    """Join ``group`` first, then read: a change between the read and the wait still wakes us."""
    layer = channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.0, timeout)
    try:
        while True:
            moment = await sync_to_async(read)()
            remaining = deadline - loop.time()
            if moment.ready or remaining <= 0:
                return moment if moment.ready else Moment(moment.attempt, None, timed_out=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(layer.receive(channel), remaining)
    finally:
        with contextlib.suppress(Exception):
            await layer.group_discard(group, channel)


async def next_of_attempt(attempt_id: int, *, after_prompt: int = 0, timeout: float) -> Moment:
    """Returns as soon as the attempt has an open prompt newer than ``after_prompt`` or has
    ended; after ``timeout`` seconds with neither, ``timed_out``."""
    return await _wait(
        attempt_group(attempt_id),
        lambda: attempt_moment(attempt_id, after_prompt=after_prompt),
        timeout,
    )


async def next_prompt_of_station(
    station_id: int, *, after_prompt: int = 0, timeout: float, user=None
) -> Moment:
    """Returns as soon as any attempt on the station opens a prompt newer than
    ``after_prompt`` (a script beside ``run_campaign`` follows a station, not one attempt)."""
    return await _wait(
        station_attempts_group(station_id),
        lambda: station_moment(station_id, after_prompt=after_prompt, user=user),
        timeout,
    )
