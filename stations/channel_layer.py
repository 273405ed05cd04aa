"""channels_redis's layer with fewer Redis round trips per message: the layer of every CertLab
process (``CHANNEL_LAYERS`` names it) and of the station bus.

``send``: channels_redis trims expired messages, counts, adds and sets the expiry in four
sequential Redis calls; here one Lua script does the same four steps with the same capacity and
expiry rules. ``send_to_holder`` does it only while a registry hash still names the channel,
so a caller may keep the holder it looked up last time and still never send to a stale one.

``receive`` (process-local channels ``<prefix>.<client>!<name>``, the only kind CertLab uses;
all channels of one prefix share one Redis sorted set): channels_redis runs a clean-up script,
``BZPOPMIN``, copies the message to a backup set and pops that copy again (four round trips a
message), and all receives of a layer instance take turns on one lock, so a receive waiting on
the ``watch.`` set held up one on the ``bus.`` set until a frame came. Here each set has a
reader task of its own while anyone waits on one of its channels: one ``BZPOPMIN`` a message,
handed to the channel's first waiter or kept for its next receive. Receives on different sets
go on side by side, each reader on a Redis connection of its own.

A receive that is cancelled (a ``wait_for`` timing out) never cancels the reader: a message
Redis already popped is still delivered, to the buffer when nobody waits any more. The backup
set covered that window in channels_redis; here it does not exist. Normal channels (no ``!``)
keep channels_redis's receive.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time

import redis.exceptions as redis_errors
from channels.exceptions import ChannelFull
from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer

_ADD = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[3])
if redis.call('ZCOUNT', KEYS[1], '-inf', '+inf') >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""
_SEND = _ADD

# KEYS[2] is the registry hash, ARGV[6] its field, ARGV[7] the channel it must name; KEYS[3] the
# holder process's liveness key (stations.registry), which must exist.
_SEND_TO_HOLDER = (
    """
if redis.call('HGET', KEYS[2], ARGV[6]) ~= ARGV[7] or redis.call('EXISTS', KEYS[3]) == 0 then
  return -1
end
"""
    + _ADD
)

NOT_HOLDER = -1
REDIS_BACKOFF = 2.0  # s at most between a reader's tries while Redis is away

logger = logging.getLogger(__name__)


class RedisChannelLayer(BaseRedisChannelLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Messages popped for a channel while nobody waited on it, oldest first.
        self._buffers: dict[str, collections.deque] = {}
        # Receives waiting on each channel, first come first served.
        self._waiters: dict[str, dict[asyncio.Future, None]] = {}
        # How many of those there are per Redis set (non-local name), and each set's reader.
        self._waiting: dict[str, int] = {}
        self._readers: dict[str, asyncio.Task] = {}
        self._receiving_loop: asyncio.AbstractEventLoop | None = None

    def _prepare(self, channel: str, message: dict) -> tuple[int, list]:
        assert isinstance(message, dict), "message is not a dict"
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        assert "__asgi_channel__" not in message
        local = "!" in channel
        if local:
            message = {**message, "__asgi_channel__": channel}
        channel_key = self.prefix + (self.non_local_name(channel) if local else channel)
        index = self.consistent_hash(channel) if local else next(self._send_index_generator)
        now = time.time()
        args = [
            channel_key,
            self.serialize(message),
            now,
            int(now) - int(self.expiry),
            self.get_capacity(channel),
            int(self.expiry),
        ]
        return index, args

    async def send(self, channel: str, message: dict) -> None:
        index, (key, *args) = self._prepare(channel, message)
        if not await self.connection(index).eval(_SEND, 1, key, *args):
            raise ChannelFull()

    async def send_to_holder(
        self, channel: str, message: dict, *, registry_key: str, field: str, alive_key: str
    ) -> bool:
        """Send only while ``registry_key[field]`` is ``channel`` and ``alive_key`` exists;
        False when not.

        The registry must live on the Redis server that carries the channel (one host: the
        bus checks that before using this)."""
        index, (key, *args) = self._prepare(channel, message)
        added = await self.connection(index).eval(
            _SEND_TO_HOLDER, 3, key, registry_key, alive_key, *args, field, channel
        )
        if added == NOT_HOLDER:
            return False
        if not added:
            raise ChannelFull()
        return True

    async def receive(self, channel: str) -> dict:
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        if "!" not in channel:
            return await super().receive(channel)
        key = self.non_local_name(channel)
        assert key.endswith(self.client_prefix + "!"), "Wrong client prefix"
        buffered = self._buffers.get(channel)
        if buffered:
            message = buffered.popleft()
            if not buffered:
                del self._buffers[channel]
            return message
        loop = self._receive_on(asyncio.get_running_loop())
        waiter = loop.create_future()
        self._waiters.setdefault(channel, {})[waiter] = None
        self._waiting[key] = self._waiting.get(key, 0) + 1
        if key not in self._readers:
            self._readers[key] = loop.create_task(self._read(key))
        try:
            return await waiter
        except asyncio.CancelledError:
            # Cancelled after the reader handed us a message, before we resumed: it is the
            # channel's next message still, not ours to drop.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._deliver(channel, waiter.result(), first=True)
            raise
        finally:
            self._unregister(channel, waiter)

    def _receive_on(self, loop: asyncio.AbstractEventLoop) -> asyncio.AbstractEventLoop:
        """Bind the receive state to ``loop``; what a finished loop left behind is dropped."""
        if self._receiving_loop is not loop:
            earlier = self._receiving_loop
            if earlier is not None and earlier.is_running() and (self._waiting or self._readers):
                raise RuntimeError("Two event loops are trying to receive() on one layer at once")
            self._waiters.clear()
            self._waiting.clear()
            self._readers.clear()
            self._receiving_loop = loop
        return loop

    def _unregister(self, channel: str, waiter: asyncio.Future) -> bool:
        waiters = self._waiters.get(channel)
        if waiters is None or waiter not in waiters:
            return False
        del waiters[waiter]
        if not waiters:
            del self._waiters[channel]
        key = self.non_local_name(channel)
        self._waiting[key] -= 1
        if not self._waiting[key]:
            del self._waiting[key]
        return True

    def _deliver(self, channel: str, message: dict, *, first: bool = False) -> None:
        """Hand ``message`` to the channel's first live waiter, else keep it for its next
        receive (at the front when ``first``: a message given back)."""
        for waiter in list(self._waiters.get(channel, ())):
            self._unregister(channel, waiter)
            if not waiter.done():
                waiter.set_result(message)
                return
        buffered = self._buffers.get(channel)
        if buffered is None:
            # Bounded like channels_redis's receive buffer: a channel nobody reads drops its oldest.
            buffered = self._buffers[channel] = collections.deque(maxlen=self.capacity)
        if first:
            buffered.appendleft(message)
        else:
            buffered.append(message)

    async def _read(self, key: str) -> None:
        """Pop the Redis set ``key`` while anyone waits on one of its channels."""
        connection = self.connection(self.consistent_hash(key))
        redis_key = self.prefix + key
        backoff = 0.1
        try:
            while self._waiting.get(key):
                try:
                    popped = await connection.bzpopmin(redis_key, timeout=self.brpop_timeout)
                    if popped is None:
                        continue
                    message = self.deserialize(popped[1])
                    channels = message.pop("__asgi_channel__")
                except (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError) as error:
                    # Redis away (restarting, a network cut): the receives wait for it rather
                    # than fail, or every consumer of the process would die with them.
                    logger.warning("channel layer: Redis unavailable (%s); again in %.1f s",
                                   error, backoff)  # fmt: skip
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, REDIS_BACKOFF)
                    continue
                except Exception as error:
                    # Like channels_redis: the receive that would have read fails, the others
                    # try again.
                    self._fail_one(key, error)
                    continue
                backoff = 0.1
                # No await from the pop to the hand-over.
                if isinstance(channels, str):  # a send; a group_send lists this set's members
                    self._deliver(channels, message)
                else:
                    for channel in channels:
                        self._deliver(channel, message)
        finally:
            if self._readers.get(key) is asyncio.current_task():
                del self._readers[key]

    def _fail_one(self, key: str, error: Exception) -> None:
        for channel, waiters in list(self._waiters.items()):
            if self.non_local_name(channel) == key:
                for waiter in list(waiters):
                    self._unregister(channel, waiter)
                    if not waiter.done():
                        waiter.set_exception(error)
                        return

    async def close_pools(self) -> None:
        # A reader's BZPOPMIN holds a pooled connection: stop the readers first.
        readers = [task for task in self._readers.values() if not task.done()]
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await super().close_pools()
        if self._waiting:  # receives still waiting get readers on fresh connections
            loop = asyncio.get_running_loop()
            for key in self._waiting:
                self._readers[key] = loop.create_task(self._read(key))
