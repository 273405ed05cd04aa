"""Which channel holds each connected station, and who watches which station: kept in Redis so
that every process (any daphne, a Celery worker, a view) sees the same picture.

A ``group_send`` to a station nobody holds is silently dropped (ARCHITECTURE.md, rule 8); the
bus looks the station up here first and fails fast when it is not connected.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings

ONLINE_KEY = "certlab:stations:online"
WATCH_PREFIX = "certlab:stations:watch:"
WATCH_TTL = 24 * 3600  # a watcher that died without leaving stops costing after a day

# Delete the hash field only when it still names this channel: a newer connection may own it.
_RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""

_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
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


async def claim(charge_point_id: str, channel: str) -> str | None:
    """Record that ``channel`` holds the station; return the channel that held it before."""
    async with _client().pipeline(transaction=True) as pipe:
        pipe.hget(ONLINE_KEY, charge_point_id)
        pipe.hset(ONLINE_KEY, charge_point_id, channel)
        previous, _ = await pipe.execute()
    return previous


async def release(charge_point_id: str, channel: str) -> None:
    await _client().eval(_RELEASE, 1, ONLINE_KEY, charge_point_id, channel)


async def channel_of(charge_point_id: str) -> str | None:
    return await _client().hget(ONLINE_KEY, charge_point_id)


def online_ids(charge_point_ids: list[str]) -> set[str]:
    """The ids among these whose station is connected now (for pages)."""
    if not charge_point_ids:
        return set()
    channels = sync_client().hmget(ONLINE_KEY, charge_point_ids)
    return {cp for cp, channel in zip(charge_point_ids, channels, strict=True) if channel}


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
