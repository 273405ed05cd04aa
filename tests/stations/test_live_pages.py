"""QA pages of the Central System: what QA and vendors may see and do."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from stations.models import Command, Frame, StationSettings
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db


def make_frames(station, count: int, **fields) -> list[Frame]:
    now = datetime.now(UTC)
    return Frame.objects.bulk_create(
        Frame(
            station=station,
            timestamp=now,
            direction=fields.get("direction", "in"),
            message_type=fields.get("message_type", "CALL"),
            action=fields.get("action", "Heartbeat"),
            unique_id=f"u{i}",
            raw=f'[2,"u{i}","Heartbeat",{{}}]',
            payload={},
            error=fields.get("error", ""),
            has_error=bool(fields.get("error")),
        )
        for i in range(count)
    )


def test_live_list_shows_stations_with_their_connection_state(qa_client):
    station = StationFactory()
    page = qa_client.get(reverse("stations:live_list"))
    assert page.status_code == 200
    assert station.charge_point_id in page.content.decode() and "offline" in page.content.decode()


def test_vendor_sees_own_station_page_read_only_and_not_others(vendor_client, vendor_user):
    own = StationFactory(charger_model__manufacturer=vendor_user.manufacturer)
    other = StationFactory()
    page = vendor_client.get(reverse("stations:live", args=[own.pk]))
    assert page.status_code == 200 and "Command console" not in page.content.decode()
    assert vendor_client.get(reverse("stations:live", args=[other.pk])).status_code == 404
    assert vendor_client.get(reverse("stations:frame_history", args=[other.pk])).status_code == 404
    listing = vendor_client.get(reverse("stations:live_list")).content.decode()
    assert own.charge_point_id in listing and other.charge_point_id not in listing
    sent = vendor_client.post(reverse("stations:console_send", args=[own.pk]), {"action": "Reset"})
    assert sent.status_code == 403


def test_history_pages_back_with_a_keyset_cursor(qa_client):
    station = StationFactory()
    frames = make_frames(station, 120)
    page = qa_client.get(reverse("stations:live", args=[station.pk]))
    assert page.content.decode().count('class="frame frame-in') == 50
    url = reverse("stations:frame_history", args=[station.pk])
    second = qa_client.get(url, {"before": page.context["next_before"]}).json()
    third = qa_client.get(url, {"before": second["next"]}).json()
    assert second["html"].count("<li") == 50 and third["html"].count("<li") == 20
    assert third["next"] is None
    assert f'data-id="{frames[0].pk}"' in third["html"]


def test_history_filters_errors_and_actions(qa_client):
    station = StationFactory()
    make_frames(station, 5)
    make_frames(station, 2, action="Authorize", error="OccurenceConstraintViolation: idTag")
    url = reverse("stations:frame_history", args=[station.pk])
    errors = qa_client.get(url, {"errors": "1"}).json()["html"]
    assert errors.count("<li") == 2 and "OccurenceConstraintViolation" in errors
    heartbeats = qa_client.get(url, {"action": "Heartbeat", "direction": "in"}).json()["html"]
    assert heartbeats.count("<li") == 5


def test_console_records_a_command_and_queues_it(
    qa_client, django_capture_on_commit_callbacks, monkeypatch
):
    station = StationFactory()
    queued = []
    monkeypatch.setattr("stations.live_views.send_command.delay", queued.append)
    url = reverse("stations:console_send", args=[station.pk])
    with django_capture_on_commit_callbacks(execute=True):
        answer = qa_client.post(url, {"action": "Reset", "payload": '{"type": "Soft"}'})
    assert answer.status_code == 202
    command = Command.objects.get()
    assert (command.action, command.payload, command.status) == (
        "Reset",
        {"type": "Soft"},
        "queued",
    )
    assert queued == [command.pk]
    status = qa_client.get(answer.json()["url"]).json()
    assert status["status"] == "queued"


def test_console_page_carries_the_schemas_of_all_central_system_actions(qa_client):
    station = StationFactory()
    page = qa_client.get(reverse("stations:live", args=[station.pk])).content.decode()
    start = page.index('id="console-schemas"')
    schemas = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    assert len(schemas) == 19 and schemas["Reset"]["properties"]["type"]["enum"] == ["Hard", "Soft"]


def test_qa_sets_the_boot_answer(qa_client):
    station = StationFactory()
    qa_client.post(
        reverse("stations:boot_settings", args=[station.pk]),
        {"boot_status": "Pending", "heartbeat_interval": "30"},
    )
    settings = StationSettings.objects.get(station=station)
    assert (settings.boot_status, settings.heartbeat_interval) == ("Pending", 30)


def test_a_nul_in_the_frame_filter_is_not_a_server_error(qa_client):
    station = StationFactory()
    make_frames(station, 1)
    for name in ("stations:live", "stations:frame_history"):
        page = qa_client.get(reverse(name, args=[station.pk]), {"action": "Heart\x00beat"})
        assert page.status_code == 200


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "Reset", "payload": '{"type": "Soft"'}, "Not JSON"),
        ({"action": "DataTransfer", "payload": '{"vendorId": NaN}'}, "NaN is not a JSON value"),
        ({"action": "DataTransfer", "payload": '{"vendorId": "a\\u0000"}'}, "NUL character"),
        ({"raw": '[2,"x","Reset",{}]\x00'}, "NUL character"),
        ({"action": "Reset", "payload": "{}", "timeout": "nan"}, "number of seconds"),
        ({"action": "Reset", "payload": "{}", "timeout": "soon"}, "number of seconds"),
        ({"action": "FlyToTheMoon", "payload": "{}"}, "Central System actions"),
        (
            {"action": "Reset", "payload": '{"type": "Hard2"}'},
            'Reset: type must be one of Hard, Soft (not "Hard2").',
        ),
        ({"action": "Reset", "payload": "{}"}, "Reset: the field type is missing."),
        (
            {
                "action": "ChangeConfiguration",
                "payload": '{"key": "HeartbeatInterval", "value": 30}',
            },
            "ChangeConfiguration: value must be text (not 30).",
        ),
        (
            {"action": "GetConfiguration", "payload": '{"key": "HeartbeatInterval"}'},
            "GetConfiguration: key must be a list",
        ),
    ],
)
def test_console_refuses_bad_input_with_a_message(qa_client, monkeypatch, fields, message):
    station = StationFactory()
    monkeypatch.setattr("stations.live_views.send_command.delay", lambda pk: None)
    answer = qa_client.post(reverse("stations:console_send", args=[station.pk]), fields)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert not Command.objects.exists()


def test_console_raw_mode_ignores_the_payload_field(qa_client, monkeypatch):
    station = StationFactory()
    monkeypatch.setattr("stations.live_views.send_command.delay", lambda pk: None)
    url = reverse("stations:console_send", args=[station.pk])
    answer = qa_client.post(url, {"raw": '[2,"x","Reset",{"type":"Soft"}]', "payload": "{"})
    assert answer.status_code == 202
    assert Command.objects.get().raw == '[2,"x","Reset",{"type":"Soft"}]'
