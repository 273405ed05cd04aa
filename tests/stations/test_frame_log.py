"""The frame log's writer: every frame reaches PostgreSQL as it crossed the socket, whatever it
holds, in arrival order, with its parsed payload and its timestamp to the microsecond."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from stations import frame_log
from stations.frame_log import LoggedFrame
from stations.models import Connection, Frame, PendingStation
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 11, 22, 3, 4, 5, 678901, tzinfo=UTC)


def frame(station, raw: str, payload=None, **fields) -> LoggedFrame:
    values = {
        "station_id": station.pk,
        "connection_id": None,
        "timestamp": NOW,
        "direction": "in",
        "message_type": "CALL",
        "action": "DataTransfer",
        "unique_id": "u1",
        "raw": raw,
        "payload": payload,
        "error": "",
        "has_error": False,
    }
    values.update(fields)
    return LoggedFrame(**values)


def saved(station) -> list[Frame]:
    return list(Frame.objects.filter(station=station).order_by("id"))


@pytest.fixture
def station(db):
    return StationFactory()


@pytest.fixture(autouse=True)
def whole_batches(request, caplog):
    """Each batch must go in whole, the fast way (but in the test of a refused row): the
    careful row-by-row path would save the same rows and hide a broken escape."""
    caplog.set_level("WARNING", logger="stations.frame_log")
    yield
    if "refused" not in request.node.name:
        assert not [r for r in caplog.get_records("call") if "one by one" in r.getMessage()]


def test_plain_frames_keep_every_column(station):
    connection = Connection.objects.create(station=station, opened=NOW)
    call = '[2,"h1","Heartbeat",{}]'
    answer = '[3,"h1",{"currentTime":"2026-11-22T03:04:05.678Z"}]'
    frame_log._save_or_retry(
        [
            frame(
                station, call, {}, action="Heartbeat", unique_id="h1", connection_id=connection.pk
            ),
            frame(
                station,
                answer,
                {"currentTime": "2026-11-22T03:04:05.678Z"},
                direction="out",
                message_type="CALLRESULT",
                action="Heartbeat",
                unique_id="h1",
                connection_id=connection.pk,
                timestamp=NOW + timedelta(microseconds=1),
            ),
        ]
    )
    first, second = saved(station)
    assert (first.raw, first.payload, first.direction, first.message_type) == (
        call,
        {},
        "in",
        "CALL",
    )
    assert (first.action, first.unique_id, first.connection_id) == (
        "Heartbeat",
        "h1",
        connection.pk,
    )
    assert first.timestamp == NOW and not first.has_error and first.error == ""
    assert second.payload == {"currentTime": "2026-11-22T03:04:05.678Z"}
    assert second.timestamp == NOW + timedelta(microseconds=1)
    assert (second.direction, second.message_type) == ("out", "CALLRESULT")


def test_a_pending_stations_frames_keep_every_column_under_it(station):
    # The same id number as the known station's: a frame filed under the wrong column shows.
    pending = PendingStation.objects.create(
        pk=station.pk, charge_point_id="NEW-1", first_seen=NOW, last_seen=NOW
    )
    connection = Connection.objects.create(pending_station=pending, opened=NOW)
    nul = '[2,"n1","DataTransfer",{"vendorId":"x","data":"a\\u0000b"}]'
    frames = [
        frame(pending, nul, json.loads(nul)[3], unique_id="n1", connection_id=connection.pk),
        frame(
            pending,
            "not json\tat all",
            message_type="invalid",
            action="",
            unique_id="",
            error="FormationViolation: Malformed JSON",
            has_error=True,
            timestamp=NOW + timedelta(microseconds=1),
        ),
    ]
    frame_log._save_or_retry(frames, pending=True)
    rows = list(Frame.objects.filter(pending_station=pending).order_by("id"))
    assert [(r.station_id, r.connection_id, r.raw) for r in rows] == [
        (None, connection.pk, nul),
        (None, None, "not json\tat all"),
    ]
    assert rows[0].payload == {"vendorId": "x", "data": "a\ufffdb"}
    assert [r.timestamp for r in rows] == [NOW, NOW + timedelta(microseconds=1)]
    assert rows[1].has_error and rows[1].error == "FormationViolation: Malformed JSON"
    assert not saved(station)


def test_timestamps_survive_to_the_microsecond(station):
    rng = random.Random(7)
    stamps = [
        datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randrange(10**15))
        for _ in range(300)
    ]
    frame_log._save_or_retry(
        [frame(station, '[2,"t","Heartbeat",{}]', {}, timestamp=stamp) for stamp in stamps]
    )
    assert [f.timestamp for f in saved(station)] == stamps


def test_text_copy_escapes_cannot_shift_or_lose_columns(station):
    pretty = '[2,\t"p1",\n"DataTransfer",\r\n{"vendorId": "a\\\\b", "data": "say \\"hi\\""}]'
    frames = [
        frame(station, pretty, json.loads(pretty)[3], unique_id="p1"),
        frame(
            station,
            "not json\tat all\\",
            message_type="invalid",
            action="",
            unique_id="",
            error="FormationViolation: Malformed JSON:\n\tExpecting value",
            has_error=True,
        ),
        frame(
            station, '[2,"p2","DataTransfer",{"vendorId":"x"}]', {"vendorId": "x"}, unique_id="p2"
        ),
    ]
    frame_log._save_or_retry(frames)
    rows = saved(station)
    assert [r.raw for r in rows] == [f.raw for f in frames]
    assert rows[0].payload == {"vendorId": "a\\b", "data": 'say "hi"'}
    assert rows[1].payload is None
    assert rows[1].error == "FormationViolation: Malformed JSON:\n\tExpecting value"
    assert rows[2].payload == {"vendorId": "x"}


def test_payloads_postgresql_reads_differently_are_sent_as_parsed(station):
    nul = '[2,"n1","DataTransfer",{"vendorId":"x","data":"a\\u0000b"}]'
    accented = '[2,"n2","DataTransfer",{"vendorId":"\\u00e9t\\u00e9"}]'
    nan = '[2,"n3","MeterValues",{"connectorId":1,"meterValue":NaN}]'
    error = '[4,"n4","NotSupported","no",{"why":"x"}]'
    dated = '[2,"n5","DataTransfer",{"vendorId":"x"}]'
    frame_log._save_or_retry(
        [
            frame(station, nul, json.loads(nul)[3], unique_id="n1"),
            frame(station, accented, json.loads(accented)[3], unique_id="n2"),
            frame(station, nan, {"connectorId": 1, "meterValue": float("nan")}, unique_id="n3"),
            frame(
                station,
                error,
                {
                    "errorCode": "NotSupported",
                    "errorDescription": "no",
                    "errorDetails": {"why": "x"},
                },
                message_type="CALLERROR",
                unique_id="n4",
                has_error=True,
            ),
            # A payload the parser did not take from this raw text, with a value JSON lacks.
            frame(station, dated, {"at": NOW}, message_type="CALLERROR", unique_id="n5"),
        ]
    )
    rows = saved(station)
    assert [r.unique_id for r in rows] == ["n1", "n2", "n3", "n4", "n5"]
    assert rows[0].payload == {"vendorId": "x", "data": "a\ufffdb"}
    assert rows[1].payload == {"vendorId": "été"}
    assert rows[2].payload is None and rows[2].raw == nan  # not JSON: raw keeps it
    assert rows[3].payload["errorDetails"] == {"why": "x"}
    assert rows[4].payload == {"at": str(NOW)}


def test_nul_and_lone_surrogates_in_text_columns_are_replaced_not_lost(station):
    frame_log._save_or_retry(
        [
            frame(station, '[2,"a","Heartbeat",{}]\x00', message_type="invalid", has_error=True),
            frame(station, '[2,"\\ud800","Heartbeat",{}]', {}, unique_id="\ud800"),
        ]
    )
    first, second = saved(station)
    assert first.raw == '[2,"a","Heartbeat",{}]\ufffd'
    assert second.unique_id == "?" and second.payload == {}


def test_a_refused_row_costs_only_its_own_payload(station, caplog):
    # PostgreSQL's jsonb refuses an escaped lone surrogate that Python's json accepted.
    refused = '[2,"r2","DataTransfer",{"vendorId":"\\udc00"}]'
    frames = [
        frame(station, '[2,"r1","Heartbeat",{}]', {}, unique_id="r1"),
        frame(station, refused, {"vendorId": "\udc00"}, unique_id="r2"),
        frame(station, '[2,"r3","Heartbeat",{}]', {}, unique_id="r3"),
    ]
    frame_log._save_or_retry(frames)
    rows = saved(station)
    assert [(r.unique_id, r.payload) for r in rows] == [("r1", {}), ("r2", None), ("r3", {})]
    assert rows[1].raw == refused
    assert "saved without its payload" in caplog.text
    # The writer's next batch goes the fast way again.
    frame_log._save_or_retry([frame(station, '[2,"r4","Heartbeat",{}]', {}, unique_id="r4")])
    assert saved(station)[-1].payload == {}


def test_copy_lines_sends_no_payload_that_postgresql_can_read_from_raw(station):
    text = frame_log.copy_lines(
        [
            frame(station, '[2,"c1","Heartbeat",{}]', {}),
            frame(station, '[4,"c2","X","y",{}]', {"errorCode": "X"}, message_type="CALLERROR"),
        ]
    )
    first, second = text.splitlines()
    assert first.split("\t")[9:11] == ["\\N", "t"]
    assert second.split("\t")[9:11] == ['{"errorCode":"X"}', "f"]


class _FirstSendSlowLayer:
    """The channel layer's group_send, the first one answered last (a pool's Redis
    connections answer in any order under load)."""

    def __init__(self) -> None:
        self.calls = 0
        self.sent: list[list[str]] = []

    async def group_send(self, group: str, message: dict) -> None:
        self.calls += 1
        await asyncio.sleep(0.3 if self.calls == 1 else 0)
        self.sent.append([event["unique_id"] for event in message["frames"]])


async def test_a_stations_frames_reach_remote_watchers_in_log_order(station, monkeypatch):
    # A station's call and CertLab's answer, logged one loop iteration apart (the answer's
    # query awaited in between): a step waiting for the answer after the call must see it so.
    layer = _FirstSendSlowLayer()
    monkeypatch.setattr(frame_log, "get_channel_layer", lambda: layer)
    call = frame(station, '[2,"u1","Authorize",{"idTag":"T"}]', action="Authorize")
    frame_log.record(call, "CP-ORDER", remote_watchers=True)
    await asyncio.sleep(0)  # the loop iteration ends: the call's batch goes out
    answer = frame(station, '[3,"u1",{}]', direction="out", message_type="CALLRESULT",
                   unique_id="u1-answer")  # fmt: skip
    frame_log.record(answer, "CP-ORDER", remote_watchers=True)
    await frame_log.flush()
    assert layer.sent == [["u1"], ["u1-answer"]]
