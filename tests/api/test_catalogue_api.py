"""QA build the catalogue through the API with the pages' own validation: bad input is a 400
naming the field, a firmware file goes up as multipart and comes back byte for byte."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from stations.models import ChargerModel, FirmwareVersion, Manufacturer, Station

pytestmark = pytest.mark.django_db


def test_qa_build_a_catalogue_from_manufacturer_to_station(qa_api, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # the file keeps its name (no earlier run's copy there)
    maker = qa_api.post("/api/v1/manufacturers/", {"name": "ACME", "number": "42"}, format="json")
    assert maker.status_code == 201, maker.json()
    model = qa_api.post(
        "/api/v1/models/",
        {
            "manufacturer": maker.json()["id"],
            "name": "AC-22",
            "connector_count": 2,
            "current_type": "AC",
            "max_power_kw": "22.0",
        },
        format="json",
    )
    assert model.status_code == 201, model.json()
    upload = SimpleUploadedFile("ac22-1.2.bin", b"\x00firmware\xff" * 100)
    firmware = qa_api.post(
        "/api/v1/firmware/",
        {
            "charger_model": model.json()["id"],
            "version": "1.2",
            "file": upload,
        },
        format="multipart",
    )
    assert firmware.status_code == 201, firmware.json()
    body = firmware.json()
    assert body["has_file"] and body["size"] == 1000 and body["file_name"] == "ac22-1.2.bin"
    download = qa_api.get(body["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"\x00firmware\xff" * 100
    station = qa_api.post(
        "/api/v1/stations/",
        {
            "charge_point_id": "ACME-1",
            "charger_model": model.json()["id"],
            "expected_firmware": body["id"],
            "password": "a-station-password-16",
        },
        format="json",
    )
    assert station.status_code == 201, station.json()
    assert station.json()["has_password"] is True
    assert "password" not in station.json()
    saved = Station.objects.get(charge_point_id="ACME-1")
    assert saved.check_password("a-station-password-16")


def test_bad_catalogue_input_is_a_400_naming_the_field(qa_api, ours, theirs):
    short = qa_api.post(
        "/api/v1/stations/",
        {"charge_point_id": "BAD ID/1", "charger_model": ours.model.pk, "password": "short"},
        format="json",
    )
    assert short.status_code == 400
    assert set(short.json()) >= {"charge_point_id", "password"}
    duplicate = qa_api.post(
        "/api/v1/manufacturers/", {"name": ours.manufacturer.name}, format="json"
    )
    assert duplicate.status_code == 400 and "name" in duplicate.json()
    wrong = qa_api.patch(
        f"/api/v1/stations/{ours.station.pk}/",
        {"expected_firmware": theirs.firmware.pk},
        format="json",
    )
    assert wrong.status_code == 400 and "expected_firmware" in wrong.json()


def test_a_patch_changes_only_what_it_names(qa_api, ours):
    response = qa_api.patch(
        f"/api/v1/stations/{ours.station.pk}/", {"notes": "on bench 3"}, format="json"
    )
    assert response.status_code == 200, response.json()
    station = Station.objects.get(pk=ours.station.pk)
    assert station.notes == "on bench 3"
    assert station.charge_point_id == ours.station.charge_point_id
    assert station.expected_firmware_id == ours.firmware.pk
    renamed = qa_api.patch(
        f"/api/v1/firmware/{ours.firmware.pk}/", {"release_notes": "x"}, format="multipart"
    )
    assert renamed.status_code == 200
    assert FirmwareVersion.objects.get(pk=ours.firmware.pk).file.name == ours.firmware.file.name


def test_a_model_of_another_manufacturer_is_not_a_choice_for_nobody(qa_api):
    response = qa_api.post(
        "/api/v1/models/",
        {"manufacturer": 999999, "name": "X", "current_type": "AC", "max_power_kw": "1"},
        format="json",
    )
    assert response.status_code == 400 and "manufacturer" in response.json()
    assert not ChargerModel.objects.filter(name="X").exists()
    assert not Manufacturer.objects.filter(name="X").exists()


def test_frames_page_newest_first_with_a_cursor_and_filters(qa_api, ours):
    from django.utils import timezone

    from stations.models import Frame

    for n in range(5):
        Frame.objects.create(
            station=ours.station,
            timestamp=timezone.now(),
            direction="out",
            message_type="CALL",
            action="Reset",
            unique_id=f"r{n}",
            raw=f'[2,"r{n}","Reset",{{}}]',
            payload={},
        )
    url = f"/api/v1/stations/{ours.station.pk}/frames/"
    first = qa_api.get(url, {"limit": 2, "action": "Reset"}).json()
    assert [f["unique_id"] for f in first["results"]] == ["r4", "r3"]
    second = qa_api.get(first["next"]).json()
    assert [f["unique_id"] for f in second["results"]] == ["r2", "r1"]
    tail = qa_api.get(url, {"after": ours.frame.pk, "limit": 3}).json()
    assert [f["unique_id"] for f in tail["results"]] == ["r0", "r1", "r2"]
    inbound = qa_api.get(url, {"direction": "in"}).json()["results"]
    assert [f["action"] for f in inbound] == ["BootNotification"]
    assert qa_api.get(url, {"direction": "sideways"}).status_code == 400
    assert qa_api.get(url, {"before": "x"}).status_code == 400
