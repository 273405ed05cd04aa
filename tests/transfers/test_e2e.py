"""End to end: the FTP server and daphne as real processes, reached the way a station does,
through the location URIs CertLab sends it."""

from __future__ import annotations

import ftplib
import hashlib
import io
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from django.core.files.storage import default_storage

from tests.processes import (
    PYTHON,
    ManagedProcess,
    daphne,
    free_port,
    test_database_url,
    wait_for_port,
)
from tests.transfers.conftest import FIRMWARE_BYTES
from transfers import services
from transfers.models import DiagnosticsFile, FirmwareDownload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def child_env(settings) -> dict[str, str]:
    """The child process uses the test's database, storage and signing key."""
    return {
        "DATABASE_URL": test_database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CERTLAB_FTP_ROOT": str(settings.CERTLAB_FTP_ROOT),
        "SECRET_KEY": settings.SECRET_KEY,
        "CERTLAB_FTP_MIN_FREE_BYTES": "0",
    }


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise TimeoutError("condition not met")


def test_station_uploads_diagnostics_and_fetches_firmware_through_the_ftp_server_process(
    settings, station, firmware, tmp_path: Path
):
    port, passive = free_port(), free_port()
    settings.CERTLAB_PUBLIC_HOST = "127.0.0.1"
    settings.CERTLAB_PUBLIC_FTP_PORT = port
    diagnostics = b"diagnostics of a real station\n" * 5000
    command = [
        PYTHON, "manage.py", "ftpserver", "--host", "127.0.0.1", "--port", str(port),
        "--passive-ports", f"{passive}-{passive}", "--auth-failed-delay", "0.1",
    ]  # fmt: skip
    with ManagedProcess(command, log_path=tmp_path / "ftp.log", env=child_env(settings)) as ftpd:
        ftpd.wait_for_log("CertLab FTP server listening")

        # GetDiagnostics: the station uploads into the location it was given.
        location = urlsplit(services.diagnostics_location(station=station))
        with ftplib.FTP(timeout=10) as ftp:
            ftp.connect(location.hostname, location.port)
            ftp.login(unquote(location.username), unquote(location.password))
            ftp.cwd(location.path)
            reply = ftp.storbinary("STOR diag-e2e.tar.gz", io.BytesIO(diagnostics))
        assert reply.startswith("226")

        # UpdateFirmware over FTP, fetched the way the simulator does it (urllib).
        url = services.firmware_location(station=station, firmware=firmware, protocol="ftp")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == FIRMWARE_BYTES

        with ftplib.FTP(timeout=10) as ftp:
            ftp.connect("127.0.0.1", port)
            with pytest.raises(ftplib.error_perm, match="530"):
                ftp.login(unquote(location.username), "not-the-password")

    assert ftpd.proc.returncode == 0, ftpd.log()
    assert "wrong credentials" in ftpd.log()
    upload = DiagnosticsFile.objects.get()
    assert (upload.station, upload.file_name, upload.complete) == (station, "diag-e2e.tar.gz", True)
    assert upload.sha256 == hashlib.sha256(diagnostics).hexdigest()
    with default_storage.open(upload.file.name) as stored:
        assert stored.read() == diagnostics
    download = wait_for(lambda: FirmwareDownload.objects.filter(finished__isnull=False).first())
    assert (download.protocol, download.complete, download.bytes_sent) == (
        "ftp",
        True,
        len(FIRMWARE_BYTES),
    )


def test_firmware_link_through_daphne_until_it_is_tampered_with(
    settings, station, firmware, tmp_path: Path
):
    port = free_port()
    settings.CERTLAB_PUBLIC_HOST = "127.0.0.1"
    settings.CERTLAB_PUBLIC_HTTP_PORT = port
    settings.CERTLAB_HTTPS = False
    url = services.firmware_location(station=station, firmware=firmware)
    with daphne(port, log_path=tmp_path / "daphne.log", env=child_env(settings)) as server:
        wait_for_port(port)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == FIRMWARE_BYTES

        token = url.split("/")[-2]
        tampered = url.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(tampered, timeout=10)
        assert refused.value.code == 404
        assert b"not valid" in refused.value.read()

        download = wait_for(lambda: FirmwareDownload.objects.filter(finished__isnull=False).first())
    assert (download.protocol, download.complete, download.bytes_sent) == (
        "http",
        True,
        len(FIRMWARE_BYTES),
    ), server.log()
    assert FirmwareDownload.objects.count() == 1
