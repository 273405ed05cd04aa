"""The OCPP endpoint: who may connect, the answers to the 10 station-initiated actions, and what
the Central System keeps of them."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from stations import frame_log
from stations.models import (
    AuthorizationTag,
    Connection,
    ConnectorStatus,
    Frame,
    MeterValue,
    PendingStation,
    StationLive,
    StationSettings,
    Transaction,
)
from tests.stations.conftest import ChargePoint

pytestmark = pytest.mark.django_db(transaction=True)

BOOT = {
    "chargePointVendor": "Hakon",
    "chargePointModel": "HK-AE2",
    "firmwareVersion": "V1.0.3",
    "chargePointSerialNumber": "SN1",
    "iccid": "8931440400000000001",
    "meterType": "DZG",
}


async def frames_of(station):
    await frame_log.flush()
    return await sync_to_async(list)(Frame.objects.filter(station=station).order_by("id"))


async def test_connection_without_ocpp16_subprotocol_is_refused(memory_layer, station):
    cp = ChargePoint(station.charge_point_id, subprotocols=("ocpp2.0.1",))
    assert not await cp.connect()


async def test_unknown_station_is_refused_by_default(memory_layer, db):
    cp = ChargePoint("NOBODY-1")
    assert not await cp.connect()
    assert not await sync_to_async(PendingStation.objects.exists)()


async def test_unknown_station_becomes_pending_when_allowed(memory_layer, db, settings):
    settings.CERTLAB_ALLOW_UNKNOWN_STATIONS = True
    cp = ChargePoint("NEWCOMER-1")
    assert await cp.connect()
    answer = await cp.call("BootNotification", BOOT)
    assert answer[2]["status"] == "Pending"
    other = await cp.call("Authorize", {"idTag": "X"})
    assert other[0] == 4 and other[2] == "SecurityError"
    await cp.close()
    pending = await sync_to_async(PendingStation.objects.get)(charge_point_id="NEWCOMER-1")
    assert pending.boot_payload["chargePointVendor"] == "Hakon"


@pytest.mark.parametrize(
    ("password", "reason"),
    [(None, "refused: no basic-auth credentials"), ("wrong", "refused: wrong basic-auth password")],
)
async def test_basic_auth_refusal_is_logged(memory_layer, station, password, reason):
    station.set_password("s3cret-s3cret")
    await sync_to_async(station.save)()
    cp = ChargePoint(station.charge_point_id, password=password)
    assert not await cp.connect()
    refused = await sync_to_async(Connection.objects.get)(station=station)
    assert refused.refused and refused.close_reason == reason


async def test_basic_auth_with_the_right_password_connects(memory_layer, station):
    station.set_password("s3cret-s3cret")
    await sync_to_async(station.save)()
    cp = ChargePoint(station.charge_point_id, password="s3cret-s3cret")
    assert await cp.connect()
    assert cp.subprotocol == "ocpp1.6"
    await cp.close()


async def test_boot_is_answered_with_the_stations_setting_and_recorded(cp, station):
    await sync_to_async(StationSettings.objects.create)(
        station=station, boot_status="Rejected", heartbeat_interval=42
    )
    answer = await cp.call("BootNotification", BOOT)
    assert answer[0] == 3
    assert answer[2]["status"] == "Rejected" and answer[2]["interval"] == 42
    live = await sync_to_async(StationLive.objects.get)(station=station)
    assert (live.charge_point_vendor, live.firmware_version, live.meter_type) == (
        "Hakon",
        "V1.0.3",
        "DZG",
    )
    assert live.iccid == "8931440400000000001" and live.connected_since is not None


async def test_boot_defaults_to_accepted_every_300_s(cp):
    answer = await cp.call("BootNotification", BOOT)
    assert answer[2]["status"] == "Accepted" and answer[2]["interval"] == 300


async def test_every_frame_is_logged_with_its_action_and_connection(cp, station):
    await cp.call("Heartbeat", {}, unique_id="hb-1")
    frames = await frames_of(station)
    assert [(f.direction, f.message_type, f.action, f.unique_id) for f in frames] == [
        ("in", "CALL", "Heartbeat", "hb-1"),
        ("out", "CALLRESULT", "Heartbeat", "hb-1"),
    ]
    assert frames[0].raw == '[2, "hb-1", "Heartbeat", {}]'
    assert frames[1].payload["currentTime"].endswith("Z")
    assert frames[0].connection_id is not None and frames[0].timestamp.microsecond is not None


async def test_status_notification_keeps_every_connector_including_zero(cp, station):
    for connector, status in ((0, "Available"), (1, "Faulted")):
        answer = await cp.call(
            "StatusNotification",
            {
                "connectorId": connector,
                "errorCode": "GroundFailure" if connector else "NoError",
                "status": status,
                "info": "ground",
                "vendorErrorCode": "E42",
            },
        )
        assert answer[:1] == [3] and answer[2] == {}
    rows = await sync_to_async(list)(ConnectorStatus.objects.filter(station=station))
    assert [(r.connector_id, r.status, r.error_code) for r in rows] == [
        (0, "Available", "NoError"),
        (1, "Faulted", "GroundFailure"),
    ]
    assert rows[1].vendor_error_code == "E42" and rows[1].info == "ground"


@pytest.mark.parametrize(
    ("listed", "expected"),
    [("Accepted", "Accepted"), ("Blocked", "Blocked"), ("Expired", "Expired"), (None, "Invalid")],
)
async def test_authorize_answers_from_the_tag_list(cp, listed, expected):
    if listed:
        await sync_to_async(AuthorizationTag.objects.create)(id_tag="TAG1", status=listed)
    answer = await cp.call("Authorize", {"idTag": "TAG1"})
    assert answer[2]["idTagInfo"]["status"] == expected


async def test_a_transaction_gets_a_certlab_id_and_its_meter_values(cp, station):
    await sync_to_async(AuthorizationTag.objects.create)(id_tag="TAG1")
    start = await cp.call(
        "StartTransaction",
        {
            "connectorId": 1,
            "idTag": "TAG1",
            "meterStart": 1000,
            "timestamp": "2025-01-01T10:00:00Z",
        },
    )
    tx_id = start[2]["transactionId"]
    assert start[2]["idTagInfo"]["status"] == "Accepted"
    sample = {
        "timestamp": "2025-01-01T10:05:00Z",
        "sampledValue": [
            {
                "value": "1500",
                "measurand": "Energy.Active.Import.Register",
                "unit": "Wh",
                "context": "Sample.Periodic",
            },
            {"value": "16.1", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
        ],
    }
    meter = await cp.call(
        "MeterValues", {"connectorId": 1, "transactionId": tx_id, "meterValue": [sample]}
    )
    assert meter[2] == {}
    stop = await cp.call(
        "StopTransaction",
        {
            "transactionId": tx_id,
            "meterStop": 2000,
            "timestamp": "2025-01-01T10:10:00Z",
            "idTag": "TAG1",
            "reason": "Remote",
        },
    )
    assert stop[2]["idTagInfo"]["status"] == "Accepted"
    tx = await sync_to_async(Transaction.objects.get)(pk=tx_id)
    assert (tx.station_id, tx.connector_id, tx.meter_start, tx.meter_stop, tx.stop_reason) == (
        station.pk,
        1,
        1000,
        2000,
        "Remote",
    )
    values = await sync_to_async(list)(MeterValue.objects.filter(transaction=tx).order_by("id"))
    assert [(v.measurand, v.phase, v.value, v.context) for v in values] == [
        ("Energy.Active.Import.Register", "", "1500", "Sample.Periodic"),
        ("Current.Import", "L1", "16.1", ""),
    ]


async def test_two_transactions_get_different_ids(cp):
    ids = set()
    for _ in range(2):
        answer = await cp.call(
            "StartTransaction",
            {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "2025-01-01T10:00:00Z"},
        )
        ids.add(answer[2]["transactionId"])
        assert answer[2]["idTagInfo"]["status"] == "Invalid"
    assert len(ids) == 2


async def test_data_transfer_and_status_notifications(cp, station):
    answer = await cp.call("DataTransfer", {"vendorId": "com.example", "data": "x"})
    assert answer[2] == {"status": "UnknownVendorId"}
    assert (await cp.call("FirmwareStatusNotification", {"status": "Downloading"}))[2] == {}
    assert (await cp.call("DiagnosticsStatusNotification", {"status": "Uploaded"}))[2] == {}
    live = await sync_to_async(StationLive.objects.get)(station=station)
    assert (live.firmware_status, live.diagnostics_status) == ("Downloading", "Uploaded")
