"""A daphne process stopped under its stations. SIGTERM: every station's socket is closed
cleanly as a server shutdown, its registration released and its connection record closed before
the process exits, with no task destroyed pending. SIGKILL: nothing can be closed, so the
registrations expire within seconds. Either way the bus fails fast with "station offline" in
plain words (no internal channel names)."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
import websockets
from asgiref.sync import sync_to_async
from ocpp.v16 import ChargePoint, call

from stations import bus, registry
from stations.models import Connection
from tests.factories import StationFactory

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


async def _station_on(port: int):
    station = await sync_to_async(StationFactory)()
    socket = await websockets.connect(
        f"ws://127.0.0.1:{port}/ocpp/{station.charge_point_id}", subprotocols=["ocpp1.6"]
    )
    charge_point = ChargePoint(station.charge_point_id, socket)
    task = asyncio.create_task(charge_point.start())
    boot = await charge_point.call(
        call.BootNotification(charge_point_model="M", charge_point_vendor="V")
    )
    assert boot.status == "Accepted"
    assert registry.online_ids([station.charge_point_id]) == {station.charge_point_id}
    return station, socket, task


async def _offline_fast(station) -> str:
    started = time.monotonic()
    with pytest.raises(bus.StationOffline) as error:
        await bus.call(station, "ClearCache", {}, timeout=30)
    # Fast means two missed beats of the holder process (bus.BEAT_LOST), not the call's 30 s; the
    # margin is a loaded machine's Redis round trips (1.6 s was seen with both cores busy).
    assert time.monotonic() - started < bus.BEAT_LOST + 4
    message = str(error.value)
    assert message.startswith("station offline: ")
    assert "specific." not in message and "!" not in message
    return message


async def test_sigterm_closes_each_station_as_a_server_shutdown_and_deregisters_it(web_pair):
    stations = [await _station_on(web_pair.http_port) for _ in range(3)]
    daphne_a = web_pair.daphnes["a"]

    stopped_at = time.monotonic()
    web_pair.kill(daphne_a, signal.SIGTERM)
    assert time.monotonic() - stopped_at < 15

    for station, socket, task in stations:
        await asyncio.wait_for(socket.wait_closed(), 5)
        assert socket.close_code == 1000  # a clean close, not a dropped connection (1006)
        task.cancel()
        connection = await sync_to_async(Connection.objects.filter(station=station).get)()
        assert connection.closed is not None
        assert connection.end_reason == "shutdown"
        assert "server shutdown" in connection.close_reason
        # Released before the process exited: no TTL to wait for.
        assert registry.online_ids([station.charge_point_id]) == set()
        assert await registry.channel_of(station.charge_point_id) is None
        await _offline_fast(station)
    log = daphne_a.log()
    assert "Task was destroyed but it is pending" not in log
    assert "closing 3 station connections" in log


async def test_sigkill_leaves_registrations_that_expire_within_seconds(web_pair):
    station, _socket, task = await _station_on(web_pair.http_port)
    web_pair.kill(web_pair.daphnes["a"], signal.SIGKILL)
    killed_at = time.monotonic()
    task.cancel()

    message = await _offline_fast(station)  # the holder answers nobody: offline in a second
    assert "did not answer" in message or "not connected" in message
    while registry.online_ids([station.charge_point_id]):
        assert time.monotonic() - killed_at < registry.HOLDER_TTL + 3, "still online"
        await asyncio.sleep(0.2)
    assert await registry.channel_of(station.charge_point_id) is None
    await _offline_fast(station)


async def test_a_station_reconnecting_to_the_other_daphne_is_reached_there(web_pair):
    station, socket, task = await _station_on(web_pair.http_port)
    web_pair.kill(web_pair.daphnes["a"], signal.SIGTERM)
    task.cancel()
    socket = await websockets.connect(
        f"ws://127.0.0.1:{web_pair.other_port}/ocpp/{station.charge_point_id}",
        subprotocols=["ocpp1.6"],
    )

    class Station(ChargePoint):
        from ocpp.routing import on

        @on("ClearCache")
        def on_clear_cache(self):
            from ocpp.v16 import call_result

            return call_result.ClearCache(status="Accepted")

    charge_point = Station(station.charge_point_id, socket)
    task = asyncio.create_task(charge_point.start())
    try:
        reply = await bus.call(station, "ClearCache", {}, timeout=10)
        assert reply == {"status": "Accepted"}
    finally:
        await socket.close()
        task.cancel()


async def test_a_step_whose_daphne_stops_ends_lab_side_in_plain_words_never_failed(
    cluster, station
):
    from campaigns import services
    from campaigns.engine.params import LabParameters
    from campaigns.models import Attempt, CriterionResult, Prompt
    from tests.factories import UserFactory

    await station.start(defects=("trigger_message_ignored",))
    qa = await sync_to_async(UserFactory)(username="qa-daphne")
    campaign = await sync_to_async(services.campaign_create)(
        station=station.station,
        owner=qa,
        parameters=LabParameters.fast(
            answer_prompts_on_simulator=False, boot_window=1, status_window=1,
            prompt_timeout=300, reconnect_timeout=4,
        ),
    )  # fmt: skip
    item = await sync_to_async(campaign.plan.get)(function__number=1)
    attempt = await sync_to_async(services.attempt_start)(plan_item=item, user=qa)
    deadline = time.monotonic() + 60
    while not await sync_to_async(Prompt.objects.filter(attempt=attempt, status="open").exists)():
        assert time.monotonic() < deadline, "no prompt"
        await asyncio.sleep(0.3)

    cluster.kill(cluster.daphnes["a"], signal.SIGTERM)  # the simulator has nowhere to go back
    deadline = time.monotonic() + 60
    while (attempt := await sync_to_async(Attempt.objects.get)(pk=attempt.pk)).is_active:
        assert time.monotonic() < deadline, "the step did not end"
        await asyncio.sleep(0.3)

    assert attempt.status == "error"  # CertLab's trouble ("Failed to run"), not the station's
    assert "web server holding the station's connection shut down" in attempt.ending_reason
    assert "did not come back within 4 s" in attempt.ending_reason
    for text in (attempt.ending_reason, attempt.proposed_text):
        assert "specific." not in text and "!" not in text
    assert attempt.proposed_verdict == "incomplete"
    results = CriterionResult.objects.filter(attempt=attempt)
    outcomes = await sync_to_async(lambda: set(results.values_list("outcome", flat=True)))()
    assert "failed" not in outcomes
