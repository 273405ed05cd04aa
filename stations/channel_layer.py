"""channels_redis's layer with fewer Redis round trips per message: the layer of every CertLab
process (``CHANNEL_LAYERS`` names it) and of the station bus.

``send``: channels_redis trims expired messages, counts, adds and sets the expiry in four
sequential Redis calls; here one Lua script does the same four steps with the same capacity and
expiry rules. ``send_to_holder`` does it only while a registry hash still names the channel,
so a caller may keep the holder it looked up last time and still never send to a stale one.

``receive``: channels_redis runs a clean-up script, ``BZPOPMIN``, then copies the message to a
backup sorted set and pops that copy again (four round trips a message, two of them between the
message's arrival and its delivery). The backup only covers a receive cancelled between the pop
and the copy; here nothing is awaited between the pop and the hand-over to the receive buffer,
so there is no such window and one ``BZPOPMIN`` per message does.
"""

from __future__ import annotations

import time

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

# KEYS[2] is the registry hash, ARGV[6] its field, ARGV[7] the channel it must name.
_SEND_TO_HOLDER = (
    """
if redis.call('HGET', KEYS[2], ARGV[6]) ~= ARGV[7] then
  return -1
end
"""
    + _ADD
)

NOT_HOLDER = -1


class RedisChannelLayer(BaseRedisChannelLayer):
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
        self, channel: str, message: dict, *, registry_key: str, field: str
    ) -> bool:
        """Send only while ``registry_key[field]`` is ``channel``; False when it is not.

        The registry must live on the Redis server that carries the channel (one host: the
        bus checks that before using this)."""
        index, (key, *args) = self._prepare(channel, message)
        added = await self.connection(index).eval(
            _SEND_TO_HOLDER, 2, key, registry_key, *args, field, channel
        )
        if added == NOT_HOLDER:
            return False
        if not added:
            raise ChannelFull()
        return True

    async def receive_single(self, channel: str) -> tuple[str, dict]:
        assert self.require_valid_channel_name(channel, receive=True), "Channel name invalid"
        if "!" in channel:
            assert channel.endswith("!")
            index = self.consistent_hash(channel)
        else:
            index = next(self._receive_index_generator)
        connection = self.connection(index)
        key = self.prefix + channel
        popped = None
        while popped is None:
            popped = await connection.bzpopmin(key, timeout=self.brpop_timeout)
        # No await from here to the caller's hand-over: a cancellation cannot lose the message.
        message = self.deserialize(popped[1])
        if "__asgi_channel__" in message:
            channel = message.pop("__asgi_channel__")
        return channel, message
