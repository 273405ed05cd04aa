"""CertLab's Redis channel layer (one round trip a send, one BZPOPMIN a receive) and the bus's
cached holder over it, against the real Redis: a stale holder is never sent to, and a station
that left or whose process died still fails fast."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.exceptions import ChannelFull

from stations import bus, registry
from stations.channel_layer import RedisChannelLayer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def layer(settings):
    layer = RedisChannelLayer(hosts=[settings.REDIS_URL], prefix="certlab-test", capacity=3)
    yield layer


async def test_messages_reach_their_channels_in_order(layer):
    first, second = await layer.new_channel(), await layer.new_channel()
    await layer.send(first, {"type": "a", "n": 1})
    await layer.send(second, {"type": "b"})
    await layer.send(first, {"type": "a", "n": 2})
    assert await layer.receive(first) == {"type": "a", "n": 1}
    assert await layer.receive(first) == {"type": "a", "n": 2}
    assert await layer.receive(second) == {"type": "b"}
    await layer.flush()


async def test_a_full_channel_refuses_more(layer):
    channel = await layer.new_channel()
    for n in range(3):
        await layer.send(channel, {"type": "a", "n": n})
    with pytest.raises(ChannelFull):
        await layer.send(channel, {"type": "a", "n": 3})
    await layer.flush()


async def test_a_cancelled_receive_loses_nothing(layer):
    channel = await layer.new_channel()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.1)
    await layer.send(channel, {"type": "late"})
    assert await asyncio.wait_for(layer.receive(channel), 2) == {"type": "late"}
    await layer.flush()


async def test_send_to_holder_only_while_the_registry_names_it(layer):
    channel = await layer.new_channel()
    await registry.claim("CP-LAYER", "specific.other!one")
    sent = await layer.send_to_holder(
        channel, {"type": "x"}, registry_key=registry.ONLINE_KEY, field="CP-LAYER"
    )
    assert sent is False
    await registry.claim("CP-LAYER", channel)
    sent = await layer.send_to_holder(
        channel, {"type": "x"}, registry_key=registry.ONLINE_KEY, field="CP-LAYER"
    )
    assert sent is True
    assert await asyncio.wait_for(layer.receive(channel), 2) == {"type": "x"}
    await layer.flush()


async def _holder(name: str, served: list[str], layer) -> tuple[str, asyncio.Task]:
    """A stand-in for a station's consumer in a daphne process of its own (``layer``): answers
    every bus call on its own channel."""
    channel = await layer.new_channel()

    async def serve() -> None:
        while True:
            message = await layer.receive(channel)
            served.append(name)
            reply = {"type": "bus.reply", "status": "result", "payload": {"status": "Accepted"}}
            await layer.send(message["reply_to"], reply)

    return channel, asyncio.create_task(serve())


async def test_cached_holder_is_not_used_once_the_station_moved(station, settings):
    assert isinstance(bus.channel_layer(), RedisChannelLayer)
    cp = station.charge_point_id
    served: list[str] = []
    daphne = RedisChannelLayer(hosts=[settings.REDIS_URL])
    first, first_task = await _holder("first", served, daphne)
    second, second_task = await _holder("second", served, daphne)
    try:
        await registry.claim(cp, first)
        assert await bus.call(cp, "ClearCache", {}, timeout=5) == {"status": "Accepted"}
        await registry.claim(cp, second)  # reconnected through another process
        assert await bus.call(cp, "ClearCache", {}, timeout=5) == {"status": "Accepted"}
        assert served == ["first", "second"]

        await registry.release(cp, second)  # the station left
        started = time.monotonic()
        with pytest.raises(bus.StationOffline):
            await bus.call(cp, "ClearCache", {}, timeout=30)
        assert time.monotonic() - started < 0.2
    finally:
        first_task.cancel()
        second_task.cancel()


async def test_cached_holder_of_a_dead_process_fails_within_a_second(station, settings):
    cp = station.charge_point_id
    served: list[str] = []
    holder, task = await _holder("alive", served, RedisChannelLayer(hosts=[settings.REDIS_URL]))
    try:
        await registry.claim(cp, holder)
        await bus.call(cp, "ClearCache", {}, timeout=5)
    finally:
        task.cancel()
    # The process died without releasing the station: the registry still names its channel.
    started = time.monotonic()
    with pytest.raises(bus.StationOffline):
        await bus.call(cp, "ClearCache", {}, timeout=30)
    assert time.monotonic() - started < 1.5
    assert await registry.channel_of(cp) is None
