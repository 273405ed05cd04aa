"""A vendor uploads a firmware file for its own models (criterion 12.a: "Receive firmware file
from manufacturer"); QA see it with the uploader, its size and SHA-256, taken while it streamed."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from stations.models import FirmwareVersion
from tests.factories import ChargerModelFactory

pytestmark = pytest.mark.django_db

URL = "/catalogue/firmware/upload/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def own_model(vendor_user):
    return ChargerModelFactory(manufacturer=vendor_user.manufacturer, name="OWN-MODEL")


@pytest.fixture
def other_model(db):
    return ChargerModelFactory(name="OTHER-MODEL")


def _upload(client, model, content: bytes, version="V2.0", name="fw-2.0.bin"):
    return client.post(reverse("stations:firmware_upload"), {
        "charger_model": model.pk, "version": version, "release_notes": "fixes",
        "file": SimpleUploadedFile(name, content),
    })  # fmt: skip


def test_the_upload_url_is_where_the_readme_says():
    assert reverse("stations:firmware_upload") == URL


def test_a_vendor_uploads_a_large_file_and_qa_see_its_size_and_sha256(
    vendor_client, vendor_user, qa_client, own_model
):
    # Above Django's in-memory limit (2.5 MB): the upload arrives as a temporary file, which the
    # storage would otherwise move into place without the hash ever seeing its bytes.
    content = bytes(range(256)) * 12_000  # 3,072,000 bytes
    response = _upload(vendor_client, own_model, content)
    firmware = FirmwareVersion.objects.get(charger_model=own_model, version="V2.0")
    assert response.status_code == 302 and response["Location"] == firmware.get_absolute_url()
    assert firmware.file_size == len(content)
    assert firmware.file_sha256 == hashlib.sha256(content).hexdigest()
    assert firmware.uploaded_by == vendor_user
    with firmware.file.open("rb") as stored:
        assert stored.read() == content
    listing = qa_client.get(reverse("stations:object_list", args=["firmware"])).content.decode()
    assert firmware.file_sha256 in listing and vendor_user.username in listing
    assert "3072000" in listing
    detail = qa_client.get(firmware.get_absolute_url()).content.decode()
    assert firmware.file_sha256 in detail and "3072000 bytes" in detail
    assert f"{vendor_user.username} ({vendor_user.manufacturer})" in detail


def test_the_file_is_still_only_served_as_an_attachment(vendor_client, qa_client, own_model):
    _upload(vendor_client, own_model, b"<html><script>alert(1)</script></html>", name="x.html")
    firmware = FirmwareVersion.objects.get(charger_model=own_model)
    for client in (vendor_client, qa_client):
        response = client.get(reverse("stations:firmware_download", args=[firmware.pk]))
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"


def test_a_vendor_may_only_choose_its_own_models(vendor_client, own_model, other_model):
    page = vendor_client.get(URL).content.decode()
    assert "OWN-MODEL" in page and "OTHER-MODEL" not in page
    response = _upload(vendor_client, other_model, b"firmware")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not FirmwareVersion.objects.filter(charger_model=other_model).exists()


def test_a_file_over_the_cap_is_refused_with_a_message_keeping_what_was_typed(
    vendor_client, own_model, monkeypatch
):
    monkeypatch.setattr("stations.forms.MAX_FIRMWARE_BYTES", 2 * 1024 * 1024)
    response = _upload(vendor_client, own_model, b"x" * (3 * 1024 * 1024), version="V9.typed")
    assert response.status_code == 400
    page = response.content.decode()
    # Refused while it streamed in (stations.firmware_files.FirmwareSizeCap), not after.
    assert "This file is over 2 MB; a firmware file may be at most 2 MB." in page
    assert 'value="V9.typed"' in page
    assert not FirmwareVersion.objects.filter(charger_model=own_model).exists()


def test_a_file_is_required_and_a_version_taken_is_refused(vendor_client, own_model):
    response = vendor_client.post(URL, {"charger_model": own_model.pk, "version": "V1"})
    assert response.status_code == 400 and not FirmwareVersion.objects.exists()
    _upload(vendor_client, own_model, b"one", version="V1")
    again = _upload(vendor_client, own_model, b"two", version="V1")
    assert again.status_code == 400 and FirmwareVersion.objects.count() == 1


def test_qa_can_make_the_upload_a_campaigns_update_target(vendor_client, qa_client, own_model):
    from tests.factories import StationFactory

    station = StationFactory(charger_model=own_model)
    _upload(vendor_client, own_model, b"update")
    uploaded = FirmwareVersion.objects.get(charger_model=own_model, version="V2.0")
    form = qa_client.get(reverse("campaigns:campaign_create"), {"station": station.pk})
    choices = form.context["form"].fields["update_firmware"].queryset
    assert uploaded in choices


def test_the_api_shows_size_sha256_and_uploader_and_qa_uploads_are_hashed_too(
    qa_user, vendor_user, own_model
):
    api = APIClient()
    api.force_authenticate(qa_user)
    fields = {"charger_model": own_model.pk, "version": "V3",
              "file": SimpleUploadedFile("v3.bin", b"three")}  # fmt: skip
    created = api.post("/api/v1/firmware/", fields, format="multipart")
    assert created.status_code == 201, created.content
    api.force_authenticate(vendor_user)
    body = api.get(f"/api/v1/firmware/{created.json()['id']}/").json()
    assert body["sha256"] == hashlib.sha256(b"three").hexdigest()
    assert body["size"] == 5 and body["uploaded_by"] == qa_user.username


def test_the_upload_still_needs_the_csrf_token(vendor_user, own_model):
    client = Client(enforce_csrf_checks=True)
    client.force_login(vendor_user)
    response = _upload(client, own_model, b"firmware")
    assert response.status_code == 403
    assert not FirmwareVersion.objects.exists()


def test_qa_clearing_the_file_clears_its_size_and_hash(vendor_client, qa_client, own_model):
    _upload(vendor_client, own_model, b"to be cleared")
    firmware = FirmwareVersion.objects.get(charger_model=own_model)
    url = reverse("stations:object_edit", args=["firmware", firmware.pk])
    response = qa_client.post(url, {"charger_model": own_model.pk, "version": firmware.version,
                                    "file-clear": "on", "release_notes": ""})  # fmt: skip
    assert response.status_code == 302
    firmware.refresh_from_db()
    assert not firmware.file and firmware.file_sha256 == "" and firmware.file_size is None


def test_a_vendor_uploads_through_the_api_for_its_own_models_only(
    vendor_user, own_model, other_model
):
    api = APIClient()
    api.force_authenticate(vendor_user)

    def post(model, version):
        fields = {"charger_model": model.pk, "version": version,
                  "file": SimpleUploadedFile("fw.bin", b"api firmware")}  # fmt: skip
        return api.post("/api/v1/firmware/upload/", fields, format="multipart")

    created = post(own_model, "A1")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["sha256"] == hashlib.sha256(b"api firmware").hexdigest() and body["size"] == 12
    assert body["uploaded_by"] == vendor_user.username
    refused = post(other_model, "A2")
    assert refused.status_code == 400 and "charger_model" in refused.json()
    assert not FirmwareVersion.objects.filter(charger_model=other_model).exists()
    no_file = api.post("/api/v1/firmware/upload/", {"charger_model": own_model.pk,
                       "version": "A3"}, format="multipart")  # fmt: skip
    assert no_file.status_code == 400
    # The catalogue's own writes stay QA's.
    plain = api.post("/api/v1/firmware/", {"charger_model": own_model.pk, "version": "A4"})
    assert plain.status_code == 403
