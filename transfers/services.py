"""Domain actions on file transfers: FTP accounts, location URIs, firmware links, records.

The FTP server and the firmware view call these; test steps call the location builders.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import string
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from stations.models import FirmwareVersion, Station
from transfers.models import DiagnosticsFile, FirmwareDownload, FtpAccount, Protocol

logger = logging.getLogger("transfers")

DIAGNOSTICS_DIR = "diagnostics"
FIRMWARE_DIR = "firmware"
_TOKEN_SALT = "transfers.firmware-link"
# Letters and digits only: the password sits inside a URI and station firmware parses those
# with varying care.
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


# --- FTP accounts ------------------------------------------------------------------------------


def ftp_account_get_or_create(*, station: Station) -> FtpAccount:
    account = FtpAccount.objects.filter(station=station).first()
    if account is None:
        account = FtpAccount.objects.create(
            station=station, username=f"station{station.pk}", password=_new_password()
        )
    return account


def ftp_account_rotate(*, station: Station) -> FtpAccount:
    """A new password; locations sent before stop working."""
    account = ftp_account_get_or_create(station=station)
    account.password = _new_password()
    account.save(update_fields=["password"])
    return account


def _new_password() -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(24))


# --- Location URIs for GetDiagnostics and UpdateFirmware --------------------------------------


def _host() -> str:
    host = settings.CERTLAB_PUBLIC_HOST
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _ftp_base(account: FtpAccount) -> str:
    port = settings.CERTLAB_PUBLIC_FTP_PORT
    netloc = f"{quote(account.username, safe='')}:{quote(account.password, safe='')}@{_host()}"
    return f"ftp://{netloc}" + ("" if port == 21 else f":{port}")


def diagnostics_location(*, station: Station) -> str:
    """``ftp://user:pass@host:port/diagnostics/`` for GetDiagnostics.req."""
    return f"{_ftp_base(ftp_account_get_or_create(station=station))}/{DIAGNOSTICS_DIR}/"


def firmware_file_name(firmware: FirmwareVersion) -> str:
    return PurePosixPath(firmware.file.name).name


def firmware_location(
    *, station: Station, firmware: FirmwareVersion, protocol: str = Protocol.HTTP
) -> str:
    """The location for UpdateFirmware.req: a signed HTTP(S) link that expires, or FTP."""
    if not firmware.file:
        raise ValueError(f"Firmware {firmware} has no file to offer.")
    if firmware.charger_model_id != station.charger_model_id:
        raise ValueError(f"Firmware {firmware} is not for {station}'s model.")
    name = quote(firmware_file_name(firmware))
    if protocol == Protocol.FTP:
        account = ftp_account_get_or_create(station=station)
        return f"{_ftp_base(account)}/{FIRMWARE_DIR}/{name}"
    if protocol != Protocol.HTTP:
        raise ValueError(f"Unknown protocol {protocol!r}.")
    scheme = "https" if settings.CERTLAB_HTTPS else "http"
    port = settings.CERTLAB_PUBLIC_HTTP_PORT
    default_port = 443 if scheme == "https" else 80
    netloc = _host() + ("" if port == default_port else f":{port}")
    token = firmware_token_make(station=station, firmware=firmware)
    return f"{scheme}://{netloc}/files/firmware/{token}/{name}"


# --- Signed firmware links ---------------------------------------------------------------------


class FirmwareLinkError(Exception):
    """A firmware link that is forged, broken or no longer valid; the message says which."""

    def __init__(self, message: str, *, expired: bool = False, missing: bool = False) -> None:
        super().__init__(message)
        self.expired = expired
        self.missing = missing


def firmware_token_make(*, station: Station, firmware: FirmwareVersion) -> str:
    return signing.dumps([station.pk, firmware.pk], salt=_TOKEN_SALT, compress=False)


def firmware_token_read(token: str) -> tuple[int, int]:
    """(station id, firmware id) from a link's token; raises FirmwareLinkError."""
    max_age = settings.CERTLAB_FIRMWARE_URL_MAX_AGE
    try:
        station_id, firmware_id = signing.loads(token, salt=_TOKEN_SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise FirmwareLinkError(
            f"This firmware link has expired ({error}); ask the lab for a new one.",
            expired=True,
        ) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise FirmwareLinkError("This firmware link is not valid.") from None
    return int(station_id), int(firmware_id)


# --- Records -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Digest:
    size: int
    sha256: str


def file_digest(path: Path) -> Digest:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
            size += len(chunk)
    return Digest(size=size, sha256=sha.hexdigest())


def diagnostics_file_store(
    *,
    station: Station,
    file_name: str,
    path: Path,
    started,
    remote_address: str | None = None,
) -> DiagnosticsFile:
    """Move an upload that arrived whole from the FTP spool into Django's storage and record it.

    Raises OSError when storage fails (a full disk); the caller records the failure.
    """
    digest = file_digest(path)
    record = DiagnosticsFile(
        station=station,
        file_name=file_name,
        size=digest.size,
        sha256=digest.sha256,
        started=started,
        remote_address=remote_address,
    )
    with path.open("rb") as handle:
        record.file.save(file_name, File(handle), save=False)
    record.received = timezone.now()
    record.complete = True
    record.save()
    logger.info(
        "Diagnostics %r from %s stored: %d bytes, sha256 %s",
        file_name, station, digest.size, digest.sha256,
    )  # fmt: skip
    return record


def diagnostics_file_record_failed(
    *,
    station: Station,
    file_name: str,
    size: int,
    started,
    error: str,
    remote_address: str | None = None,
) -> DiagnosticsFile:
    """Record an upload that did not arrive whole; its bytes are not kept."""
    logger.warning("Diagnostics %r from %s not stored: %s", file_name, station, error)
    return DiagnosticsFile.objects.create(
        station=station,
        file_name=file_name,
        size=size,
        started=started,
        received=timezone.now(),
        complete=False,
        error=error[:255],
        remote_address=remote_address,
    )


def firmware_link_resolve(token: str, filename: str) -> tuple[Station, FirmwareVersion]:
    """The station and the firmware a link names; raises FirmwareLinkError for a link that is
    forged or expired, and (``missing``) for one whose station, firmware or file is gone."""
    station_id, firmware_id = firmware_token_read(token)
    station = Station.objects.filter(pk=station_id).first()
    firmware = FirmwareVersion.objects.filter(pk=firmware_id).first()
    if (
        station is None
        or firmware is None
        or not firmware.file
        or filename != firmware_file_name(firmware)
    ):
        raise FirmwareLinkError("No such firmware file for this link.", missing=True)
    return station, firmware


def firmware_download_arrived(
    *, token: str, filename: str, remote_address: str | None = None
) -> FirmwareDownload | None:
    """Record a station's request for a firmware file as it reaches CertLab's server, before
    it waits in any queue; None for a link that will be refused (nothing to record)."""
    try:
        station, firmware = firmware_link_resolve(token, filename)
    except FirmwareLinkError:
        return None
    return FirmwareDownload.objects.create(
        station=station,
        firmware=firmware,
        protocol=Protocol.HTTP,
        file_name=filename,
        file_size=_size_or_zero(firmware),
        started=timezone.now(),
        remote_address=remote_address,
    )


def firmware_download_start(
    *,
    station: Station,
    firmware: FirmwareVersion,
    protocol: str,
    remote_address: str | None = None,
    arrived: int | None = None,
) -> FirmwareDownload:
    """CertLab begins sending the file: the request's row recorded on arrival (``arrived``, its
    id) or, for a request nothing recorded before (FTP, a server without the arrival record),
    a new one received and served now."""
    now = timezone.now()
    download = FirmwareDownload.objects.filter(pk=arrived).first() if arrived else None
    if download is None:
        return FirmwareDownload.objects.create(
            station=station,
            firmware=firmware,
            protocol=protocol,
            file_name=firmware_file_name(firmware),
            file_size=firmware.file.size,
            started=now,
            served=now,
            remote_address=remote_address,
        )
    # A request the station already gave up on keeps its record of that.
    if FirmwareDownload.objects.filter(pk=download.pk, finished__isnull=True).update(served=now):
        download.served = now
    return download


def firmware_download_unserved(*, arrived: int, answered: int | None) -> None:
    """End the record of a request CertLab's server is done with when no stream recorded its
    end: the station gave up before CertLab answered (``answered`` None: whatever the view did
    meanwhile, no byte went out), or CertLab answered an error (the HTTP status it sent)."""
    download = FirmwareDownload.objects.filter(pk=arrived, finished__isnull=True).first()
    if download is None:  # its stream recorded its end
        return
    now = timezone.now()
    waited = (now - download.started).total_seconds()
    error = (
        f"not served: CertLab answered HTTP {answered}"
        if answered
        else f"the station closed the connection after {waited:.1f} s, before CertLab began "
        "sending the file"
    )
    FirmwareDownload.objects.filter(pk=arrived, finished__isnull=True).update(
        served=None, finished=now, error=error[:255]
    )
    logger.warning("Firmware %s to %s not served: %s", download.file_name, download.station, error)


def _size_or_zero(firmware: FirmwareVersion) -> int:
    try:
        return firmware.file.size
    except OSError:  # the file is gone from storage: the view answers so
        return 0


def firmware_download_finish(
    *, download: FirmwareDownload, bytes_sent: int, complete: bool, error: str = ""
) -> FirmwareDownload:
    download.finished = timezone.now()
    download.bytes_sent = bytes_sent
    download.complete = complete and bytes_sent == download.file_size
    if not download.complete and not error:
        error = f"stopped after {bytes_sent} of {download.file_size} bytes"
    download.error = error[:255]
    download.save(update_fields=["finished", "bytes_sent", "complete", "error"])
    log = logger.info if download.complete else logger.warning
    log(
        "Firmware %s to %s over %s: %d of %d bytes%s",
        download.file_name, download.station, download.protocol, bytes_sent,
        download.file_size, "" if download.complete else f" ({download.error})",
    )  # fmt: skip
    return download


def storage_path(name: str) -> Path | None:
    """The local path of a stored file, or None when the storage is not a local disk."""
    try:
        return Path(default_storage.path(name))
    except NotImplementedError:
        return None
