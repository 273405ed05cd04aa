"""ChangeAvailability, Reset, power cycle, faults, UnlockConnector and TriggerMessage."""

from __future__ import annotations

import asyncio
import json

import pytest
from ocpp.v16 import call

from simulator import defects as d

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


def status_of(connector: int, status: str, error: str = "NoError"):
    return lambda p: (p["connectorId"], p["status"], p["errorCode"]) == (connector, status, error)


async def start_charging(sim, cs, connector=1):
    await sim.plug_in(connector)
    await sim.present_tag(connector, "TAG1")
    await cs.wait_for("StartTransaction")
    await asyncio.sleep(0.1)


async def test_inoperative_then_operative_per_connector(cs, make_sim):
    await make_sim()
    since = cs.mark()
    answer = await cs.call(call.ChangeAvailability(connector_id=0, type="Inoperative"))
    assert answer.status == "Accepted"
    frames = await cs.wait_for(
        "StatusNotification", lambda p: p["status"] == "Unavailable", since=since, count=3
    )
    assert sorted(f.payload["connectorId"] for f in frames) == [0, 1, 2]
    answer = await cs.call(call.ChangeAvailability(connector_id=2, type="Operative"))
    await cs.wait_for("StatusNotification", status_of(2, "Available"), since=since)


async def test_inoperative_is_scheduled_while_charging(cs, make_sim):
    sim = await make_sim()
    await start_charging(sim, cs)
    answer = await cs.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert answer.status == "Scheduled"
    await sim.present_tag(1, "TAG1")
    await cs.wait_for("StatusNotification", status_of(1, "Unavailable"))


async def test_no_status_on_availability_change_defect(cs, make_sim):
    sim = await make_sim(defects={d.NO_STATUS_ON_AVAILABILITY_CHANGE})
    since = cs.mark()
    await cs.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
    await cs.assert_none("StatusNotification", within=0.5, since=since)
    assert sim.connectors[1].status == "Unavailable"


@pytest.mark.parametrize(("kind", "reason"), [("Soft", "SoftReset"), ("Hard", "HardReset")])
async def test_reset_stops_transactions_and_boots_again(cs, make_sim, kind, reason):
    sim = await make_sim()
    await start_charging(sim, cs)
    since = cs.mark()
    assert (await cs.call(call.Reset(type=kind))).status == "Accepted"
    stop = (await cs.wait_for("StopTransaction", since=since))[0]
    assert stop.payload["reason"] == reason
    boot = (await cs.wait_for("BootNotification", since=since))[0]
    assert cs.frames.index(stop) < cs.frames.index(boot)
    assert boot.connection == 2
    await cs.wait_for("StatusNotification", since=cs.frames.index(boot), count=3)


async def test_unavailability_survives_a_reset(cs, make_sim):
    await make_sim()
    await cs.call(call.ChangeAvailability(connector_id=1, type="Inoperative"))
    since = cs.mark()
    await cs.call(call.Reset(type="Hard"))
    await cs.wait_for("BootNotification", since=since)
    await cs.wait_for("StatusNotification", status_of(1, "Unavailable"), since=since)


async def test_no_reboot_after_reset_defect(cs, make_sim):
    await make_sim(defects={d.NO_REBOOT_AFTER_RESET})
    since = cs.mark()
    assert (await cs.call(call.Reset(type="Hard"))).status == "Accepted"
    await cs.assert_none("BootNotification", within=1.5, since=since)


async def test_power_cycle_reports_power_loss_after_the_boot(cs, make_sim):
    sim = await make_sim()
    await start_charging(sim, cs)
    since = cs.mark()
    await sim.power_cycle()
    boot = (await cs.wait_for("BootNotification", since=since))[0]
    stop = (await cs.wait_for("StopTransaction", since=since))[0]
    assert stop.payload["reason"] == "PowerLoss"
    assert cs.frames.index(boot) < cs.frames.index(stop)


async def test_fault_and_clear_on_a_connector_and_on_the_station(cs, make_sim):
    sim = await make_sim()
    await sim.fault(1, "GroundFailure")
    await cs.wait_for("StatusNotification", status_of(1, "Faulted", "GroundFailure"))
    await sim.fault(0, "OtherError", info="cabinet door open")
    frame = (await cs.wait_for("StatusNotification", status_of(0, "Faulted", "OtherError")))[0]
    assert frame.payload["info"] == "cabinet door open"
    await sim.plug_in(1)
    await sim.present_tag(1, "TAG1")
    await cs.assert_none("StartTransaction", within=0.3)
    await sim.clear_fault(1)
    await cs.wait_for("StatusNotification", status_of(1, "Preparing"))


async def test_fault_during_a_transaction_stops_it(cs, make_sim):
    sim = await make_sim()
    await start_charging(sim, cs)
    await sim.fault(1, "OverCurrentFailure")
    stop = (await cs.wait_for("StopTransaction"))[0]
    assert stop.payload["reason"] == "Other"


async def test_unlock_connector(cs, make_sim):
    sim = await make_sim()
    await start_charging(sim, cs)
    assert (await cs.call(call.UnlockConnector(connector_id=1))).status == "Unlocked"
    stop = (await cs.wait_for("StopTransaction"))[0]
    assert stop.payload["reason"] == "UnlockCommand"
    assert (await cs.call(call.UnlockConnector(connector_id=9))).status == "NotSupported"
    await sim.fault(2, "ConnectorLockFailure")
    assert (await cs.call(call.UnlockConnector(connector_id=2))).status == "UnlockFailed"


@pytest.mark.parametrize(
    ("message", "connector", "expect", "where"),
    [
        ("BootNotification", None, "BootNotification", None),
        ("Heartbeat", None, "Heartbeat", None),
        ("StatusNotification", 1, "StatusNotification", lambda p: p["connectorId"] == 1),
        (
            "MeterValues",
            1,
            "MeterValues",
            lambda p: p["meterValue"][0]["sampledValue"][0]["context"] == "Trigger",
        ),
        (
            "DiagnosticsStatusNotification",
            None,
            "DiagnosticsStatusNotification",
            lambda p: p["status"] == "Idle",
        ),
        (
            "FirmwareStatusNotification",
            None,
            "FirmwareStatusNotification",
            lambda p: p["status"] == "Idle",
        ),
    ],
)
async def test_trigger_message(cs, make_sim, message, connector, expect, where):
    await make_sim()
    since = cs.mark()
    answer = await cs.call(call.TriggerMessage(requested_message=message, connector_id=connector))
    assert answer.status == "Accepted"
    await cs.wait_for(expect, where, since=since, timeout=3)


async def test_trigger_for_an_unknown_connector_is_rejected(cs, make_sim):
    await make_sim()
    answer = await cs.call(
        call.TriggerMessage(requested_message="StatusNotification", connector_id=7)
    )
    assert answer.status == "Rejected"


async def test_trigger_message_ignored_defect(cs, make_sim):
    await make_sim(defects={d.TRIGGER_MESSAGE_IGNORED})
    since = cs.mark()
    answer = await cs.call(call.TriggerMessage(requested_message="StatusNotification"))
    assert answer.status == "Accepted"
    await cs.assert_none("StatusNotification", within=1.0, since=since)


async def test_trigger_of_an_unknown_message_is_not_implemented(cs, make_sim):
    await make_sim()
    answer = await cs.send_raw('[2,"t1","TriggerMessage",{"requestedMessage":"SignCertificate"}]')
    assert answer.message_type == 3 and answer.payload == {"status": "NotImplemented"}
    bad = await cs.send_raw('[2,"t2","TriggerMessage",{"requestedMessage":"Heartbeat","x":1}]')
    assert json.loads(bad.raw)[2] == "FormationViolation"
