"""Local and remote transactions, authorization and the cache, as a Central System sees them."""

from __future__ import annotations

import asyncio

import pytest
from ocpp.v16 import call

from simulator import defects as d

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


def status_of(connector: int, status: str):
    return lambda p: p["connectorId"] == connector and p["status"] == status


async def test_plug_then_tag_authorizes_then_starts(cs, make_sim):
    sim = await make_sim()
    await sim.plug_in(1)
    await cs.wait_for("StatusNotification", status_of(1, "Preparing"))
    since = cs.mark()
    await sim.present_tag(1, "TAG1")
    start = (await cs.wait_for("StartTransaction", since=since))[0]
    await cs.wait_for("StatusNotification", status_of(1, "Charging"), since=since)
    authorize = cs.calls("Authorize", since)[0]
    assert cs.frames.index(authorize) < cs.frames.index(start)
    assert authorize.payload == {"idTag": "TAG1"}
    assert start.payload["connectorId"] == 1 and start.payload["idTag"] == "TAG1"
    assert isinstance(start.payload["meterStart"], int)
    await asyncio.sleep(0.2)
    assert sim.connectors[1].transaction.transaction_id == 100


async def test_tag_then_plug_starts(cs, make_sim):
    sim = await make_sim()
    await sim.present_tag(2, "TAG1")
    await cs.wait_for("StatusNotification", status_of(2, "Preparing"))
    assert not cs.calls("StartTransaction")
    await sim.plug_in(2)
    await cs.wait_for("StartTransaction")


async def test_invalid_tag_stops_the_sequence(cs, make_sim):
    sim = await make_sim()
    await sim.plug_in(1)
    await sim.present_tag(1, "INVALID")
    await cs.wait_for("Authorize")
    await cs.assert_none("StartTransaction", within=0.5)


async def test_connection_timeout_cancels_an_unplugged_start(cs, make_sim):
    sim = await make_sim(configuration={"ConnectionTimeOut": "1"})
    await sim.present_tag(1, "TAG1")
    await cs.wait_for("StatusNotification", status_of(1, "Preparing"))
    await cs.wait_for("StatusNotification", status_of(1, "Available"), since=cs.mark(), timeout=3)
    await sim.plug_in(1)
    await cs.assert_none("StartTransaction", within=0.3)


async def test_same_tag_stops_locally_with_transaction_data(cs, make_sim):
    sim = await make_sim()
    await sim.plug_in(1)
    await sim.present_tag(1, "TAG1")
    await cs.wait_for("StartTransaction")
    await sim.present_tag(1, "TAG1")
    stop = (await cs.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "Local" and stop["idTag"] == "TAG1" and stop["transactionId"] == 100
    contexts = [v["sampledValue"][0]["context"] for v in stop["transactionData"]]
    assert contexts[0] == "Transaction.Begin" and contexts[-1] == "Transaction.End"
    await cs.wait_for("StatusNotification", status_of(1, "Finishing"))
    await sim.unplug(1)
    await cs.wait_for("StatusNotification", status_of(1, "Available"), since=cs.mark() - 2)


async def test_unplug_stops_with_ev_disconnected(cs, make_sim):
    sim = await make_sim()
    await sim.plug_in(1)
    await sim.present_tag(1, "TAG1")
    await cs.wait_for("StartTransaction")
    await sim.unplug(1)
    stop = (await cs.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "EVDisconnected"


async def test_remote_start_authorizes_and_waits_for_the_cable(cs, make_sim):
    sim = await make_sim()
    answer = await cs.call(call.RemoteStartTransaction(id_tag="REMOTE", connector_id=1))
    assert answer.status == "Accepted"
    await cs.wait_for("Authorize")  # AuthorizeRemoteTxRequests is true by default
    await cs.wait_for("StatusNotification", status_of(1, "Preparing"))
    await cs.assert_none("StartTransaction", within=0.3)
    await sim.plug_in(1)
    start = (await cs.wait_for("StartTransaction"))[0].payload
    assert start["idTag"] == "REMOTE"


async def test_remote_start_without_authorize_when_configured(cs, make_sim):
    sim = await make_sim(configuration={"AuthorizeRemoteTxRequests": "false"})
    await sim.plug_in(1)
    await cs.call(call.RemoteStartTransaction(id_tag="REMOTE"))
    await cs.wait_for("StartTransaction")
    assert not cs.calls("Authorize")


async def test_remote_start_rejected_on_connector_zero_and_faulted(cs, make_sim):
    sim = await make_sim(connectors=1)
    answer = await cs.call(call.RemoteStartTransaction(id_tag="R", connector_id=0))
    assert answer.status == "Rejected"
    await sim.fault(1, "GroundFailure")
    answer = await cs.call(call.RemoteStartTransaction(id_tag="R", connector_id=1))
    assert answer.status == "Rejected"


async def test_remote_stop(cs, make_sim):
    sim = await make_sim()
    await sim.plug_in(1)
    await cs.call(call.RemoteStartTransaction(id_tag="R", connector_id=1))
    await cs.wait_for("StartTransaction")
    await asyncio.sleep(0.2)
    assert (await cs.call(call.RemoteStopTransaction(transaction_id=999))).status == "Rejected"
    answer = await cs.call(call.RemoteStopTransaction(transaction_id=100))
    assert answer.status == "Accepted"
    stop = (await cs.wait_for("StopTransaction"))[0].payload
    assert stop["reason"] == "Remote" and stop["transactionId"] == 100


async def test_remote_stop_right_after_the_start_answer_waits_for_its_transaction_id(cs, make_sim):
    # The Central System's StartTransaction answer came in, then at once its RemoteStop of
    # that transaction, before the task awaiting the answer took the id in (seen at 8 stations
    # at once: Rejected 2 ms after CertLab's answer, the step Failed).
    sim = await make_sim()
    await sim.plug_in(1)
    await cs.call(call.RemoteStartTransaction(id_tag="R", connector_id=1))
    await cs.wait_for("StartTransaction")
    await asyncio.sleep(0.2)
    tx = sim.connector(1).transaction
    tx.transaction_id = -7  # as before the answer is taken in
    asyncio.get_running_loop().call_later(0.1, setattr, tx, "transaction_id", 100)
    answer = await cs.call(call.RemoteStopTransaction(transaction_id=100))
    assert answer.status == "Accepted"
    assert (await cs.call(call.RemoteStopTransaction(transaction_id=999))).status == "Rejected"


async def test_no_start_after_remote_start_defect(cs, make_sim):
    sim = await make_sim(defects={d.NO_START_AFTER_REMOTE_START})
    await sim.plug_in(1)
    answer = await cs.call(call.RemoteStartTransaction(id_tag="R", connector_id=1))
    assert answer.status == "Accepted"
    await cs.assert_none("StartTransaction", within=1.0)


async def test_ev_suspend_and_resume(cs, make_sim):
    sim = await make_sim()
    await sim.plug_in(1)
    await sim.present_tag(1, "TAG1")
    await cs.wait_for("StatusNotification", status_of(1, "Charging"))
    await sim.ev_suspend(1)
    await cs.wait_for("StatusNotification", status_of(1, "SuspendedEV"))
    await sim.ev_resume(1)
    await cs.wait_for("StatusNotification", status_of(1, "Charging"), count=2)
    await sim.evse_suspend(1)
    await cs.wait_for("StatusNotification", status_of(1, "SuspendedEVSE"))


async def test_cached_tag_starts_offline_and_clear_cache_empties_it(cs, make_sim):
    sim = await make_sim()
    await sim.plug_in(1)
    await sim.present_tag(1, "TAG1")
    await sim.present_tag(1, "TAG1")
    await cs.wait_for("StopTransaction")
    assert "TAG1" in sim.auth_cache
    assert (await cs.call(call.ClearCache())).status == "Accepted"
    assert sim.auth_cache == {}
    await sim.go_offline(60)
    await sim.present_tag(1, "TAG1")
    assert sim.connectors[1].transaction is None  # unknown offline: not allowed


async def test_clear_cache_rejected_defect(cs, make_sim):
    sim = await make_sim(defects={d.CLEAR_CACHE_REJECTED})
    await sim.plug_in(1)
    await sim.present_tag(1, "TAG1")
    assert (await cs.call(call.ClearCache())).status == "Rejected"
    assert "TAG1" in sim.auth_cache


async def test_reservation_reserves_the_connector(cs, make_sim):
    sim = await make_sim()
    answer = await cs.call(
        call.ReserveNow(
            connector_id=1, expiry_date="2099-01-01T00:00:00Z", id_tag="RES", reservation_id=7
        )
    )
    assert answer.status == "Accepted"
    await cs.wait_for("StatusNotification", status_of(1, "Reserved"))
    await sim.plug_in(1)
    await sim.present_tag(1, "OTHER")
    assert sim.connectors[1].transaction is None
    await sim.present_tag(1, "RES")
    start = (await cs.wait_for("StartTransaction"))[0].payload
    assert start["reservationId"] == 7


async def test_defect_stops_transactions_by_itself_ends_them_with_reason_local(cs, make_sim):
    sim = await make_sim(defects={d.STOPS_TRANSACTIONS_BY_ITSELF})
    sim.timing.auto_stop_after = 0.5
    await sim.plug_in(1)
    await sim.present_tag(1, "TAG1")
    await cs.wait_for("StartTransaction")
    stop = (await cs.wait_for("StopTransaction", timeout=5))[0]
    assert stop.payload["reason"] == "Local"
    assert sim.connectors[1].transaction is None


async def test_without_the_defect_a_transaction_runs_on(cs, make_sim):
    sim = await make_sim()
    sim.timing.auto_stop_after = 0.5
    await sim.plug_in(1)
    await sim.present_tag(1, "TAG1")
    await cs.wait_for("StartTransaction")
    await cs.assert_none("StopTransaction", within=1.0)


async def test_defect_finishing_rejects_remote_start_until_available(cs, make_sim):
    sim = await make_sim(defects={d.FINISHING_REJECTS_REMOTE_START})
    sim.timing.finishing_hold = 1.0
    await sim.plug_in(1)
    await sim.present_tag(1, "TAG1")
    await cs.wait_for("StartTransaction")
    since = cs.mark()
    await sim.present_tag(1, "TAG1")  # stop
    await sim.unplug(1)
    await cs.wait_for("StatusNotification", status_of(1, "Finishing"), since=since)
    early = await cs.call(call.RemoteStartTransaction(connector_id=1, id_tag="TAG1"))
    assert early.status == "Rejected"
    assert sim.connectors[1].status == "Finishing"  # the cable is out, and still Finishing
    await cs.wait_for("StatusNotification", status_of(1, "Available"), since=since, timeout=3)
    later = await cs.call(call.RemoteStartTransaction(connector_id=1, id_tag="TAG1"))
    assert later.status == "Accepted"


async def test_defect_live_meter_values_first_goes_ahead_of_the_queue(cs, make_sim):
    sim = await make_sim(
        configuration={"MeterValueSampleInterval": "1"}, defects={d.LIVE_METER_VALUES_FIRST}
    )
    await sim.plug_in(1)
    await sim.present_tag(1, "TAG1")
    await cs.wait_for("StartTransaction")
    await asyncio.sleep(0.2)
    await sim.go_offline(2)
    back = cs.mark()
    await asyncio.sleep(1.2)
    await sim.present_tag(1, "TAG1")  # stopped offline: queued
    await sim.wait_online(timeout=6)
    await cs.wait_for("StopTransaction", since=back)
    sent = [f for f in cs.calls(since=back) if f.action in ("MeterValues", "StopTransaction")]
    live = [f for f in sent if "transactionId" not in f.payload]  # no transaction runs now
    queued = [f for f in sent if f.action == "MeterValues" and "transactionId" in f.payload]
    assert live and queued
    assert sent.index(live[0]) == 0 and sent[-1].action == "StopTransaction"
    stamp = lambda f: f.payload["meterValue"][0]["timestamp"]  # noqa: E731
    assert min(map(stamp, live)) > max(map(stamp, queued))
