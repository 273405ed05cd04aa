"""GetConfiguration / ChangeConfiguration and configuration persistence."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

from simulator import defects as d

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

CORE_KEYS = {
    "AuthorizeRemoteTxRequests": False,
    "ClockAlignedDataInterval": False,
    "ConnectionTimeOut": False,
    "GetConfigurationMaxKeys": True,
    "HeartbeatInterval": False,
    "LocalAuthorizeOffline": False,
    "LocalPreAuthorize": False,
    "MeterValuesAlignedData": False,
    "MeterValuesSampledData": False,
    "MeterValueSampleInterval": False,
    "NumberOfConnectors": True,
    "ResetRetries": False,
    "ConnectorPhaseRotation": False,
    "StopTransactionOnEVSideDisconnect": False,
    "StopTransactionOnInvalidId": False,
    "StopTxnAlignedData": False,
    "StopTxnSampledData": False,
    "SupportedFeatureProfiles": True,
    "TransactionMessageAttempts": False,
    "TransactionMessageRetryInterval": False,
    "UnlockConnectorOnEVSideDisconnect": False,
}


async def test_get_configuration_lists_core_keys_with_readonly_flags(cs, make_sim):
    await make_sim(connectors=2)
    answer = await cs.call(call.GetConfiguration())
    keys = {entry["key"]: entry for entry in answer.configuration_key}
    for key, readonly in CORE_KEYS.items():
        assert keys[key]["readonly"] is readonly, key
    assert keys["NumberOfConnectors"]["value"] == "2"
    profiles = keys["SupportedFeatureProfiles"]["value"].split(",")
    assert {"Core", "FirmwareManagement", "RemoteTrigger"} <= set(profiles)
    assert answer.unknown_key is None


async def test_get_configuration_names_unknown_keys(cs, make_sim):
    await make_sim()
    answer = await cs.call(call.GetConfiguration(key=["HeartbeatInterval", "NoSuchKey"]))
    assert [entry["key"] for entry in answer.configuration_key] == ["HeartbeatInterval"]
    assert answer.unknown_key == ["NoSuchKey"]


@pytest.mark.parametrize(
    ("key", "value", "status"),
    [
        ("MeterValueSampleInterval", "15", "Accepted"),
        ("MeterValueSampleInterval", "-5", "Rejected"),
        ("MeterValueSampleInterval", "often", "Rejected"),
        ("AuthorizeRemoteTxRequests", "maybe", "Rejected"),
        ("MeterValuesSampledData", "Voltage,Nonsense", "Rejected"),
        ("NumberOfConnectors", "4", "Rejected"),
        ("NoSuchKey", "1", "NotSupported"),
        ("WebSocketPingInterval", "30", "RebootRequired"),
    ],
)
async def test_change_configuration_answers(cs, make_sim, key, value, status):
    await make_sim()
    answer = await cs.call(call.ChangeConfiguration(key=key, value=value))
    assert answer.status == status


async def test_changed_value_reads_back(cs, make_sim):
    await make_sim()
    await cs.call(call.ChangeConfiguration(key="MeterValueSampleInterval", value="17"))
    answer = await cs.call(call.GetConfiguration(key=["MeterValueSampleInterval"]))
    assert answer.configuration_key[0]["value"] == "17"


async def test_configuration_survives_a_restart(cs, make_sim):
    sim = await make_sim()
    await cs.call(call.ChangeConfiguration(key="ConnectionTimeOut", value="42"))
    await sim.stop()
    await make_sim()
    answer = await cs.call(call.GetConfiguration(key=["ConnectionTimeOut"]))
    assert answer.configuration_key[0]["value"] == "42"


async def test_missing_keys_defect(cs, make_sim):
    await make_sim(defects={d.GET_CONFIGURATION_MISSING_KEYS})
    answer = await cs.call(call.GetConfiguration())
    keys = {entry["key"] for entry in answer.configuration_key}
    assert "HeartbeatInterval" not in keys
    assert "MeterValueSampleInterval" not in keys
    named = await cs.call(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert named.unknown_key == ["HeartbeatInterval"]


async def test_change_configuration_not_supported_defect(cs, make_sim):
    await make_sim(defects={d.CHANGE_CONFIGURATION_NOT_SUPPORTED})
    answer = await cs.call(call.ChangeConfiguration(key="HeartbeatInterval", value="30"))
    assert answer.status == "NotSupported"


async def test_accept_any_value_defect_stores_a_heartbeat_interval_that_is_no_number(cs, make_sim):
    await make_sim(defects={d.ACCEPT_ANY_CONFIGURATION_VALUE})
    answer = await cs.call(call.ChangeConfiguration(key="HeartbeatInterval", value="abc"))
    assert answer.status == "Accepted"
    read = await cs.call(call.GetConfiguration(key=["HeartbeatInterval"]))
    assert read.configuration_key[0]["value"] == "abc"
    # Still a station: read-only keys stay read-only, and it keeps answering.
    answer = await cs.call(call.ChangeConfiguration(key="NumberOfConnectors", value="9"))
    assert answer.status == "Rejected"
    answer = await cs.call(call.ChangeConfiguration(key="HeartbeatInterval", value="300"))
    assert answer.status == "Accepted"


async def test_readonly_unlock_defect_lists_the_key_readonly_and_rejects_a_change(cs, make_sim):
    await make_sim(defects={d.READONLY_UNLOCK_ON_EV_SIDE_DISCONNECT})
    read = await cs.call(call.GetConfiguration(key=["UnlockConnectorOnEVSideDisconnect"]))
    assert read.configuration_key[0]["readonly"] is True
    answer = await cs.call(
        call.ChangeConfiguration(key="UnlockConnectorOnEVSideDisconnect", value="false")
    )
    assert answer.status == "Rejected"
    full = await cs.call(call.GetConfiguration())
    flags = {e["key"]: e["readonly"] for e in full.configuration_key}
    assert flags["UnlockConnectorOnEVSideDisconnect"] is True
    assert flags["StopTransactionOnEVSideDisconnect"] is False
