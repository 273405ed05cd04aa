"""The StationPort a worker uses: the station bus (stations.bus) behind the engine's protocol."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from campaigns.engine.port import BadResponse, CallRejected, CallTimedOut, StationGone
from stations import bus, registry


class BusPort:
    def __init__(self, charge_point_id: str) -> None:
        self.charge_point_id = charge_point_id
        self._subscription: bus.Subscription | None = None

    async def open(self) -> None:
        self._subscription = bus.subscribe(self.charge_point_id)
        await self._subscription.__aenter__()

    async def close(self) -> None:
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._subscription.__aexit__(None, None, None))
            self._subscription = None

    async def frames(self) -> AsyncIterator[dict]:
        assert self._subscription is not None, "open() first"
        async for event in self._subscription:
            yield event

    async def is_connected(self) -> bool:
        return await registry.channel_of(self.charge_point_id) is not None

    async def call(self, action: str, payload: dict, *, timeout: float, unique_id: str) -> dict:
        try:
            return await bus.call(
                self.charge_point_id, action, payload, timeout=timeout, unique_id=unique_id
            )
        except bus.StationOffline as error:
            raise StationGone(str(error)) from None
        except bus.Timeout:
            raise CallTimedOut(action) from None
        except bus.CallError as error:
            raise CallRejected(error.code, error.description) from None
        except bus.InvalidResponse as error:
            raise BadResponse(error.payload, error.error) from None
        except bus.InvalidPayload as error:
            # Our own payload broke the schema: a CertLab bug or bad lab parameters; say so.
            raise CallRejected(f"CertLab:{error.code}", error.description) from None

    async def send_raw(self, frame: str, *, timeout: float) -> dict:
        try:
            return await bus.send_raw(self.charge_point_id, frame, timeout)
        except bus.StationOffline as error:
            raise StationGone(str(error)) from None
