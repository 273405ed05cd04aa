"""The long-polls a script waits on return when the attempt's event arrives (the channel layer
in Redis), with the prompt it waited for, or when the attempt ends; nothing else wakes them."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import HttpCommunicator
from django.utils import timezone

from api.longpoll import http_urlpatterns
from api.tokens import token_create
from campaigns.events import attempt_changed
from campaigns.models import Attempt, Prompt
from tests.api.conftest import build_world
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_wait_of_a_vendor_whose_campaign_is_taken_back_meanwhile_ends_in_a_404():
    from campaigns.vendor import campaign_unshare

    world, attempt, _get = await _setup()
    _record, vendor_token = await sync_to_async(token_create)(user=world.vendor, name="vendor")
    url = f"/api/v1/attempts/{attempt.pk}/next/?timeout=50"
    waiting = asyncio.create_task(get(url, vendor_token))
    await asyncio.sleep(0.5)
    assert not waiting.done(), "the vendor's own shared campaign: it waits"
    await sync_to_async(campaign_unshare)(campaign=world.campaign, user=world.campaign.owner)
    await _open_prompt(attempt)  # what the vendor must no longer hear about
    response = await asyncio.wait_for(waiting, 20)
    assert response.status_code == 404, response.body
    assert b"plug" not in response.body.lower()


async def _setup():
    qa = await sync_to_async(UserFactory)(username="qa-wait")
    world = await sync_to_async(build_world)(qa, "Waiting")
    attempt = await sync_to_async(Attempt.objects.create)(
        plan_item=world.attempt.plan_item,
        station=world.station,
        number=2,
        status="running",
        started_by=qa,
    )
    _record, token = await sync_to_async(token_create)(user=qa, name="waiter")
    return world, attempt, lambda url: get(url, token)


class Response:
    def __init__(self, raw: dict) -> None:
        self.status_code = raw["status"]
        self.headers = dict(raw["headers"])
        self.body = raw["body"]

    def json(self):
        return json.loads(self.body)


async def get(url: str, token: str | None = None) -> Response:
    """A GET through the ASGI routes the long-polls are served on."""
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    communicator = HttpCommunicator(URLRouter(http_urlpatterns), "GET", url, headers=headers)
    try:
        return Response(await communicator.get_response(timeout=70))
    finally:
        await communicator.wait()


async def _open_prompt(attempt: Attempt, *, announce_station: bool = False) -> Prompt:
    prompt = await sync_to_async(Prompt.objects.create)(
        attempt=attempt,
        text="Plug the cable into connector 1",
        choices=["Done", "Cannot do"],
        kind="plug_in",
        details={"connector_id": 1},
        deadline=timezone.now() + timedelta(minutes=5),
    )
    station = attempt.station_id if announce_station else None
    await attempt_changed(attempt.pk, "prompt", station_id=station)
    return prompt


async def test_waiting_on_an_attempt_returns_its_new_prompt_when_it_opens():
    _world, attempt, get = await _setup()
    waiting = asyncio.create_task(get(f"/api/v1/attempts/{attempt.pk}/next/?timeout=50"))
    await asyncio.sleep(0.5)
    assert not waiting.done(), "nothing had happened yet"
    prompt = await _open_prompt(attempt)
    response = await asyncio.wait_for(waiting, 20)
    body = response.json()
    assert response.status_code == 200, body
    assert body["timed_out"] is False and body["ended"] is False
    assert body["prompt"]["id"] == prompt.pk
    assert (body["prompt"]["kind"], body["prompt"]["details"]) == ("plug_in", {"connector_id": 1})


async def test_waiting_after_a_prompt_returns_at_the_attempts_end():
    _world, attempt, get = await _setup()
    prompt = await _open_prompt(attempt)
    url = f"/api/v1/attempts/{attempt.pk}/next/?after={prompt.pk}&timeout=50"
    waiting = asyncio.create_task(get(url))
    await asyncio.sleep(0.5)
    assert not waiting.done(), "the prompt already seen does not count"
    await sync_to_async(Attempt.objects.filter(pk=attempt.pk).update)(status="finished")
    await attempt_changed(attempt.pk, "status")
    body = (await asyncio.wait_for(waiting, 20)).json()
    assert body["ended"] is True and body["prompt"] is None
    assert body["attempt"]["status"] == "finished"


async def test_a_wait_with_nothing_happening_times_out_and_says_so():
    _world, attempt, get = await _setup()
    body = (await get(f"/api/v1/attempts/{attempt.pk}/next/?timeout=0.5")).json()
    assert body["timed_out"] is True and body["prompt"] is None and body["ended"] is False


async def test_waiting_on_a_station_returns_the_next_prompt_of_any_of_its_attempts():
    world, attempt, get = await _setup()
    url = f"/api/v1/stations/{world.station.pk}/prompts/next/?timeout=50"
    waiting = asyncio.create_task(get(url))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    prompt = await _open_prompt(attempt, announce_station=True)
    body = (await asyncio.wait_for(waiting, 20)).json()
    assert body["prompt"]["id"] == prompt.pk
    assert body["attempt"]["id"] == attempt.pk


async def test_bad_wait_parameters_are_a_400():
    _world, attempt, get = await _setup()
    for query in ("timeout=abc", "timeout=100000", "after=-1"):
        response = await get(f"/api/v1/attempts/{attempt.pk}/next/?{query}")
        assert response.status_code == 400, query


async def test_the_long_polls_refuse_strangers_and_other_vendors():
    world, attempt, _get = await _setup()
    other = await sync_to_async(build_world)(world.campaign.owner, "Other")
    _record, vendor_token = await sync_to_async(token_create)(user=world.vendor, name="vendor")
    own = [
        f"/api/v1/attempts/{attempt.pk}/next/?timeout=0",
        f"/api/v1/stations/{world.station.pk}/prompts/next/?timeout=0",
    ]
    theirs = [
        f"/api/v1/attempts/{other.attempt.pk}/next/?timeout=0",
        f"/api/v1/stations/{other.station.pk}/prompts/next/?timeout=0",
    ]
    for url in own:
        assert (await get(url, vendor_token)).status_code == 200, url
        stranger = await get(url)
        assert stranger.status_code == 401 and stranger.headers[b"WWW-Authenticate"] == b"Bearer"
        assert (await get(url, "certlab_forged")).status_code == 401
    for url in theirs:
        assert (await get(url, vendor_token)).status_code == 404, url
