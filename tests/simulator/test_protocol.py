"""Bad input from a Central System gets the OCPP-J 1.6 CALLERROR a charger should send."""

from __future__ import annotations

import json

import pytest

from simulator import defects as d

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('[2,"m1","ChangeConfiguration",{"key":"HeartbeatInterval"', "FormationViolation"),
        (
            '[2,"m2","ChangeConfiguration",{"key":"HeartbeatInterval"}]',
            "OccurenceConstraintViolation",
        ),
        ('[2,"m3","ChangeConfiguration",{"key":"A","value":"1","extra":1}]', "FormationViolation"),
        ('[2,"m4","ChangeConfiguration",{"key":5,"value":"1"}]', "TypeConstraintViolation"),
        ('[2,"m5","Reset",{"type":"Medium"}]', "PropertyConstraintViolation"),
        ('[2,"m6","Reset",[]]', "FormationViolation"),
        ('[2,"m7","Reset"]', "ProtocolError"),
        ('[2,"m8","MakeCoffee",{}]', "NotImplemented"),
        ('[2,"m9","SendLocalList",{"listVersion":1,"updateType":"Full"}]', "NotSupported"),
        (
            '[2,"m10","UpdateFirmware",{"location":"http://x/f","retrieveDate":"tomorrow"}]',
            "TypeConstraintViolation",
        ),
        (
            '[2,"m11","ChangeConfiguration",{"key":"' + "K" * 60 + '","value":"1"}]',
            "TypeConstraintViolation",
        ),
    ],
)
async def test_invalid_calls_get_ocpp16_call_errors(cs, make_sim, frame, code):
    sim = await make_sim()
    answer = await cs.send_raw(frame)
    assert answer.message_type == 4
    assert json.loads(answer.raw)[2] == code
    assert sim.online.is_set()  # the connection stays up


async def test_unparseable_frame_without_id_is_ignored(cs, make_sim):
    sim = await make_sim()
    mark = cs.mark()
    await cs._sockets["CP1"].send("not json at all")
    await cs.send_raw('[2,"after","ClearCache",{}]')
    assert [f.unique_id for f in cs.frames[mark:] if f.direction == "in"] == ["after"]
    assert sim.online.is_set()


async def test_schema_invalid_frames_defect(cs, make_sim):
    cs.expect_call_errors = True
    await make_sim(defects={d.SCHEMA_INVALID_FRAMES}, wait=False)
    frames = await cs.wait_for("StatusNotification", count=3)
    payload = frames[0].payload
    assert payload["errorCode"] == "noError" and isinstance(payload["connectorId"], str)
    # The recording CS (the ocpp library) rejects them: a CertLab verdict would too.
    answers = [f for f in cs.frames if f.direction == "out" and f.message_type == 4]
    assert answers
