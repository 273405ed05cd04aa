"""Remote control by DataTransfer, the stdin command language and the multi-station runner."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from ocpp.v16 import call

from simulator import control, runner
from simulator.defects import ALL_DEFECTS, describe_defects, parse_defects

pytestmark = pytest.mark.timeout(30)


def transfer(message_id: str, data: dict | str | None = None, vendor=control.VENDOR_ID):
    text = json.dumps(data) if isinstance(data, dict) else data
    return call.DataTransfer(vendor_id=vendor, message_id=message_id, data=text)


@pytest.mark.asyncio
async def test_data_transfer_plugs_in_and_starts_a_transaction(cs, make_sim):
    await make_sim()
    answer = await cs.call(transfer("plug_in", {"connector_id": 1}))
    assert answer.status == "Accepted"
    await cs.wait_for("StatusNotification", lambda p: p["status"] == "Preparing")
    answer = await cs.call(transfer("present_tag", {"connector_id": 1, "id_tag": "ABC"}))
    assert answer.status == "Accepted"
    start = (await cs.wait_for("StartTransaction"))[0]
    assert start.payload["idTag"] == "ABC"


@pytest.mark.asyncio
async def test_data_transfer_fault_power_cycle_and_offline(cs, make_sim):
    sim = await make_sim()
    await cs.call(transfer("fault", {"connector_id": 0, "error_code": "HighTemperature"}))
    await cs.wait_for("StatusNotification", lambda p: p["errorCode"] == "HighTemperature")
    await cs.call(transfer("clear_fault", {"connector_id": 0}))
    await cs.wait_for("StatusNotification", lambda p: p["connectorId"] == 0, count=3)
    mark = cs.mark()
    assert (await cs.call(transfer("power_cycle"))).status == "Accepted"
    await cs.wait_for("BootNotification", since=mark)
    await sim.wait_online()
    await cs.call(transfer("go_offline", {"seconds": 1}))
    await asyncio.sleep(0.3)
    assert len(cs.connections) == 2 and not sim.online.is_set()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("message", "status"),
    [
        (transfer("plug_in", {"connector_id": 1}, vendor="Other"), "UnknownVendorId"),
        (transfer("make_coffee", {}), "UnknownMessageId"),
        (transfer("plug_in", "{not json"), "Rejected"),
        (transfer("plug_in", {}), "Rejected"),
        (transfer("plug_in", {"connector_id": "one"}), "Rejected"),
        (transfer("plug_in", {"connector_id": 1, "speed": 3}), "Rejected"),
        (transfer("fault", {"connector_id": 1, "error_code": "Sparks"}), "Rejected"),
    ],
)
async def test_data_transfer_answers(cs, make_sim, message, status):
    sim = await make_sim()
    assert (await cs.call(message)).status == status
    await asyncio.sleep(0.2)
    assert not sim.connectors[1].plugged


def test_parse_line_with_and_without_station_prefix():
    ids = ["CP-1", "CP-2"]
    assert control.parse_line("plug 1", ids) == (None, "plug_in", {"connector_id": 1})
    assert control.parse_line("CP-2 tag 1 ABC123", ids) == (
        "CP-2",
        "present_tag",
        {"connector_id": 1, "id_tag": "ABC123"},
    )
    assert control.parse_line("fault 0 OtherError", ids)[2] == {
        "connector_id": 0,
        "error_code": "OtherError",
    }
    assert control.parse_line("offline 30", ids)[1:] == ("go_offline", {"seconds": 30.0})
    assert control.parse_line("power-cycle", ids)[1] == "power_cycle"
    for bad in ("plug", "plug x", "dance 1", "tag 1"):
        with pytest.raises(control.CommandError):
            control.parse_line(bad, ids)


def test_station_ids_for_several_stations():
    assert runner.station_ids("ws://h:1/ocpp/CP", 2) == [
        ("ws://h:1/ocpp/CP-1", "CP-1"),
        ("ws://h:1/ocpp/CP-2", "CP-2"),
    ]
    assert runner.station_ids("ws://h:1/ocpp/CP", 1) == [("ws://h:1/ocpp/CP", "CP")]


def test_defect_names_parse_and_are_documented():
    assert parse_defects("no_heartbeat, clear_cache_rejected") == {
        "no_heartbeat",
        "clear_cache_rejected",
    }
    with pytest.raises(ValueError, match="unknown defect"):
        parse_defects("no_heartbeat,typo")
    text = describe_defects()
    assert all(name in text for name in ALL_DEFECTS)
    # Every switch the module names has a description (and so is known to --defects).
    from simulator import defects

    switches = {v for k, v in vars(defects).items() if k.isupper() and isinstance(v, str)}
    assert switches == ALL_DEFECTS and len(ALL_DEFECTS) >= 25


@pytest.mark.asyncio
async def test_runner_drives_several_stations_from_stdin_lines(cs, tmp_path):
    sims = runner.build(cs.url("CP"), 2, state_dir=tmp_path, fast=True, serial="S")
    assert [s.identity["serial"] for s in sims] == ["S-1", "S-2"]
    lines = iter(["CP-2 plug 1\n", "status\n", "bogus\n", "help\n"])
    out = io.StringIO()
    read = lambda: next(lines, "")  # noqa: E731
    task = asyncio.create_task(runner.run(sims, read_line=read, out=out))
    try:
        await cs.wait_for("StatusNotification", lambda p: p["status"] == "Preparing", timeout=5)
        await asyncio.sleep(0.3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sims[1].connectors[1].plugged and not sims[0].connectors[1].plugged
    text = out.getvalue()
    assert "CP-1" in text and "CP-2" in text and "error: unknown command" in text
    assert {c["id"] for c in cs.connections} == {"CP-1", "CP-2"}


def test_simulate_command_lists_defects_and_refuses_unknown_ones():
    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("simulate", "--url", "ws://127.0.0.1:1/ocpp/X", "--defects", "help", stdout=out)
    assert "trigger_message_ignored" in out.getvalue()
    with pytest.raises(CommandError, match="unknown defect"):
        call_command("simulate", "--url", "ws://127.0.0.1:1/ocpp/X", "--defects", "nope")
