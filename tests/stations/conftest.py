"""Fixtures for the Central System: the in-memory channel layer, a clean Redis registry, and
a charge point speaking through WebsocketCommunicator."""

from __future__ import annotations

import json
from base64 import b64encode
from itertools import count

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from certlab.asgi import application
from stations import frame_log, registry
from tests.factories import StationFactory

_ids = count(1)


@pytest.fixture
def memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


@pytest.fixture(autouse=True)
def clean_registry():
    client = registry.sync_client()
    registry.forget_all_held()
    for pattern in ("certlab:stations:*", registry.HOLDER_PREFIX + "*"):
        for key in client.scan_iter(pattern):
            client.delete(key)
    yield


class ChargePoint:
    """A scripted station: send frames, read answers."""

    def __init__(self, charge_point_id: str, *, subprotocols=("ocpp1.6",), password=None):
        headers = []
        if password is not None:
            token = b64encode(f"{charge_point_id}:{password}".encode())
            headers.append((b"authorization", b"Basic " + token))
        self.comm = WebsocketCommunicator(
            application,
            f"/ocpp/{charge_point_id}",
            subprotocols=list(subprotocols),
            headers=headers,
        )
        self.connected = False
        self.subprotocol = None

    async def connect(self) -> bool:
        self.connected, self.subprotocol = await self.comm.connect()
        return self.connected

    async def send_raw(self, text: str) -> None:
        await self.comm.send_to(text_data=text)

    async def receive(self, timeout: float = 2) -> list:
        return json.loads(await self.comm.receive_from(timeout))

    async def call(self, action: str, payload: dict, unique_id: str | None = None) -> list:
        uid = unique_id or f"m{next(_ids)}"
        await self.send_raw(json.dumps([2, uid, action, payload]))
        answer = await self.receive()
        assert answer[1] == uid
        return answer

    async def close(self) -> None:
        """Disconnect (also after the server closed: that is when the consumer hears of it)."""
        if self.connected:
            self.connected = False
            await self.comm.disconnect()


@pytest.fixture
async def station(db):
    from asgiref.sync import sync_to_async

    return await sync_to_async(StationFactory)()


@pytest.fixture
async def cp(memory_layer, station):
    charge_point = ChargePoint(station.charge_point_id)
    assert await charge_point.connect()
    yield charge_point
    await charge_point.close()
    await frame_log.flush()
