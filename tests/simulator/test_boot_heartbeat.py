"""Boot, heartbeat and connection behaviour as a Central System sees them."""

from __future__ import annotations

import asyncio
import base64
import itertools

import pytest
from ocpp.v16 import call

from simulator import defects as d

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


async def test_boot_notification_carries_every_optional_field(cs, make_sim):
    await make_sim(
        serial="SN-42",
        iccid="ICC-1",
        imsi="IMSI-1",
        firmware="3.2.1",
        meter_type="MT",
        meter_serial="MS-9",
        vendor="ACME",
        model="X1",
    )
    boot = cs.payloads("BootNotification")[0]
    assert boot == {
        "chargePointVendor": "ACME",
        "chargePointModel": "X1",
        "chargePointSerialNumber": "SN-42",
        "chargeBoxSerialNumber": "SN-42",
        "firmwareVersion": "3.2.1",
        "iccid": "ICC-1",
        "imsi": "IMSI-1",
        "meterType": "MT",
        "meterSerialNumber": "MS-9",
    }
    assert cs.connections[0]["subprotocol"] == "ocpp1.6"


async def test_boot_then_status_for_connector_zero_and_each_connector(cs, make_sim):
    await make_sim(connectors=3)
    statuses = await cs.wait_for("StatusNotification", count=4)
    assert sorted(p.payload["connectorId"] for p in statuses) == [0, 1, 2, 3]
    assert {p.payload["status"] for p in statuses} == {"Available"}
    assert all(p.payload["errorCode"] == "NoError" for p in statuses)


async def test_password_is_sent_as_http_basic_auth(cs, make_sim):
    await make_sim(password="s3cret")
    token = base64.b64encode(b"CP1:s3cret").decode()
    assert cs.connections[0]["authorization"] == f"Basic {token}"


@pytest.mark.parametrize("status", ["Rejected", "Pending"])
async def test_boot_retried_only_after_the_interval(cs, make_sim, status):
    cs.boot_answers = [(status, 2)]
    await make_sim()
    first, second = cs.calls("BootNotification")[:2]
    assert second.at - first.at >= 1.9


async def test_no_status_before_the_boot_is_accepted(cs, make_sim):
    cs.boot_answers = [("Rejected", 1)]
    await make_sim()
    second_boot = cs.frames.index(cs.calls("BootNotification")[1])
    assert not [f for f in cs.calls("StatusNotification") if cs.frames.index(f) < second_boot]


@pytest.mark.parametrize(
    ("defect", "missing"),
    [
        (d.BOOT_WITHOUT_SERIAL, {"chargePointSerialNumber", "chargeBoxSerialNumber"}),
        (d.BOOT_WITHOUT_ICCID, {"iccid", "imsi"}),
    ],
)
async def test_boot_defects_leave_fields_out(cs, make_sim, defect, missing):
    await make_sim(defects={defect})
    assert not missing & set(cs.payloads("BootNotification")[0])


async def test_no_modem_defect_sends_an_empty_iccid_and_no_imsi(cs, make_sim):
    await make_sim(defects={d.NO_MODEM})
    boot = cs.payloads("BootNotification")[0]
    assert boot["iccid"] == ""
    assert "imsi" not in boot


async def test_heartbeat_every_interval_from_the_boot_answer(cs, make_sim):
    cs.heartbeat_interval = 1
    await make_sim()
    beats = await cs.wait_for("Heartbeat", count=3, timeout=5)
    gaps = [b.at - a.at for a, b in itertools.pairwise(beats)]
    assert all(0.8 < gap < 1.5 for gap in gaps), gaps


async def test_heartbeat_interval_change_is_reread(cs, make_sim):
    cs.heartbeat_interval = 30
    await make_sim()
    answer = await cs.call(call.ChangeConfiguration(key="HeartbeatInterval", value="1"))
    assert answer.status == "Accepted"
    await cs.wait_for("Heartbeat", count=2, timeout=4)


async def test_triggered_heartbeat(cs, make_sim):
    await make_sim()
    answer = await cs.call(call.TriggerMessage(requested_message="Heartbeat"))
    assert answer.status == "Accepted"
    await cs.wait_for("Heartbeat", timeout=2)


async def test_no_heartbeat_defect(cs, make_sim):
    cs.heartbeat_interval = 1
    await make_sim(defects={d.NO_HEARTBEAT})
    await cs.assert_none("Heartbeat", within=2.5)


async def test_ignore_heartbeat_interval_defect_keeps_the_start_interval(cs, make_sim):
    cs.heartbeat_interval = 1
    await make_sim(defects={d.IGNORE_HEARTBEAT_INTERVAL}, configuration={"HeartbeatInterval": "3"})
    await cs.assert_none("Heartbeat", within=2.5)
    await cs.wait_for("Heartbeat", timeout=2)


async def test_reconnects_with_backoff_while_the_central_system_is_down(cs, make_sim):
    await cs.stop()
    sim = await make_sim(wait=False)
    await asyncio.sleep(1.5)
    assert not sim.online.is_set()
    await cs.start()
    await sim.wait_online(timeout=5)
    assert cs.payloads("BootNotification")


async def test_plain_reconnect_sends_no_boot_notification(cs, make_sim):
    sim = await make_sim()
    await sim.go_offline(0.5)
    await asyncio.sleep(0.1)
    await sim.wait_online(timeout=5)
    assert len(cs.connections) == 2
    assert len(cs.calls("BootNotification")) == 1


async def test_pending_station_accepted_by_a_triggered_boot(cs, make_sim):
    cs.boot_answers = [("Pending", 20)]
    sim = await make_sim(wait=False)
    await cs.wait_for("BootNotification")
    await asyncio.sleep(0.2)
    answer = await cs.call(call.TriggerMessage(requested_message="BootNotification"))
    assert answer.status == "Accepted"
    await sim.wait_online(timeout=3)
    await cs.wait_for("StatusNotification", count=3)
    assert len(cs.calls("BootNotification")) == 2
