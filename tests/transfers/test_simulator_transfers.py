"""The simulator's own FTP upload and download against CertLab's server and location URIs."""

from __future__ import annotations

import hashlib

import pytest

from tests.transfers.conftest import FIRMWARE_BYTES
from transfers import services
from transfers.models import DiagnosticsFile, FirmwareDownload

sim_transfers = pytest.importorskip("simulator.transfers")


def test_simulator_uploads_diagnostics_and_downloads_firmware(
    ftp_server, station, firmware, settings, tmp_path
):
    settings.CERTLAB_PUBLIC_HOST = "127.0.0.1"
    settings.CERTLAB_PUBLIC_FTP_PORT = ftp_server.port
    report = tmp_path / "diag-sim.log"
    report.write_bytes(b"simulated diagnostics\n" * 100)

    sim_transfers.upload(services.diagnostics_location(station=station), report)
    fetched = sim_transfers.download(
        services.firmware_location(station=station, firmware=firmware, protocol="ftp"),
        tmp_path / "fetched",
    )

    upload = DiagnosticsFile.objects.get()
    assert (upload.file_name, upload.complete) == ("diag-sim.log", True)
    assert upload.sha256 == hashlib.sha256(report.read_bytes()).hexdigest()
    assert fetched.read_bytes() == FIRMWARE_BYTES
    assert FirmwareDownload.objects.get().complete
