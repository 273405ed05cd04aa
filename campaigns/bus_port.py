"""The StationPort a worker uses: the station bus (stations.bus) behind the engine's protocol."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from redis.exceptions import RedisError

from campaigns.engine.idle import OpenTransaction, StationState
from campaigns.engine.port import BadResponse, CallRejected, CallTimedOut, LabTrouble, StationGone
from stations import bus, registry
from stations.models import ConnectorStatus, Frame, Station, Transaction

ANSWER_POLL = 0.5  # s between looks at the frame log for CertLab's answer


@contextlib.contextmanager
def _redis_is_ours():
    """Redis away (restarted, unreachable) is CertLab's trouble, never the station's: the step
    ends lab-side in plain words instead of as a crash of ours."""
    try:
        yield
    except (RedisError, ConnectionError) as error:
        raise LabTrouble(
            f"CertLab lost its connection to Redis, which carries the station bus ({error})"
        ) from None


class BusPort:
    def __init__(self, charge_point_id: str) -> None:
        self.charge_point_id = charge_point_id
        self._subscription: bus.Subscription | None = None

    async def open(self) -> None:
        self._subscription = bus.subscribe(self.charge_point_id)
        with _redis_is_ours():
            await self._subscription.__aenter__()

    async def close(self) -> None:
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._subscription.__aexit__(None, None, None))
            self._subscription = None

    async def frames(self) -> AsyncIterator[dict]:
        assert self._subscription is not None, "open() first"
        with _redis_is_ours():
            async for event in self._subscription:
                yield event

    async def lab_outage(self, since):
        """When CertLab itself lost the station's connection since ``since`` (stations.outages)."""
        from stations.outages import lab_outage_since

        return await sync_to_async(lab_outage_since, thread_sensitive=False)(
            charge_point_id=self.charge_point_id, since=since
        )

    async def is_connected(self) -> bool:
        with _redis_is_ours():
            return await registry.channel_of(self.charge_point_id) is not None

    async def call(self, action: str, payload: dict, *, timeout: float, unique_id: str) -> dict:
        with _redis_is_ours():
            return await self._call(action, payload, timeout=timeout, unique_id=unique_id)

    async def _call(self, action: str, payload: dict, *, timeout: float, unique_id: str) -> dict:
        try:
            return await bus.call(
                self.charge_point_id, action, payload, timeout=timeout, unique_id=unique_id
            )
        except bus.StationOffline as error:
            raise StationGone(str(error)) from None
        except bus.LabTimeout as error:
            raise LabTrouble(f"{action} not answered through CertLab: {error}") from None
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
            with _redis_is_ours():
                return await bus.send_raw(self.charge_point_id, frame, timeout)
        except bus.StationOffline as error:
            raise StationGone(str(error)) from None

    async def logged_answer(self, unique_id: str, direction: str, timeout: float) -> dict | None:
        """CertLab's answer to the station's call ``unique_id`` as the Central System's process
        wrote it to the frame log (a FrameEvent dict), or None after ``timeout`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = await sync_to_async(self._answer_row, thread_sensitive=False)(
                unique_id, "out" if direction == "in" else "in"
            )
            if found is not None or loop.time() >= deadline:
                return found
            await asyncio.sleep(ANSWER_POLL)

    def _answer_row(self, unique_id: str, direction: str) -> dict | None:
        station = Station.objects.filter(charge_point_id=self.charge_point_id).first()
        if station is None:
            return None
        frame = (
            Frame.objects.of_station(station.pk)
            .filter(unique_id=unique_id, direction=direction)
            .filter(message_type__in=("CALLRESULT", "CALLERROR"))
            .first()
        )
        if frame is None:
            return None
        return {
            "type": "frame.logged", "charge_point_id": self.charge_point_id,
            "connection_id": frame.connection_id, "timestamp": frame.timestamp.isoformat(),
            "direction": frame.direction, "message_type": frame.message_type,
            "action": frame.action, "unique_id": frame.unique_id, "raw": frame.raw,
            "payload": frame.payload, "error": frame.error,
        }  # fmt: skip

    async def station_state(self) -> StationState | None:
        """What the Central System last heard of the station: each connector's status and the
        transactions it has not seen stopped."""
        return await sync_to_async(self._state, thread_sensitive=False)()

    def _state(self) -> StationState | None:
        station = Station.objects.filter(charge_point_id=self.charge_point_id).first()
        if station is None:
            return None
        statuses = ConnectorStatus.objects.filter(station=station)
        running = Transaction.objects.filter(station=station, stopped_at__isnull=True)[:10]
        return StationState(
            connectors={s.connector_id: s.status for s in statuses},
            transactions=[OpenTransaction(t.pk, t.connector_id, t.id_tag) for t in running],
        )
