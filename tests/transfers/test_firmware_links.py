"""Location URIs for GetDiagnostics and UpdateFirmware, and the signed firmware links."""

from __future__ import annotations

import time
from urllib.parse import unquote, urlsplit

import pytest
from django.core import signing
from django.db import connection
from django.test import Client
from django.urls import resolve

from tests.factories import StationFactory
from tests.transfers.conftest import FIRMWARE_BYTES, add_firmware_file
from transfers import services
from transfers.models import FirmwareDownload, FtpAccount


@pytest.fixture
def lab_seen_from_outside(settings):
    settings.CERTLAB_PUBLIC_HOST = "lab.example.com"
    settings.CERTLAB_PUBLIC_FTP_PORT = 2121
    settings.CERTLAB_PUBLIC_HTTP_PORT = 8000
    settings.CERTLAB_HTTPS = False


def path_of(url: str) -> str:
    return urlsplit(url).path


def close_like_a_server(response, monkeypatch) -> None:
    """What a WSGI server does when the client goes away; the end-of-request cleanup must not
    close the connection that holds the test's transaction."""
    monkeypatch.setattr(connection, "close_if_unusable_or_obsolete", lambda: None)
    response.close()
    monkeypatch.undo()


# --- location URIs -------------------------------------------------------------------------------


def test_diagnostics_location_carries_the_stations_own_credentials(lab_seen_from_outside, station):
    location = services.diagnostics_location(station=station)

    account = FtpAccount.objects.get(station=station)
    parts = urlsplit(location)
    assert (parts.scheme, parts.hostname, parts.port, parts.path) == (
        "ftp",
        "lab.example.com",
        2121,
        "/diagnostics/",
    )
    assert unquote(parts.username) == account.username
    assert unquote(parts.password) == account.password
    assert len(account.password) >= 20
    # Asking again gives the same account; another station gets its own.
    assert services.diagnostics_location(station=station) == location
    assert services.diagnostics_location(station=StationFactory()) != location


def test_rotating_the_password_changes_the_location(station):
    before = services.diagnostics_location(station=station)
    services.ftp_account_rotate(station=station)
    assert services.diagnostics_location(station=station) != before


def test_default_ports_are_left_out_and_ipv6_hosts_bracketed(settings, station, firmware):
    settings.CERTLAB_PUBLIC_HOST = "2001:db8::1"
    settings.CERTLAB_PUBLIC_FTP_PORT = 21
    settings.CERTLAB_PUBLIC_HTTP_PORT = 443
    settings.CERTLAB_HTTPS = True
    assert "@[2001:db8::1]/diagnostics/" in services.diagnostics_location(station=station)
    url = services.firmware_location(station=station, firmware=firmware)
    assert url.startswith("https://[2001:db8::1]/files/firmware/")


def test_firmware_locations_over_http_and_ftp(lab_seen_from_outside, station, firmware):
    http = services.firmware_location(station=station, firmware=firmware)
    ftp = services.firmware_location(station=station, firmware=firmware, protocol="ftp")

    assert http.startswith("http://lab.example.com:8000/files/firmware/")
    assert http.endswith("/fw-2.0.bin")
    assert resolve(path_of(http)).view_name == "transfers:firmware_file"
    account = FtpAccount.objects.get(station=station)
    assert ftp == (
        f"ftp://{account.username}:{account.password}@lab.example.com:2121/firmware/fw-2.0.bin"
    )


def test_firmware_location_refuses_another_models_firmware_or_none_at_all(station, storage):
    foreign = add_firmware_file(StationFactory())
    with pytest.raises(ValueError, match="not for"):
        services.firmware_location(station=station, firmware=foreign)
    with pytest.raises(ValueError, match="no file"):
        services.firmware_location(station=station, firmware=station.expected_firmware)


# --- the firmware link ---------------------------------------------------------------------------


def test_firmware_link_serves_the_file_and_records_the_download(station, firmware):
    url = services.firmware_location(station=station, firmware=firmware)

    response = Client().get(path_of(url))

    assert response.status_code == 200
    assert response["Content-Length"] == str(len(FIRMWARE_BYTES))
    assert b"".join(response.streaming_content) == FIRMWARE_BYTES
    download = FirmwareDownload.objects.get()
    assert (download.station, download.firmware, download.protocol) == (station, firmware, "http")
    assert download.complete
    assert download.bytes_sent == len(FIRMWARE_BYTES)
    assert download.remote_address == "127.0.0.1"


def test_a_download_the_client_abandons_is_recorded_incomplete(station, storage, monkeypatch):
    big = add_firmware_file(station, name="big.bin", content=b"\0" * (1 << 20))
    response = Client().get(path_of(services.firmware_location(station=station, firmware=big)))
    next(iter(response.streaming_content))  # the first chunk only
    close_like_a_server(response, monkeypatch)

    download = FirmwareDownload.objects.get()
    assert not download.complete
    assert 0 < download.bytes_sent < (1 << 20)
    assert download.error


def test_a_client_that_leaves_with_every_byte_has_a_complete_download(
    station, storage, monkeypatch
):
    # A fast station closes as soon as it has Content-Length bytes, before the server asks the
    # stream for its end; the stream is then closed only when the garbage collector finds it,
    # long after the station reported Downloaded (a real race seen in the campaign e2e test).
    big = add_firmware_file(station, name="big.bin", content=b"\1" * (600 * 1024))
    response = Client().get(path_of(services.firmware_location(station=station, firmware=big)))
    chunks = iter(response.streaming_content)
    received = b"".join(next(chunks) for _ in range(3))  # 256 + 256 + 88 KiB: the whole file
    assert len(received) == 600 * 1024

    download = FirmwareDownload.objects.get()  # on record before the stream is closed
    assert download.complete and download.bytes_sent == 600 * 1024 and not download.error
    close_like_a_server(response, monkeypatch)
    download.refresh_from_db()
    assert download.complete


def test_head_request_gives_the_size_without_counting_as_a_download(station, firmware):
    url = services.firmware_location(station=station, firmware=firmware)
    response = Client().head(path_of(url))
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(FIRMWARE_BYTES))
    assert not FirmwareDownload.objects.exists()


def test_firmware_link_works_until_it_expires(settings, station, firmware, monkeypatch):
    settings.CERTLAB_FIRMWARE_URL_MAX_AGE = 600
    issued = time.time()
    url = services.firmware_location(station=station, firmware=firmware)

    monkeypatch.setattr(signing.time, "time", lambda: issued + 590)
    assert Client().get(path_of(url)).status_code == 200

    monkeypatch.setattr(signing.time, "time", lambda: issued + 610)
    response = Client().get(path_of(url))
    assert response.status_code == 403
    assert b"This firmware link has expired" in response.content
    assert FirmwareDownload.objects.count() == 1  # only the fetch in time


def _forge(token: str, payload: list[int]) -> str:
    """The token with another payload but the original timestamp and signature."""
    _, timestamp, signature = token.rsplit(":", 2)
    body = signing.b64_encode(signing.JSONSerializer().dumps(payload)).decode()
    return f"{body}:{timestamp}:{signature}"


def test_forged_or_reused_links_are_refused(station, firmware, caplog):
    other_station = StationFactory(charger_model=station.charger_model)
    other_firmware = add_firmware_file(station, name="fw-3.0.bin")
    url = services.firmware_location(station=station, firmware=firmware)
    token = url.split("/")[-2]
    refused = {
        "garbage": "/files/firmware/not-a-token/fw-2.0.bin",
        "other station": f"/files/firmware/{_forge(token, [other_station.pk, firmware.pk])}"
        "/fw-2.0.bin",
        "other firmware": f"/files/firmware/{_forge(token, [station.pk, other_firmware.pk])}"
        "/fw-3.0.bin",
        "other file name": f"/files/firmware/{token}/fw-3.0.bin",
    }
    for case, path in refused.items():
        response = Client().get(path)
        assert response.status_code == 404, case
        assert response["Content-Type"].startswith("text/plain"), case
    assert Client().get(path_of(url)).status_code == 200  # the genuine link still works
    assert FirmwareDownload.objects.count() == 1
    assert "Firmware link refused" in caplog.text


def test_link_to_a_file_gone_from_storage_is_404(station, firmware):
    url = services.firmware_location(station=station, firmware=firmware)
    firmware.file.storage.delete(firmware.file.name)
    response = Client().get(path_of(url))
    assert response.status_code == 404
    assert b"missing on the lab side" in response.content
