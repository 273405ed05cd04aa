"""Offline queueing and in-order replay of transaction messages."""

from __future__ import annotations

import asyncio

import pytest

from simulator import defects as d

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

SAMPLE = {"MeterValueSampleInterval": "1"}


def periodic(payload):
    return payload["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Periodic"


async def test_messages_queued_offline_are_replayed_in_order(cs, make_sim):
    sim = await make_sim(configuration=SAMPLE)
    await sim.plug_in(1)
    await sim.present_tag(1, "TAG1")
    await cs.wait_for("StartTransaction")
    await asyncio.sleep(0.2)  # the answer gives the transaction its id
    await sim.go_offline(3)
    reconnect_mark = cs.mark()
    await asyncio.sleep(1.5)  # charging on while offline: periodic values queue up
    await sim.present_tag(1, "TAG1")  # stop while offline: the same tag, no Authorize
    await sim.wait_online(timeout=6)
    stop = (await cs.wait_for("StopTransaction", since=reconnect_mark))[0]
    replayed = [
        f for f in cs.calls(since=reconnect_mark) if f.action in ("MeterValues", "StopTransaction")
    ]
    meter = [f for f in replayed if f.action == "MeterValues"]
    assert len(meter) >= 1, "periodic values sampled while offline must be replayed"
    assert replayed[-1] is stop
    stamps = [f.payload["meterValue"][0]["timestamp"] for f in meter]
    assert stamps == sorted(stamps)
    assert all(f.payload["transactionId"] == 100 for f in replayed)
    assert not cs.calls("BootNotification", since=reconnect_mark)


async def test_transaction_started_offline_gets_its_real_id(cs, make_sim):
    sim = await make_sim(configuration={**SAMPLE, "AllowOfflineTxForUnknownId": "true"})
    await sim.go_offline(2)
    mark = cs.mark()
    await sim.plug_in(2)
    await sim.present_tag(2, "NEWTAG")
    await asyncio.sleep(1.2)
    await sim.unplug(2)
    await sim.wait_online(timeout=6)
    stop = (await cs.wait_for("StopTransaction", since=mark))[0]
    start = cs.calls("StartTransaction", mark)[0]
    assert cs.frames.index(start) < cs.frames.index(stop)
    assert stop.payload["transactionId"] == 100 and stop.payload["reason"] == "EVDisconnected"
    assert all(f.payload["transactionId"] == 100 for f in cs.calls("MeterValues", mark))


async def test_offline_transactions_lost_defect(cs, make_sim):
    sim = await make_sim(
        configuration={"AllowOfflineTxForUnknownId": "true"}, defects={d.OFFLINE_TRANSACTIONS_LOST}
    )
    await sim.go_offline(1)
    mark = cs.mark()
    await sim.plug_in(1)
    await sim.present_tag(1, "NEWTAG")
    await sim.unplug(1)
    await sim.wait_online(timeout=5)
    await cs.assert_none("StartTransaction", within=1.0, since=mark)
    assert not cs.calls("StopTransaction", mark)


async def test_queue_survives_a_restart_of_the_simulator(cs, make_sim):
    sim = await make_sim(configuration={"AllowOfflineTxForUnknownId": "true"})
    await sim.go_offline(30)
    await sim.plug_in(1)
    await sim.present_tag(1, "NEWTAG")
    await sim.unplug(1)
    await sim.stop()
    mark = cs.mark()
    await make_sim()
    await cs.wait_for("StopTransaction", since=mark)
    assert cs.calls("StartTransaction", mark)
