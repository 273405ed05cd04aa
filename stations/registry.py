"""Which channel holds each connected station, and who watches which station: kept in Redis so
that every process (any daphne, a Celery worker, a view) sees the same picture.

A ``group_send`` to a station nobody holds is silently dropped (ARCHITECTURE.md, rule 8); the
bus looks the station up here first and fails fast when it is not connected.

A registration is only as alive as the process holding it: each ASGI process that holds
stations keeps a key ``certlab:holders:<its channel prefix>`` with a short TTL, refreshed every
``REFRESH_EVERY`` s (its value counts the refreshes: the process's beat, which tells a busy
process from a dead one before the TTL does), and re-writes its stations' fields should they
be gone (Redis restarted without its data). A station whose holder's key has expired (the
process was killed) reads as offline within ``HOLDER_TTL`` s, and its stale field is removed on
the way.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings

ONLINE_KEY = "certlab:stations:online"
WATCH_PREFIX = "certlab:stations:watch:"
WATCH_TTL = 24 * 3600  # a watcher that died without leaving stops costing after a day
HOLDER_PREFIX = "certlab:holders:"
HOLDER_TTL = 8  # s a killed process's stations still read as online
REFRESH_EVERY = 2.0  # s between a holding process's refreshes

logger = logging.getLogger(__name__)

# Delete the hash field only when it still names this channel: a newer connection may own it.
_RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""

# The field's channel when its holder process is alive; else the field is removed and nothing
# returned. A channel is "specific.<process prefix>!<name>" (channels_redis's new_channel).
_LIVE_CHANNEL = """
local channel = redis.call('HGET', KEYS[1], ARGV[1])
if not channel then
  return false
end
local holder = string.match(channel, '^[^.]*%.([^!]+)!')
if holder and redis.call('EXISTS', ARGV[2] .. holder) == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return false
end
return channel
"""

# KEYS[1] the registry hash, KEYS[2] this process's holder key; ARGV: ttl, then id/channel pairs
# written back where missing (Redis lost its data); a newer connection elsewhere keeps its own.
_REFRESH = """
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[1])
for i = 2, #ARGV, 2 do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
"""

_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# The stations this process holds (charge point id -> channel) and the task keeping them alive.
_held: dict[str, str] = {}
_refreshers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop -> task
_sync_client: redis.Redis | None = None


def _client() -> aioredis.Redis:
    """One asyncio client per event loop (a Celery task runs on a loop of its own)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        # No socket timeout: idle connections must survive (rule 7).
        client = aioredis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
        _clients[loop] = client
    return client


def sync_client() -> redis.Redis:
    global _sync_client
    if _sync_client is None:
        _sync_client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    return _sync_client


def frames_group(charge_point_id: str) -> str:
    """The channel-layer group a station's frames go to (group names allow no '~')."""
    return "frames." + hashlib.sha1(charge_point_id.encode()).hexdigest()


def holder_of(channel: str) -> str:
    """The process part of a channel name ("specific.<holder>!<name>"); "" for other names."""
    head, bang, _ = channel.partition("!")
    return head.partition(".")[2] if bang else ""


def holder_key(channel: str) -> str:
    return HOLDER_PREFIX + holder_of(channel)


async def claim(charge_point_id: str, channel: str) -> str | None:
    """Record that ``channel`` holds the station; return the channel that held it before."""
    _held[charge_point_id] = channel
    async with _client().pipeline(transaction=True) as pipe:
        pipe.incr(holder_key(channel))
        pipe.expire(holder_key(channel), HOLDER_TTL)
        pipe.hget(ONLINE_KEY, charge_point_id)
        pipe.hset(ONLINE_KEY, charge_point_id, channel)
        _, _, previous, _ = await pipe.execute()
    _keep_alive()
    return previous


async def release(charge_point_id: str, channel: str) -> None:
    if _held.get(charge_point_id) == channel:
        del _held[charge_point_id]
    await _client().eval(_RELEASE, 1, ONLINE_KEY, charge_point_id, channel)


def _keep_alive() -> None:
    loop = asyncio.get_running_loop()
    task = _refreshers.get(loop)
    if task is None or task.done():
        _refreshers[loop] = loop.create_task(_refresh(), name="registry-refresh")


async def _refresh() -> None:
    """While this process holds stations: its holder key lives, and their fields exist."""
    while _held:
        await asyncio.sleep(REFRESH_EVERY)
        held = dict(_held)
        if not held:
            break
        pairs = [item for pair in held.items() for item in pair]
        keys = {holder_key(channel) for channel in held.values()}
        try:
            for key in keys:  # one process, one prefix: in practice one key
                await _client().eval(_REFRESH, 2, ONLINE_KEY, key, HOLDER_TTL, *pairs)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # Redis away for a moment: the next round writes it all
            logger.warning("could not refresh %d station registrations: %s", len(held), error)


async def holder_beat(channel: str) -> str | None:
    """The beat of the process holding ``channel``: a count its refresh moves on every
    ``REFRESH_EVERY`` s while its event loop runs; None once the process is gone."""
    return await _client().get(holder_key(channel))


async def channel_of(charge_point_id: str) -> str | None:
    """The channel holding the station, while the process holding it lives."""
    return await _client().eval(_LIVE_CHANNEL, 1, ONLINE_KEY, charge_point_id, HOLDER_PREFIX)


def online_ids(charge_point_ids: list[str]) -> set[str]:
    """The ids among these whose station is connected now, to a live process (for pages)."""
    if not charge_point_ids:
        return set()
    client = sync_client()
    channels = client.hmget(ONLINE_KEY, charge_point_ids)
    held = {cp: ch for cp, ch in zip(charge_point_ids, channels, strict=True) if ch}
    keys = sorted({holder_key(ch) for ch in held.values()})
    alive = dict(zip(keys, client.mget(keys), strict=True)) if keys else {}
    return {cp for cp, ch in held.items() if alive.get(holder_key(ch))}


def forget_all_held() -> dict[str, str]:
    """This process stops holding anything (its shutdown); returns what it held."""
    held = dict(_held)
    _held.clear()
    for task in list(_refreshers.values()):
        with contextlib.suppress(RuntimeError):
            task.cancel()
    return held


async def watch(charge_point_id: str, channel: str) -> None:
    key = WATCH_PREFIX + charge_point_id
    async with _client().pipeline(transaction=True) as pipe:
        pipe.hset(key, channel, "1")
        pipe.expire(key, WATCH_TTL)
        await pipe.execute()


async def unwatch(charge_point_id: str, channel: str) -> None:
    await _client().hdel(WATCH_PREFIX + charge_point_id, channel)


async def watcher_count(charge_point_id: str) -> int:
    return await _client().hlen(WATCH_PREFIX + charge_point_id)


async def watchers(charge_point_id: str) -> set[str]:
    """The channels watching a station (browsers' streams and bus subscriptions)."""
    return set(await _client().hkeys(WATCH_PREFIX + charge_point_id))
