"""CertLab's Redis channel layer (one round trip a send, one BZPOPMIN a receive) and the bus's
cached holder over it, against the real Redis: a stale holder is never sent to, and a station
that left or whose process died still fails fast."""

from __future__ import annotations

import asyncio
import contextlib
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


async def test_a_pending_receive_does_not_hold_up_another_channel(layer):
    watch = await layer.new_channel("watch")
    reply = await layer.new_channel("bus")
    idle = asyncio.create_task(layer.receive(watch))  # a subscription with no frames coming
    await asyncio.sleep(0.1)
    try:
        await layer.send(reply, {"type": "bus.reply"})
        started = time.monotonic()
        assert await asyncio.wait_for(layer.receive(reply), 2) == {"type": "bus.reply"}
        assert time.monotonic() - started < 0.2
        assert not idle.done()
        await layer.send(watch, {"type": "frame.logged"})
        assert await asyncio.wait_for(idle, 2) == {"type": "frame.logged"}
    finally:
        idle.cancel()
    await layer.flush()


class _CancelsOnArrival(RedisChannelLayer):
    """Cancels ``victim`` as a message comes off Redis: at once (before it is handed over) or
    on the next loop turn (handed over, the victim not yet resumed)."""

    victim: asyncio.Task | None = None
    at_once = True

    def deserialize(self, message):
        if self.victim is not None:
            victim, self.victim = self.victim, None
            if self.at_once:
                victim.cancel()
            else:
                asyncio.get_running_loop().call_soon(victim.cancel)
        return super().deserialize(message)


@pytest.mark.parametrize("at_once", [True, False], ids=["before-hand-over", "after-hand-over"])
async def test_a_receive_cancelled_as_its_message_arrives_loses_nothing(settings, at_once):
    layer = _CancelsOnArrival(hosts=[settings.REDIS_URL], prefix="certlab-test")
    layer.at_once = at_once
    channel = await layer.new_channel("watch")
    victim = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(0.1)
    layer.victim = victim
    await layer.send(channel, {"type": "frame.logged", "n": 1})
    await layer.send(channel, {"type": "frame.logged", "n": 2})
    with pytest.raises(asyncio.CancelledError):
        await victim
    assert await asyncio.wait_for(layer.receive(channel), 2) == {"type": "frame.logged", "n": 1}
    assert await asyncio.wait_for(layer.receive(channel), 2) == {"type": "frame.logged", "n": 2}
    await layer.flush()


async def test_receives_cut_short_by_timeouts_lose_no_message(settings):
    """A subscription polled with short timeouts while frames stream in, beside a second one
    on the same Redis key: every frame reaches its channel once, in order."""
    layer = RedisChannelLayer(hosts=[settings.REDIS_URL], prefix="certlab-test", capacity=500)
    sender = RedisChannelLayer(hosts=[settings.REDIS_URL], prefix="certlab-test", capacity=500)
    polled, other = await layer.new_channel("watch"), await layer.new_channel("watch")
    count = 200
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10

    async def send() -> None:
        for n in range(count):
            await sender.send(polled, {"type": "frame.logged", "n": n})
            await sender.send(other, {"type": "frame.logged", "n": n})
            if n % 4 == 0:
                await asyncio.sleep(0.001)

    async def poll(channel: str, timeout: float) -> list[int]:
        seen: list[int] = []
        while len(seen) < count and loop.time() < deadline:
            with contextlib.suppress(TimeoutError):
                seen.append((await asyncio.wait_for(layer.receive(channel), timeout))["n"])
        return seen

    sending = asyncio.create_task(send())
    polled_seen, other_seen = await asyncio.gather(poll(polled, 0.001), poll(other, 1))
    await sending
    assert polled_seen == list(range(count))
    assert other_seen == list(range(count))
    await layer.flush()
    await sender.close_pools()


async def test_a_message_that_cannot_be_read_fails_one_receive_not_the_rest(layer):
    channel = await layer.new_channel("watch")
    first = asyncio.create_task(layer.receive(channel))
    second = asyncio.create_task(layer.receive(channel))
    await asyncio.sleep(0.1)
    redis_key = layer.prefix + layer.non_local_name(channel)
    await layer.connection(0).zadd(redis_key, {b"not a message at all": time.time()})
    with pytest.raises(Exception):  # noqa: B017 - whatever the serializer raises
        await asyncio.wait_for(first, 2)
    await layer.send(channel, {"type": "frame.logged"})
    assert await asyncio.wait_for(second, 2) == {"type": "frame.logged"}
    await layer.flush()


async def test_send_to_holder_only_while_the_registry_names_it_and_its_process_lives(layer):
    channel = await layer.new_channel()
    alive = registry.holder_key(channel)
    await registry.claim("CP-LAYER", "specific.other!one")
    sent = await layer.send_to_holder(
        channel, {"type": "x"}, registry_key=registry.ONLINE_KEY, field="CP-LAYER", alive_key=alive
    )
    assert sent is False
    await registry.claim("CP-LAYER", channel)
    sent = await layer.send_to_holder(
        channel, {"type": "x"}, registry_key=registry.ONLINE_KEY, field="CP-LAYER", alive_key=alive
    )
    assert sent is True
    assert await asyncio.wait_for(layer.receive(channel), 2) == {"type": "x"}
    registry.sync_client().delete(alive)  # its process was killed: the key expired
    sent = await layer.send_to_holder(
        channel, {"type": "x"}, registry_key=registry.ONLINE_KEY, field="CP-LAYER", alive_key=alive
    )
    assert sent is False
    await registry.release("CP-LAYER", channel)
    await layer.flush()


async def _holder(name: str, served: list[str], layer) -> tuple[str, asyncio.Task]:
    """A stand-in for a station's consumer in a daphne process of its own (``layer``): answers
    every bus call on its own channel."""
    channel = await layer.new_channel()

    async def serve() -> None:
        while True:
            message = await layer.receive(channel)
            if message["type"] == "watch.start":
                await layer.send(message["reply_to"], {"type": "watch.ack"})
                continue
            if message["type"] == "watch.stop":
                continue
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


async def test_cached_holder_of_a_dead_process_fails_once_its_beat_is_lost(station, settings):
    cp = station.charge_point_id
    served: list[str] = []
    holder, task = await _holder("alive", served, RedisChannelLayer(hosts=[settings.REDIS_URL]))
    try:
        await registry.claim(cp, holder)
        await bus.call(cp, "ClearCache", {}, timeout=5)
    finally:
        task.cancel()
    # The process died without releasing the station: the registry still names its channel,
    # and its key lives out its TTL, but it beats no more.
    registry.forget_all_held()
    started = time.monotonic()
    with pytest.raises(bus.StationOffline):
        await bus.call(cp, "ClearCache", {}, timeout=30)
    assert time.monotonic() - started < bus.BEAT_LOST + 3
    assert await registry.channel_of(cp) is None


async def test_a_call_made_while_a_subscription_waits_returns_at_once(station, settings):
    cp = station.charge_point_id
    daphne = RedisChannelLayer(hosts=[settings.REDIS_URL])
    holder, task = await _holder("holder", [], daphne)
    try:
        await registry.claim(cp, holder)
        async with bus.subscribe(cp) as frames:
            watching = asyncio.create_task(frames.next(timeout=10, action="Heartbeat"))
            await asyncio.sleep(0.1)  # the subscription's receive is waiting in Redis
            started = time.monotonic()
            assert await bus.call(cp, "ClearCache", {}, timeout=5) == {"status": "Accepted"}
            assert time.monotonic() - started < 0.2
            frame = {"type": "frame.logged", "action": "Heartbeat", "direction": "in"}
            await daphne.group_send(registry.frames_group(cp), frame)
            assert (await watching)["action"] == "Heartbeat"
    finally:
        task.cancel()
