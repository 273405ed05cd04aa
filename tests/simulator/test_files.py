"""UpdateFirmware over HTTP and FTP, GetDiagnostics over FTP: real files, real servers."""

from __future__ import annotations

import functools
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from ocpp.v16 import call
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

from simulator import defects as d
from simulator.files import firmware_version_from

pytestmark = pytest.mark.timeout(30)


def now_iso(delay: float = 0.0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=delay)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def http_dir(tmp_path):
    """An HTTP server in a thread, serving a directory; yields (directory, base url)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def ftp_dir(tmp_path):
    """A pyftpdlib server in a thread (user/pass); yields (directory, base url)."""
    root = tmp_path / "ftp"
    (root / "diag").mkdir(parents=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user("user", "pass", str(root), perm="elradfmwMT")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer})
    server = FTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"timeout": 0.1, "handle_exit": False}, daemon=True
    )
    thread.start()
    yield root, f"ftp://user:pass@127.0.0.1:{server.socket.getsockname()[1]}"
    server.close_all()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def statuses(cs, action: str, since: int = 0) -> list[str]:
    return [p["status"] for p in cs.payloads(action, since)]


@pytest.mark.asyncio
async def test_firmware_update_over_http_reboots_into_the_new_version(cs, make_sim, http_dir):
    root, base = http_dir
    (root / "fw.bin").write_text("version: 2.5.0\n" + "x" * 1000)
    sim = await make_sim(firmware="1.0.0")
    mark = cs.mark()
    await cs.call(call.UpdateFirmware(location=f"{base}/fw.bin", retrieve_date=now_iso()))
    installed = lambda p: p["status"] == "Installed"  # noqa: E731
    await cs.wait_for("FirmwareStatusNotification", installed, since=mark, timeout=10)
    assert statuses(cs, "FirmwareStatusNotification", mark) == [
        "Downloading",
        "Downloaded",
        "Installing",
        "Installed",
    ]
    boot = cs.calls("BootNotification", mark)[0]
    assert boot.payload["firmwareVersion"] == "2.5.0"
    installed_frame = cs.calls("FirmwareStatusNotification", mark)[-1]
    assert cs.frames.index(boot) < cs.frames.index(installed_frame)
    assert sim.firmware_version == "2.5.0"


@pytest.mark.asyncio
async def test_firmware_waits_for_the_retrieve_date_and_works_over_ftp(cs, make_sim, ftp_dir):
    root, base = ftp_dir
    (root / "certlab-fw-3.1.bin").write_bytes(b"\x00binary image")
    await make_sim()
    mark = cs.mark()
    await cs.call(
        call.UpdateFirmware(location=f"{base}/certlab-fw-3.1.bin", retrieve_date=now_iso(1.5))
    )
    await cs.assert_none("FirmwareStatusNotification", within=1.0, since=mark)
    boot = (await cs.wait_for("BootNotification", since=mark, timeout=10))[0]
    assert boot.payload["firmwareVersion"] == "certlab-fw-3.1"


@pytest.mark.asyncio
async def test_missing_firmware_file_reports_download_failed(cs, make_sim, http_dir):
    _, base = http_dir
    await make_sim()
    mark = cs.mark()
    await cs.call(
        call.UpdateFirmware(
            location=f"{base}/nope.bin", retrieve_date=now_iso(), retries=2, retry_interval=1
        )
    )
    failed = lambda p: p["status"] == "DownloadFailed"  # noqa: E731
    await cs.wait_for("FirmwareStatusNotification", failed, since=mark, timeout=10)
    assert statuses(cs, "FirmwareStatusNotification", mark) == ["Downloading", "DownloadFailed"]


@pytest.mark.asyncio
async def test_empty_firmware_file_fails_installation(cs, make_sim, http_dir):
    root, base = http_dir
    (root / "empty.bin").write_bytes(b"")
    await make_sim()
    mark = cs.mark()
    await cs.call(call.UpdateFirmware(location=f"{base}/empty.bin", retrieve_date=now_iso()))
    failed = lambda p: p["status"] == "InstallationFailed"  # noqa: E731
    await cs.wait_for("FirmwareStatusNotification", failed, since=mark, timeout=10)
    assert not cs.calls("BootNotification", mark)


@pytest.mark.asyncio
async def test_firmware_never_installed_defect(cs, make_sim, http_dir):
    root, base = http_dir
    (root / "fw.bin").write_text("version: 9\n")
    await make_sim(defects={d.FIRMWARE_NEVER_INSTALLED})
    mark = cs.mark()
    await cs.call(call.UpdateFirmware(location=f"{base}/fw.bin", retrieve_date=now_iso()))
    installing = lambda p: p["status"] == "Installing"  # noqa: E731
    await cs.wait_for("FirmwareStatusNotification", installing, since=mark, timeout=10)
    await cs.assert_none("BootNotification", within=1.5, since=mark)
    assert "Installed" not in statuses(cs, "FirmwareStatusNotification", mark)


def test_firmware_version_rule(tmp_path: Path):
    cases = {
        "a.bin": (b"Version: 4.2\nrest", "4.2"),
        "station-1.2.3.bin": (b"\x00\x01", "station-1.2.3"),
        "station-1.2.3": (b"data", "station-1.2.3"),
        "image.tar.gz": (b"data", "image"),
        "b.bin": (b"", None),
        "c.bin": (b"version:\n", None),
    }
    for name, (content, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        assert firmware_version_from(path) == expected, name


@pytest.mark.asyncio
async def test_diagnostics_are_uploaded_over_ftp(cs, make_sim, ftp_dir):
    root, base = ftp_dir
    await make_sim()
    mark = cs.mark()
    answer = await cs.call(call.GetDiagnostics(location=f"{base}/diag/"))
    assert answer.file_name and answer.file_name.endswith(".log")
    uploaded = lambda p: p["status"] == "Uploaded"  # noqa: E731
    await cs.wait_for("DiagnosticsStatusNotification", uploaded, since=mark, timeout=10)
    assert statuses(cs, "DiagnosticsStatusNotification", mark) == ["Uploading", "Uploaded"]
    content = (root / "diag" / answer.file_name).read_text()
    assert '"BootNotification"' in content  # the station's own frame log


@pytest.mark.asyncio
async def test_diagnostics_upload_failure_is_reported(cs, make_sim):
    await make_sim()
    mark = cs.mark()
    location = f"ftp://user:pass@127.0.0.1:{closed_port()}/"
    await cs.call(call.GetDiagnostics(location=location))
    failed = lambda p: p["status"] == "UploadFailed"  # noqa: E731
    await cs.wait_for("DiagnosticsStatusNotification", failed, since=mark, timeout=10)


@pytest.mark.asyncio
async def test_diagnostics_upload_fails_defect(cs, make_sim, ftp_dir):
    root, base = ftp_dir
    await make_sim(defects={d.DIAGNOSTICS_UPLOAD_FAILS})
    mark = cs.mark()
    await cs.call(call.GetDiagnostics(location=f"{base}/diag/"))
    failed = lambda p: p["status"] == "UploadFailed"  # noqa: E731
    await cs.wait_for("DiagnosticsStatusNotification", failed, since=mark, timeout=10)
    assert statuses(cs, "DiagnosticsStatusNotification", mark) == ["Uploading", "UploadFailed"]
    assert list((root / "diag").iterdir()) == []
