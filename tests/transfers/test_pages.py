"""QA and vendor pages: uploads and firmware downloads, each visible to the right people only."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from tests.factories import StationFactory, VendorFactory
from transfers.models import DiagnosticsFile, FirmwareDownload


@pytest.fixture
def upload(station, storage):
    record = DiagnosticsFile(
        station=station,
        file_name="diag-7.zip",
        size=5,
        sha256="ab" * 32,
        started=timezone.now(),
        received=timezone.now(),
        complete=True,
    )
    record.file.save("diag-7.zip", ContentFile(b"hello"), save=True)
    return record


@pytest.fixture
def download(station, firmware):
    return FirmwareDownload.objects.create(
        station=station,
        firmware=firmware,
        protocol="http",
        file_name="fw-2.0.bin",
        file_size=100,
        bytes_sent=40,
        started=timezone.now(),
        error="the client went away",
    )


def test_qa_sees_a_stations_uploads_with_download_links_and_its_ftp_location(
    qa_client, station, upload, download
):
    response = qa_client.get(reverse("transfers:station_transfers", args=[station.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "diag-7.zip" in page
    assert upload.get_download_url() in page
    assert "ab" * 32 in page
    assert "ftp://station" in page  # QA may hand the location to a station by hand
    assert "40 of 100" in page and "the client went away" in page


def test_a_request_that_waited_in_certlab_says_how_long_and_one_never_served_says_why(
    qa_client, station, firmware
):
    from datetime import timedelta

    arrived = timezone.now()
    common = {"station": station, "firmware": firmware, "protocol": "http",
              "file_name": "fw-2.0.bin", "file_size": 100}  # fmt: skip
    FirmwareDownload.objects.create(
        **common, started=arrived, served=arrived + timedelta(seconds=3.2),
        finished=arrived + timedelta(seconds=4), bytes_sent=100, complete=True,
    )  # fmt: skip
    FirmwareDownload.objects.create(
        **common, started=arrived, finished=arrived + timedelta(seconds=9),
        error="the station closed the connection after 9.0 s, before CertLab began sending "
              "the file",
    )  # fmt: skip
    page = qa_client.get(reverse("transfers:station_transfers", args=[station.pk]))
    text = page.content.decode()
    assert "(waited 3.2 s in CertLab before sending began)" in text
    assert "before CertLab began sending the file" in text
    assert text.count("waited ") == 1  # only where it is worth saying


def test_qa_downloads_an_uploaded_file_under_the_stations_name(qa_client, upload):
    response = qa_client.get(upload.get_download_url())
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"hello"
    assert 'filename="diag-7.zip"' in response["Content-Disposition"]


def test_the_vendor_who_owns_the_station_sees_its_files_but_not_the_ftp_password(
    vendor_client, station, upload
):
    page = vendor_client.get(reverse("transfers:station_transfers", args=[station.pk]))
    assert page.status_code == 200
    assert "diag-7.zip" in page.content.decode()
    assert "ftp://" not in page.content.decode()
    assert vendor_client.get(upload.get_download_url()).status_code == 200


def test_another_vendor_gets_404_for_everything(client, station, upload, download):
    client.force_login(VendorFactory())
    urls = [
        reverse("transfers:station_transfers", args=[station.pk]),
        upload.get_download_url(),
        reverse("transfers:firmware_downloads", args=[download.firmware.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url


def test_anonymous_users_are_sent_to_log_in(client, upload):
    response = client.get(upload.get_download_url())
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_an_incomplete_upload_is_listed_but_has_nothing_to_download(qa_client, station):
    failed = DiagnosticsFile.objects.create(
        station=station,
        file_name="cut.zip",
        size=10,
        started=timezone.now(),
        complete=False,
        error="552 The file is larger than the lab accepts",
    )
    page = qa_client.get(reverse("transfers:station_transfers", args=[station.pk]))
    assert "incomplete: 552 The file is larger" in page.content.decode()
    assert failed.get_download_url() not in page.content.decode()
    assert qa_client.get(failed.get_download_url()).status_code == 404


def test_firmware_downloads_page_lists_each_stations_fetches(qa_client, firmware, download):
    other = FirmwareDownload.objects.create(
        station=StationFactory(charger_model=firmware.charger_model),
        firmware=firmware,
        protocol="ftp",
        file_name="fw-2.0.bin",
        file_size=100,
        bytes_sent=100,
        complete=True,
        started=timezone.now(),
    )
    response = qa_client.get(reverse("transfers:firmware_downloads", args=[firmware.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert str(download.station) in page and str(other.station) in page
    assert "100 of 100" in page and "40 of 100" in page


def test_vendor_sees_only_its_own_stations_downloads_of_a_firmware(
    vendor_client, firmware, download
):
    # A station of another manufacturer fetching this firmware is not the vendor's business.
    stranger = StationFactory()
    FirmwareDownload.objects.create(
        station=stranger,
        firmware=firmware,
        protocol="http",
        file_name="fw-2.0.bin",
        file_size=100,
        started=timezone.now(),
    )
    page = vendor_client.get(reverse("transfers:firmware_downloads", args=[firmware.pk]))
    assert page.status_code == 200
    assert str(download.station) in page.content.decode()
    assert str(stranger) not in page.content.decode()


@pytest.mark.parametrize("name", ["report.html", "tool.exe", "page.svg", "x.js"])
def test_an_uploaded_file_is_never_served_as_something_to_render_or_run(
    qa_client, station, storage, name
):
    record = DiagnosticsFile.objects.create(
        station=station, file_name=name, size=27, sha256="cd" * 32, started=timezone.now(),
        received=timezone.now(), complete=True,
    )  # fmt: skip
    record.file.save(name, ContentFile(b"<script>alert(1)</script>"), save=True)
    response = qa_client.get(record.get_download_url())
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_firmware_file_downloads_as_octet_stream_whatever_its_name(qa_client, firmware):
    firmware.file.save("index.html", ContentFile(b"<html></html>"), save=True)
    response = qa_client.get(reverse("stations:firmware_download", args=[firmware.pk]))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
