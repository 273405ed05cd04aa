"""Bad input gets its OCPP-J 1.6 answer, is logged, and the connection lives on."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async

from stations.models import Connection, Frame
from tests.stations.conftest import ChargePoint
from tests.stations.test_ocpp_endpoint import frames_of

pytestmark = pytest.mark.django_db(transaction=True)
FORMATION = "FormationViolation"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('[2,"e1","Heartbeat",{"extra":1}]', "FormationViolation"),
        ('[2,"e1","Heartbeat",[]]', "FormationViolation"),
        ('[2,"e1","Authorize",{}]', "OccurenceConstraintViolation"),
        ('[2,"e1","Authorize",{"idTag":123}]', "TypeConstraintViolation"),
        (
            '[2,"e1","Authorize",{"idTag":"ABCDEFGHIJKLMNOPQRSTUVWXYZ"}]',
            "PropertyConstraintViolation",
        ),
        (
            '[2,"e1","StatusNotification",{"connectorId":1,"errorCode":"NoError",'
            '"status":"Sleeping"}]',
            "PropertyConstraintViolation",
        ),
        (
            '[2,"e1","StatusNotification",{"connectorId":1,"errorCode":"NoError",'
            '"status":"Available","timestamp":"yesterday"}]',
            "PropertyConstraintViolation",
        ),
        ('[2,"e1","Heartbeat"]', "ProtocolError"),
        ('[2,"e1","FlyToTheMoon",{}]', "NotImplemented"),
        ('[2,"e1","Reset",{"type":"Soft"}]', "NotSupported"),
        ('[2,"e1","Heartbeat",{', "FormationViolation"),
        ('[9,"e1","Heartbeat",{}]', "PropertyConstraintViolation"),
        # What once escaped the frame path (neither logged nor answered):
        ('[2,"e1","Heartbeat",' + "[" * 30000 + "]" * 30000 + "]", "FormationViolation"),
        ('[{"a":1},"e1","Heartbeat",{}]', "PropertyConstraintViolation"),
        ('[[],"e1","Heartbeat",{}]', "PropertyConstraintViolation"),
        ('[2,"e1","DataTransfer",{"vendorId":"x","data":' + "9" * 4400 + "}]", FORMATION),
        ('[2,"e1","DataTransfer",{"vendorId":"\\ud800"}]', "FormationViolation"),
        ('[2,"e1","DataTransfer",{"vendorId":"x","data":"\\x41"}]', "FormationViolation"),
        # OCPP 1.6's integers are 32-bit; connectors are numbered from 0.
        (
            '[2,"e1","StatusNotification",{"connectorId":2147483648,"errorCode":"NoError",'
            '"status":"Available"}]',
            "TypeConstraintViolation",
        ),
        (
            '[2,"e1","StatusNotification",{"connectorId":-1,"errorCode":"NoError",'
            '"status":"Available"}]',
            "PropertyConstraintViolation",
        ),
        (
            '[2,"e1","StartTransaction",{"connectorId":40000,"idTag":"T","meterStart":0,'
            '"timestamp":"2026-12-01T12:00:00Z"}]',
            "PropertyConstraintViolation",
        ),
        ('[2,"e1","' + "A" * 100 + '",{}]', "NotImplemented"),
    ],
)
async def test_bad_frame_gets_its_16_error_code_and_is_logged(cp, station, frame, code):
    await cp.send_raw(frame)
    answer = await cp.receive()
    assert answer[:3] == [4, "e1", code]
    assert len(answer) == 5 and isinstance(answer[4], dict)
    # The connection lives on.
    assert (await cp.call("Heartbeat", {}))[0] == 3
    logged = (await frames_of(station))[0]
    assert logged.raw == frame and logged.direction == "in" and logged.has_error
    assert logged.error.startswith(code)


async def test_malformed_json_without_an_id_is_logged_and_not_answered(cp, station):
    await cp.send_raw("hello, central system")
    assert await cp.comm.receive_nothing(0.2)
    assert (await cp.call("Heartbeat", {}))[0] == 3
    logged = (await frames_of(station))[0]
    assert (logged.message_type, logged.raw) == ("invalid", "hello, central system")
    assert "Malformed JSON" in logged.error


async def test_response_to_an_unknown_unique_id_is_logged_as_such(cp, station):
    await cp.send_raw('[3,"never-asked",{"status":"Accepted"}]')
    assert await cp.comm.receive_nothing(0.2)
    logged = (await frames_of(station))[0]
    assert logged.message_type == "CALLRESULT" and logged.unique_id == "never-asked"
    assert logged.error == "Response to unknown unique id"


async def test_frame_over_the_size_cap_closes_with_a_logged_reason(cp, station, settings):
    settings.CERTLAB_OCPP_MAX_FRAME_BYTES = 2048
    await cp.send_raw(json.dumps([2, "big", "DataTransfer", {"vendorId": "x", "data": "y" * 3000}]))
    closed = await cp.comm.receive_output(2)
    assert (closed["type"], closed["code"]) == ("websocket.close", 1009)
    await cp.close()
    connection = await sync_to_async(Connection.objects.get)(station=station)
    assert (connection.end_reason, connection.close_code) == ("certlab", 1009)
    assert connection.close_reason.startswith("closed by CertLab: frame of 3")
    assert "2048-byte cap" in connection.close_reason
    logged = await sync_to_async(Frame.objects.get)(station=station)
    assert logged.error.startswith("Closed: frame of")


async def test_second_connection_with_the_same_id_closes_the_first(cp, station):
    second = ChargePoint(station.charge_point_id)
    assert await second.connect()
    closed = await cp.comm.receive_output(2)
    assert closed["type"] == "websocket.close"
    await cp.close()
    assert (await second.call("Heartbeat", {}))[0] == 3
    await second.close()
    first = await sync_to_async(Connection.objects.filter(station=station).earliest)("opened")
    assert first.close_reason == "replaced by a new connection with the same id"
    assert first.end_reason == "replaced"


async def test_nul_characters_do_not_cost_the_frame_log_a_batch(cp, station):
    await cp.send_raw('[2,"n1","DataTransfer",{"vendorId":"x","data":"a\\u0000b"}]')
    await cp.receive()
    await cp.send_raw('[2,"n2","Heartbeat",{}]\x00')
    await cp.receive()
    assert len(await frames_of(station)) == 4


async def test_a_frame_with_an_unreadable_unique_id_is_logged_with_why_and_not_answered(
    cp, station
):
    await cp.send_raw('[2,"a\\x","Heartbeat",{}]')  # an invalid escape inside the id
    assert await cp.comm.receive_nothing(0.2)
    assert (await cp.call("Heartbeat", {}))[0] == 3
    logged = (await frames_of(station))[0]
    assert logged.raw == '[2,"a\\x","Heartbeat",{}]' and logged.message_type == "invalid"
    assert logged.error.startswith("FormationViolation: Malformed JSON: Invalid \\escape")


async def test_a_number_jsonb_cannot_hold_keeps_the_raw_text_and_no_payload(cp, station):
    raw = '[2,"e1","DataTransfer",{"vendorId":"x","data":1e999999}]'
    await cp.send_raw(raw)
    assert (await cp.receive())[:3] == [4, "e1", "TypeConstraintViolation"]
    logged = (await frames_of(station))[0]
    assert (logged.raw, logged.payload) == (raw, None)


async def test_a_binary_frame_is_logged_in_its_turn_and_answered_formation_violation(cp, station):
    await cp.send_raw('[2,"t1","Heartbeat",{}]')
    await cp.comm.send_to(bytes_data=b'[2,"b1","Heartbeat",{}]')
    assert (await cp.receive())[:2] == [3, "t1"]
    answer = await cp.receive()
    assert answer[:3] == [4, "b1", "FormationViolation"] and "Binary" in answer[3]
    logged = await frames_of(station)
    assert [(f.direction, f.unique_id) for f in logged] == [
        ("in", "t1"),
        ("out", "t1"),
        ("in", "b1"),
        ("out", "b1"),
    ]
    assert logged[2].raw == '[2,"b1","Heartbeat",{}]' and logged[2].message_type == "invalid"


async def test_a_unique_id_made_of_bytes_that_are_not_utf8_is_not_answered(cp, station):
    await cp.comm.send_to(bytes_data=b'[2,"id\xff","Heartbeat",{}]')
    assert await cp.comm.receive_nothing(0.2)  # "id\ufffd" would be an id nobody sent
    assert (await cp.call("Heartbeat", {}))[0] == 3
    logged = (await frames_of(station))[0]
    assert logged.raw == '[2,"id\ufffd","Heartbeat",{}]' and logged.message_type == "invalid"
