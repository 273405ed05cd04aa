"""File transfers a charger does: firmware download (HTTP, HTTPS, FTP) and diagnostics upload.

Blocking standard-library clients (urllib, ftplib); callers run them with ``asyncio.to_thread``
so the OCPP connection keeps serving while a file moves.
"""

from __future__ import annotations

import ftplib
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

TIMEOUT_S = 20.0


class TransferError(Exception):
    """A download or upload failed; the message says why (shown in the station's log)."""


def download(url: str, directory: Path, timeout: float = TIMEOUT_S) -> Path:
    """Fetch ``url`` into ``directory``; returns the local file (named after the URL's file)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ftp"):
        raise TransferError(f"unsupported scheme {parts.scheme!r}")
    name = Path(unquote(parts.path)).name or "firmware.bin"
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    try:
        # urllib's FTP handler understands ftp://user:password@host:port/path as well.
        with urllib.request.urlopen(url, timeout=timeout) as response:
            target.write_bytes(response.read())
    except (OSError, ValueError) as error:
        raise TransferError(f"download of {url} failed: {error}") from error
    return target


def upload(location: str, path: Path, timeout: float = TIMEOUT_S) -> None:
    """Upload ``path`` into the directory ``location`` (ftp://user:pass@host:port/dir/)."""
    parts = urlsplit(location)
    if parts.scheme == "ftp":
        _upload_ftp(location, path, timeout)
    elif parts.scheme in ("http", "https"):
        _upload_http(location, path, timeout)
    else:
        raise TransferError(f"unsupported scheme {parts.scheme!r}")


def _upload_ftp(location: str, path: Path, timeout: float) -> None:
    parts = urlsplit(location)
    ftp = ftplib.FTP(timeout=timeout)
    try:
        ftp.connect(parts.hostname or "", parts.port or 21)
        ftp.login(unquote(parts.username or "anonymous"), unquote(parts.password or ""))
        directory = unquote(parts.path)
        if directory not in ("", "/"):
            ftp.cwd(directory)
        with path.open("rb") as handle:
            ftp.storbinary(f"STOR {path.name}", handle)
        ftp.quit()
    except (OSError, ftplib.Error, EOFError) as error:
        ftp.close()
        raise TransferError(f"upload to {parts.hostname} failed: {error}") from error


def _upload_http(location: str, path: Path, timeout: float) -> None:
    url = location.rstrip("/") + "/" + path.name
    request = urllib.request.Request(url, data=path.read_bytes(), method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            pass
    except (OSError, ValueError) as error:
        raise TransferError(f"upload to {url} failed: {error}") from error
