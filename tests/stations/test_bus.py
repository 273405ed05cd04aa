"""The station bus over the in-memory channel layer: calls, their failures, the queue, raw
frames and subscriptions."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async

from stations import bus, registry
from tests.stations.conftest import ChargePoint
from tests.stations.test_ocpp_endpoint import frames_of

pytestmark = pytest.mark.django_db(transaction=True)


async def test_call_returns_the_stations_response(cp, station):
    pending = asyncio.create_task(bus.call(station, "Reset", {"type": "Soft"}, timeout=5))
    request = await cp.receive()
    assert request[0] == 2 and request[2:] == ["Reset", {"type": "Soft"}]
    await cp.send_raw(json.dumps([3, request[1], {"status": "Accepted"}]))
    assert await pending == {"status": "Accepted"}
    frames = await frames_of(station)
    assert [(f.direction, f.message_type, f.action) for f in frames] == [
        ("out", "CALL", "Reset"),
        ("in", "CALLRESULT", "Reset"),
    ]


async def test_call_error_from_the_station_is_raised_with_its_code(cp, station):
    pending = asyncio.create_task(
        bus.call(
            station,
            "UpdateFirmware",
            {"location": "ftp://lab/fw.bin", "retrieveDate": "2025-01-01T00:00:00Z"},
            timeout=5,
        )
    )
    request = await cp.receive()
    await cp.send_raw(json.dumps([4, request[1], "NotImplemented", "no", {}]))
    with pytest.raises(bus.CallError) as error:
        await pending
    assert error.value.code == "NotImplemented"


async def test_a_response_breaking_the_schema_is_raised_with_its_payload(cp, station):
    pending = asyncio.create_task(bus.call(station, "ClearCache", {}, timeout=5))
    request = await cp.receive()
    await cp.send_raw(json.dumps([3, request[1], {"status": "Maybe"}]))
    with pytest.raises(bus.InvalidResponse) as error:
        await pending
    assert error.value.payload == {"status": "Maybe"}
    assert error.value.error.startswith("PropertyConstraintViolation")


async def test_unanswered_call_times_out(cp, station):
    started = time.monotonic()
    with pytest.raises(bus.Timeout):
        await bus.call(station, "ClearCache", {}, timeout=0.5)
    assert 0.5 <= time.monotonic() - started < 2
    request = await cp.receive()
    # The late answer is logged as a late answer.
    await cp.send_raw(json.dumps([3, request[1], {"status": "Accepted"}]))
    await asyncio.sleep(0.05)
    late = (await frames_of(station))[-1]
    assert late.action == "ClearCache" and late.error == "Response after the call was given up"


async def test_station_not_connected_fails_at_once(memory_layer, station):
    started = time.monotonic()
    with pytest.raises(bus.StationOffline):
        await bus.call(station, "ClearCache", {}, timeout=30)
    assert time.monotonic() - started < 0.2


async def test_station_held_by_a_dead_process_fails_once_its_beat_is_lost(memory_layer, station):
    await registry.claim(station.charge_point_id, "specific.gone!nobody")
    registry.forget_all_held()  # the process died: its key lives on, its beat stops
    started = time.monotonic()
    with pytest.raises(bus.StationOffline, match="did not answer"):
        await bus.call(station, "ClearCache", {}, timeout=30)
    # Within seconds (two missed beats), not the call's 30 s.
    assert bus.BEAT_LOST <= time.monotonic() - started < bus.BEAT_LOST + 3
    assert await registry.channel_of(station.charge_point_id) is None


async def test_a_busy_holder_that_still_beats_is_waited_for_not_called_offline(
    memory_layer, station
):
    """Issue 12's soak: a daphne whose event loop ran late under load acknowledged after the
    bus's first second; its stations were read as offline. A process that beats is busy, not
    gone: the call goes through."""
    channel = "specific.busy!station"
    await registry.claim(station.charge_point_id, channel)  # this process beats for it
    layer = bus.channel_layer()
    pending = asyncio.create_task(bus.call(station, "ClearCache", {}, timeout=30))
    message = await layer.receive(channel)
    await asyncio.sleep(bus.BEAT_LOST + 1)  # late: past OFFLINE_AFTER, and past BEAT_LOST
    assert not pending.done()
    await layer.send(message["reply_to"], {"type": "bus.reply", "status": "result",
                                           "payload": {"status": "Accepted"}})  # fmt: skip
    assert await asyncio.wait_for(pending, 10) == {"status": "Accepted"}
    assert await registry.channel_of(station.charge_point_id) == channel
    await registry.release(station.charge_point_id, channel)


async def test_a_busy_holder_that_never_takes_the_call_is_certlabs_timeout(memory_layer, station):
    channel = "specific.busy!station"
    await registry.claim(station.charge_point_id, channel)
    started = time.monotonic()
    with pytest.raises(bus.LabTimeout, match="is running but did not take the call"):
        await bus.call(station, "ClearCache", {}, timeout=1)
    assert time.monotonic() - started < 1 + bus.GRACE + 3
    await registry.release(station.charge_point_id, channel)


async def test_payload_breaking_the_schema_is_refused_before_sending(cp, station):
    with pytest.raises(bus.InvalidPayload) as error:
        await bus.call(station, "Reset", {"type": "Sideways"})
    assert error.value.code == "PropertyConstraintViolation"
    assert await cp.comm.receive_nothing(0.1)


async def test_calls_wait_for_the_one_before_in_order(cp, station):
    first = asyncio.create_task(bus.call(station, "ClearCache", {}, timeout=5))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(
        bus.call(station, "GetConfiguration", {"key": ["HeartbeatInterval"]}, timeout=5)
    )
    request = await cp.receive()
    assert request[2] == "ClearCache"
    assert await cp.comm.receive_nothing(0.3)  # nothing else while the first is open
    await cp.send_raw(json.dumps([3, request[1], {"status": "Accepted"}]))
    request = await cp.receive()
    assert request[2] == "GetConfiguration"
    await cp.send_raw(json.dumps([3, request[1], {"configurationKey": []}]))
    assert await first == {"status": "Accepted"}
    assert await second == {"configurationKey": []}


async def test_raw_frames_go_out_unchecked_and_are_logged(cp, station):
    result = await bus.send_raw(station, '[2,"raw-1","Reset",{"type":"Sideways"}', timeout=2)
    assert result["status"] == "sent"
    assert await cp.comm.receive_from(1) == '[2,"raw-1","Reset",{"type":"Sideways"}'
    pending = asyncio.create_task(bus.send_raw(station, '[2,"raw-2","Reset",{"type":"Hard"}]'))
    await cp.receive()
    await cp.send_raw('[4,"raw-2","FormationViolation","bad",{}]')
    assert (await pending)["code"] == "FormationViolation"
    frames = await frames_of(station)
    assert frames[0].raw == '[2,"raw-1","Reset",{"type":"Sideways"}'
    assert frames[-1].action == "Reset" and frames[-1].message_type == "CALLERROR"


async def test_subscriber_sees_every_frame_from_the_moment_it_subscribed(cp, station):
    async with bus.subscribe(station) as frames:
        await cp.call("Heartbeat", {}, unique_id="hb-seen")
        request = await frames.next(timeout=2, direction="in")
        answer = await frames.next(timeout=2)
    assert (request["action"], request["message_type"], request["unique_id"]) == (
        "Heartbeat",
        "CALL",
        "hb-seen",
    )
    assert answer["message_type"] == "CALLRESULT" and answer["direction"] == "out"
    assert await registry.watcher_count(station.charge_point_id) == 0


async def test_nobody_watching_means_nothing_is_streamed(cp, station):
    consumer_watched = []
    async with bus.subscribe(station) as frames:
        pass
    await cp.call("Heartbeat", {})
    with pytest.raises(bus.Timeout):
        await frames.next(timeout=0.2)
    consumer_watched.append(await registry.watcher_count(station.charge_point_id))
    assert consumer_watched == [0]


async def test_subscription_made_before_the_station_connects(memory_layer, station):
    async with bus.subscribe(station.charge_point_id) as frames:
        charge_point = ChargePoint(station.charge_point_id)
        assert await charge_point.connect()
        await charge_point.call("Heartbeat", {})
        assert (await frames.next(timeout=2))["action"] == "Heartbeat"
        await charge_point.close()


async def test_call_sync_works_from_plain_code(cp, station):
    async def answer():
        request = await cp.receive()
        await cp.send_raw(json.dumps([3, request[1], {"status": "Accepted"}]))

    answering = asyncio.create_task(answer())
    result = await sync_to_async(bus.call_sync, thread_sensitive=False)(
        station.charge_point_id, "ClearCache", {}, 5
    )
    await answering
    assert result == {"status": "Accepted"}


async def test_console_command_records_the_answer(cp, station):
    from stations import services
    from stations.models import Command

    command = await Command.objects.acreate(
        station=station,
        action="ChangeAvailability",
        payload={"connectorId": 0, "type": "Inoperative"},
        timeout=5,
    )
    running = asyncio.create_task(services.command_execute(command_id=command.pk))
    request = await cp.receive()
    await cp.send_raw(json.dumps([3, request[1], {"status": "Scheduled"}]))
    done = await running
    assert (done.status, done.response) == ("result", {"status": "Scheduled"})


async def test_console_command_to_an_offline_station_says_so(memory_layer, station):
    from stations import services
    from stations.models import Command

    command = await Command.objects.acreate(station=station, action="ClearCache", payload={})
    done = await services.command_execute(command_id=command.pk)
    assert done.status == "offline" and done.finished is not None


async def test_station_of_a_killed_process_reads_offline_once_its_holder_key_expires(station):
    channel = "specific.killedprocess!abc"
    await registry.claim(station.charge_point_id, channel)
    assert await registry.channel_of(station.charge_point_id) == channel
    assert registry.online_ids([station.charge_point_id]) == {station.charge_point_id}
    registry.forget_all_held()  # the process is gone: nobody refreshes its key
    ttl = registry.sync_client().ttl(registry.holder_key(channel))
    assert 0 < ttl <= registry.HOLDER_TTL
    registry.sync_client().delete(registry.holder_key(channel))  # what the TTL does
    assert registry.online_ids([station.charge_point_id]) == set()
    started = time.monotonic()
    with pytest.raises(bus.StationOffline, match=r"station offline: .* is not connected"):
        await bus.call(station, "ClearCache", {}, timeout=30)
    assert time.monotonic() - started < 0.5
    assert await registry.channel_of(station.charge_point_id) is None
    assert not registry.sync_client().hexists(registry.ONLINE_KEY, station.charge_point_id)


async def test_holding_process_writes_its_registrations_back_after_redis_lost_them(station):
    channel = "specific.liveprocess!abc"
    await registry.claim(station.charge_point_id, channel)
    registry.sync_client().delete(registry.ONLINE_KEY, registry.holder_key(channel))
    await asyncio.sleep(registry.REFRESH_EVERY + 1)
    assert await registry.channel_of(station.charge_point_id) == channel
    await registry.release(station.charge_point_id, channel)
    assert await registry.channel_of(station.charge_point_id) is None
