"""Defect switches for what real chargers do (OCPP-NOTES): each changes what the Central System
receives in exactly one way."""

from __future__ import annotations

import asyncio

import pytest
from ocpp.v16 import call

from simulator import defects as d

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


async def _charge(sim, cs, connector=1):
    await sim.plug_in(connector)
    await sim.present_tag(connector, "TAG1")
    start = (await cs.wait_for("StartTransaction"))[0]
    await cs.wait_for("StatusNotification", lambda p: p["status"] == "Charging")
    return start


def _statuses(cs, connector, since=0):
    return [p["status"] for p in cs.payloads("StatusNotification", since)
            if p["connectorId"] == connector]  # fmt: skip


async def test_no_preparing_goes_from_available_straight_to_charging(cs, make_sim):
    sim = await make_sim(defects={d.NO_PREPARING})
    since = cs.mark()
    await _charge(sim, cs)
    assert _statuses(cs, 1, since) == ["Charging"]
    assert sim.connectors[1].status == "Charging"


async def test_without_the_defect_preparing_comes_first(cs, make_sim):
    sim = await make_sim()
    since = cs.mark()
    await _charge(sim, cs)
    assert _statuses(cs, 1, since) == ["Preparing", "Charging"]


async def test_stop_txn_sampled_data_ships_empty_until_the_central_system_sets_it(cs, make_sim):
    sim = await make_sim(defects={d.STOP_TXN_SAMPLED_DATA_EMPTY})
    answer = await cs.call(call.GetConfiguration(key=["StopTxnSampledData"]))
    assert answer.configuration_key[0]["value"] == ""
    await _charge(sim, cs)
    await sim.present_tag(1, "TAG1")
    stop = (await cs.wait_for("StopTransaction"))[0].payload
    assert "transactionData" not in stop
    contexts = {s.get("context") for p in cs.payloads("MeterValues")
                for v in p["meterValue"] for s in v["sampledValue"]}  # fmt: skip
    assert "Transaction.Begin" not in contexts
    changed = await cs.call(
        call.ChangeConfiguration(key="StopTxnSampledData", value="Energy.Active.Import.Register")
    )
    assert changed.status == "Accepted"
    since = cs.mark()
    await sim.unplug(1)
    await _charge(sim, cs)
    await sim.present_tag(1, "TAG1")
    stop = (await cs.wait_for("StopTransaction", since=since))[0].payload
    ends = [v["sampledValue"][0]["context"] for v in stop["transactionData"]]
    assert ends[0] == "Transaction.Begin" and ends[-1] == "Transaction.End"


async def test_no_connector_zero_status_after_boot(cs, make_sim):
    sim = await make_sim(defects={d.NO_CONNECTOR_ZERO_STATUS_AFTER_BOOT}, wait=False)
    await sim.wait_online()
    await cs.wait_for("StatusNotification", count=2)
    await asyncio.sleep(0.5)
    assert sorted(p["connectorId"] for p in cs.payloads("StatusNotification")) == [1, 2]
    since = cs.mark()
    await cs.call(call.ChangeAvailability(connector_id=0, type="Inoperative"))
    await cs.wait_for("StatusNotification", lambda p: p["connectorId"] == 0, since=since)


async def test_remote_stop_without_reason(cs, make_sim):
    sim = await make_sim(defects={d.REMOTE_STOP_WITHOUT_REASON})
    await _charge(sim, cs)
    async with asyncio.timeout(5):  # the station knows CertLab's transaction id
        while sim.connectors[1].transaction.transaction_id != 100:
            await asyncio.sleep(0.02)
    answer = await cs.call(call.RemoteStopTransaction(transaction_id=100))
    assert answer.status == "Accepted"
    stop = (await cs.wait_for("StopTransaction"))[0].payload
    assert "reason" not in stop
    await sim.plug_in(1)  # still plugged: a local stop keeps its reason
    await sim.present_tag(1, "TAG1")
    await cs.wait_for("StartTransaction", count=2)
    await sim.present_tag(1, "TAG1")
    second = (await cs.wait_for("StopTransaction", count=2))[1].payload
    assert second["reason"] == "Local"


async def test_exit_on_reset_drops_the_socket_and_a_supervisor_restarts_it(cs, make_sim):
    sim = await make_sim(defects={d.EXIT_ON_RESET})
    await _charge(sim, cs)
    old = cs._sockets["CP1"]
    since = cs.mark()
    assert (await cs.call(call.Reset(type="Soft"))).status == "Accepted"
    boot = (await cs.wait_for("BootNotification", since=since))[0]
    assert boot.connection == 2
    await old.wait_closed()
    assert old.close_code == 1006  # no close frame: the process died
    assert not cs.calls("StopTransaction", since)  # the transaction died with it
    await cs.wait_for("StatusNotification", lambda p: p["connectorId"] == 1
                      and p["status"] == "Preparing", since=since)  # fmt: skip
    assert sim.connectors[1].transaction is None
