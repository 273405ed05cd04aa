"""The FTP server with a real FTP client (ftplib): what stations may do, and everything refused."""

from __future__ import annotations

import contextlib
import ftplib
import hashlib
import io
import logging
import os
from datetime import timedelta

import pytest
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import StationFactory
from tests.transfers.conftest import FIRMWARE_BYTES, add_firmware_file
from transfers import ftp_server as server_module
from transfers import services
from transfers.models import DiagnosticsFile, FirmwareDownload
from transfers.selectors import diagnostics_files_for

DIAGNOSTICS = b"2026-01-01T00:00:00Z boot ok\n" * 2000


def upload(ftp: ftplib.FTP, name: str, data: bytes, folder: str = "/diagnostics/") -> str:
    if folder:
        ftp.cwd(folder)
    return ftp.storbinary(f"STOR {name}", io.BytesIO(data))


def upload_cut_off(ftp: ftplib.FTP, name: str, data: bytes) -> str:
    """Upload into /diagnostics/ when the server is expected to abort: the reply it sent."""
    ftp.cwd("/diagnostics/")
    ftp.voidcmd("TYPE I")
    # The server closes the data connection mid-way, as it should.
    with ftp.transfercmd(f"STOR {name}") as conn, contextlib.suppress(OSError):
        conn.sendall(data)
    with pytest.raises((ftplib.error_temp, ftplib.error_perm)) as refusal:
        ftp.voidresp()
    return str(refusal.value)


def spool_files(settings) -> list[str]:
    root = settings.CERTLAB_FTP_ROOT
    return [
        os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files
    ]


# --- uploads ---------------------------------------------------------------------------------


def test_upload_is_stored_with_size_and_sha256_before_the_226_reply(
    ftp_server, station, account, settings
):
    asked = timezone.now()
    with ftp_server.client(account.username, account.password) as ftp:
        reply = upload(ftp, "diag-001.zip", DIAGNOSTICS)

    assert reply.startswith("226")
    record = DiagnosticsFile.objects.get()
    assert record.station == station
    assert record.complete
    assert record.size == len(DIAGNOSTICS)
    assert record.sha256 == hashlib.sha256(DIAGNOSTICS).hexdigest()
    assert record.file.name.startswith(f"diagnostics/{station.charge_point_id}/")
    with default_storage.open(record.file.name) as stored:
        assert stored.read() == DIAGNOSTICS
    assert record.remote_address == "127.0.0.1"
    assert asked <= record.started <= record.received
    assert spool_files(settings) == []  # nothing left behind in the FTP folders
    assert list(diagnostics_files_for(station=station, file_name="diag-001.zip", since=asked)) == [
        record
    ]
    assert not diagnostics_files_for(
        station=station, file_name="diag-001.zip", since=asked + timedelta(seconds=60)
    ).exists()


def test_two_uploads_with_the_same_name_are_both_kept(ftp_server, station, account):
    with ftp_server.client(account.username, account.password) as ftp:
        upload(ftp, "diag.txt", b"first")
        upload(ftp, "diag.txt", b"second", folder="")

    first, second = diagnostics_files_for(station=station, file_name="diag.txt")
    assert first.file.name != second.file.name
    assert (first.file.read(), second.file.read()) == (b"first", b"second")


# --- logins ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["wrong password", "unknown user", "other station's password"])
def test_wrong_credentials_are_refused_and_logged(ftp_server, station, account, who, caplog):
    other = services.ftp_account_get_or_create(station=StationFactory())
    username, password = {
        "wrong password": (account.username, account.password + "x"),
        "unknown user": ("station999999", account.password),
        "other station's password": (account.username, other.password),
    }[who]
    with ftp_server.client() as ftp, caplog.at_level(logging.WARNING, "transfers.ftp"):
        with pytest.raises(ftplib.error_perm, match="530 Authentication failed"):
            ftp.login(username, password)
        # The session stays usable: the right password still works afterwards.
        assert ftp.login(account.username, account.password).startswith("230")
    assert f"FTP login refused for user {username!r}" in caplog.text
    assert "wrong credentials" in caplog.text


def test_inactive_account_is_refused(ftp_server, account):
    account.is_active = False
    account.save()
    with ftp_server.client() as ftp, pytest.raises(ftplib.error_perm, match="530"):
        ftp.login(account.username, account.password)


def test_anonymous_login_is_refused_and_logged(ftp_server, account, caplog):
    with (
        ftp_server.client() as ftp,
        caplog.at_level(logging.WARNING, "transfers.ftp"),
        pytest.raises(ftplib.error_perm, match="530 Anonymous access not allowed"),
    ):
        ftp.login()  # ftplib's default: anonymous
    assert "anonymous login refused" in caplog.text


def test_commands_before_login_are_refused(ftp_server):
    with ftp_server.client() as ftp, pytest.raises(ftplib.error_perm, match="530"):
        ftp.storbinary("STOR x.txt", io.BytesIO(b"x"))
    assert not DiagnosticsFile.objects.exists()


# --- staying inside the station's folders ------------------------------------------------------


def test_path_traversal_cannot_reach_another_stations_folder(
    ftp_server, station, account, settings, caplog
):
    other = services.ftp_account_get_or_create(station=StationFactory())
    secret_dir = settings.CERTLAB_FTP_ROOT / other.username / "diagnostics"
    secret_dir.mkdir(parents=True)
    (secret_dir / "secret.txt").write_bytes(b"other station's data")
    traversals = [
        f"../{other.username}/diagnostics/secret.txt",
        f"/../../{other.username}/diagnostics/secret.txt",
        f"../../../{settings.CERTLAB_FTP_ROOT.name}/{other.username}/diagnostics/secret.txt",
        f"{settings.CERTLAB_FTP_ROOT}/{other.username}/diagnostics/secret.txt",
        "../../../../../../etc/passwd",
    ]
    with ftp_server.client(account.username, account.password) as ftp:
        ftp.cwd("/diagnostics")
        for path in traversals:
            with pytest.raises(ftplib.error_perm, match="550"):
                ftp.retrbinary(f"RETR {path}", lambda chunk: pytest.fail("data was sent"))
        with (
            caplog.at_level(logging.WARNING, "transfers.ftp"),
            pytest.raises(ftplib.error_perm, match="550"),
        ):
            upload(ftp, f"../{other.username}/diagnostics/planted.txt", b"x", folder="")
        ftp.cwd("../../..")
        assert ftp.pwd() == "/"  # the root is the station's own folder
        assert sorted(ftp.nlst()) == ["diagnostics", "firmware"]

    assert sorted(os.listdir(secret_dir)) == ["secret.txt"]
    assert not DiagnosticsFile.objects.exists()
    assert "FTP STOR" in caplog.text and "refused" in caplog.text


@pytest.mark.parametrize(
    "command",
    [
        "STOR /outside.txt",
        "STOR /firmware/fw-2.0.bin",
        "STOR /firmware/new.bin",
        "APPE /diagnostics/log.txt",
        "STOU /",
    ],
)
def test_writing_outside_the_diagnostics_folder_is_refused(
    ftp_server, station, account, firmware, command, settings
):
    with ftp_server.client(account.username, account.password) as ftp:
        with pytest.raises(ftplib.error_perm, match="550"):
            ftp.storbinary(command, io.BytesIO(b"overwrite attempt"))
        assert ftp.voidcmd("NOOP").startswith("200")  # the session carries on
    firmware.file.open("rb")
    assert firmware.file.read() == FIRMWARE_BYTES
    assert not DiagnosticsFile.objects.exists()
    assert spool_files(settings) == []


@pytest.mark.parametrize(
    "command",
    ["MKD /diagnostics/sub", "DELE /firmware/fw-2.0.bin", "RNFR /firmware/fw-2.0.bin", "RMD /x"],
)
def test_changing_folders_or_files_is_refused(ftp_server, account, firmware, command):
    with (
        ftp_server.client(account.username, account.password) as ftp,
        pytest.raises(ftplib.error_perm, match="550"),
    ):
        ftp.voidcmd(command)
    assert firmware.file.storage.exists(firmware.file.name)


def test_uploads_cannot_be_read_back_over_ftp(ftp_server, account, settings):
    with ftp_server.client(account.username, account.password) as ftp:
        # A file still arriving (say, over a second connection) sits in the spool folder.
        (settings.CERTLAB_FTP_ROOT / account.username / "diagnostics" / "diag.txt").write_text("x")
        ftp.cwd("/diagnostics/")
        with pytest.raises(ftplib.error_perm, match="550 Not enough privileges"):
            ftp.retrbinary("RETR diag.txt", lambda chunk: pytest.fail("data was sent"))


# --- size cap and disk space --------------------------------------------------------------------


def test_upload_over_the_size_cap_is_aborted_and_recorded_incomplete(
    ftp_server, station, account, settings, caplog
):
    ftp_server.handler.max_upload_bytes = 200_000
    with ftp_server.client(account.username, account.password) as ftp:
        with caplog.at_level(logging.WARNING, "transfers"):
            reply = upload_cut_off(ftp, "huge.bin", b"\0" * 2_000_000)
        assert reply.startswith("552 The file is larger than the lab accepts (200000 bytes)")
        # Nothing else disturbed: a file under the cap goes through in the same session.
        assert upload(ftp, "small.txt", b"fits", folder="").startswith("226")

    huge = DiagnosticsFile.objects.get(file_name="huge.bin")
    assert not huge.complete
    assert not huge.file
    assert 200_000 < huge.size < 2_000_000
    assert "552" in huge.error
    assert DiagnosticsFile.objects.get(file_name="small.txt").complete
    assert spool_files(settings) == []
    assert "not stored" in caplog.text


def test_upload_is_refused_when_the_disk_is_already_full(ftp_server, account, monkeypatch, caplog):
    monkeypatch.setattr(ftp_server.handler, "min_free_bytes", 1000)
    monkeypatch.setattr(server_module, "disk_free_bytes", lambda path: 10)
    with (
        ftp_server.client(account.username, account.password) as ftp,
        caplog.at_level(logging.WARNING, "transfers.ftp"),
        pytest.raises(ftplib.error_temp, match="452 Not enough disk space"),
    ):
        upload(ftp, "diag.txt", DIAGNOSTICS)
    # Nothing kept, but on record: the station's UploadFailed was the lab's disk.
    refused = DiagnosticsFile.objects.get()
    assert (refused.file_name, refused.complete, refused.size) == ("diag.txt", False, 0)
    assert refused.error.startswith("452 Not enough disk space on the lab side")
    assert "not enough disk space" in caplog.text


def test_disk_filling_up_during_an_upload_aborts_it_and_keeps_no_partial_file(
    ftp_server, station, account, monkeypatch, settings
):
    calls = {"n": 0}

    def filling_disk(path) -> int:
        calls["n"] += 1
        return 10**9 if calls["n"] < 4 else 0

    monkeypatch.setattr(ftp_server.handler, "min_free_bytes", 1000)
    monkeypatch.setattr(server_module, "disk_free_bytes", filling_disk)
    with ftp_server.client(account.username, account.password) as ftp:
        reply = upload_cut_off(ftp, "diag.bin", b"\1" * 3_000_000)
        assert reply.startswith("452 Not enough disk space")

    record = DiagnosticsFile.objects.get()
    assert not record.complete
    assert not record.file
    assert 0 < record.size < 3_000_000
    assert spool_files(settings) == []


def test_storage_failing_when_moving_the_upload_is_reported_not_recorded_complete(
    ftp_server, station, account, monkeypatch
):
    def disk_full(self, name, content, max_length=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", disk_full)
    with (
        ftp_server.client(account.username, account.password) as ftp,
        pytest.raises(ftplib.error_temp, match="452 The lab could not store the file"),
    ):
        upload(ftp, "diag.txt", DIAGNOSTICS)

    record = DiagnosticsFile.objects.get()
    assert not record.complete
    assert not record.file
    assert "No space left on device" in record.error


# --- firmware over FTP --------------------------------------------------------------------------


def test_firmware_download_over_ftp_is_recorded(ftp_server, station, account, firmware):
    other_models_firmware = add_firmware_file(StationFactory(), name="other.bin")
    location = services.firmware_location(station=station, firmware=firmware, protocol="ftp")
    assert location.endswith("/firmware/fw-2.0.bin")
    received = bytearray()
    with ftp_server.client(account.username, account.password) as ftp:
        assert ftp.nlst("/firmware") == ["fw-2.0.bin"]
        ftp.voidcmd("TYPE I")
        assert ftp.size("/firmware/fw-2.0.bin") == len(FIRMWARE_BYTES)
        reply = ftp.retrbinary("RETR /firmware/fw-2.0.bin", received.extend)
        with pytest.raises(ftplib.error_perm, match="550"):
            ftp.retrbinary("RETR /firmware/other.bin", received.extend)

    assert reply.startswith("226")
    assert bytes(received) == FIRMWARE_BYTES
    download = FirmwareDownload.objects.get()
    assert (download.station, download.firmware, download.protocol) == (station, firmware, "ftp")
    assert download.complete
    assert download.bytes_sent == download.file_size == len(FIRMWARE_BYTES)
    assert download.finished >= download.started
    assert not other_models_firmware.downloads.exists()


def test_firmware_download_cut_short_is_recorded_incomplete(ftp_server, station, account):
    big = b"\xab" * (48 * 2**20)  # more than the socket buffers hold
    add_firmware_file(station, name="big.bin", content=big)
    with ftp_server.client(account.username, account.password) as ftp:
        ftp.voidcmd("TYPE I")
        data = ftp.transfercmd("RETR /firmware/big.bin")
        assert len(data.recv(65536)) > 0
        data.close()
        with pytest.raises(ftplib.error_temp, match="426"):
            ftp.voidresp()

    download = FirmwareDownload.objects.get()
    assert not download.complete
    assert 0 < download.bytes_sent < len(big)
    assert download.error


def test_ftpserver_command_refuses_a_host_name_as_masquerade_address(settings):
    settings.CERTLAB_FTP_MASQUERADE_ADDRESS = "lab.example.com"
    with pytest.raises(CommandError, match="must be an IP address"):
        call_command("ftpserver", "--port", "0")
