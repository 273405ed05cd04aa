"""CertLab's FTP server (pyftpdlib): diagnostics uploads in, firmware out, every transfer recorded.

Each station logs in with the account CertLab generated for it and sees two folders:
``/diagnostics/`` where it may only write new files, and ``/firmware/`` where it may only read the
firmware files of its own model. An upload lands in a spool folder of its own on disk and is
moved into Django's storage before the server answers 226, so "Transfer complete" means the lab
holds the file. Everything refused (bad logins, anonymous, paths outside the folders, oversize
files, a full disk) is answered with an FTP error, logged, and disturbs no other session.

The server is single-threaded: database work runs in the IO loop, which is fine for the handful
of stations a lab serves at a time.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path

from django.db import close_old_connections, connection
from django.utils import timezone
from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.exceptions import FilesystemError
from pyftpdlib.filesystems import AbstractedFS
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.servers import FTPServer

from transfers import selectors, services
from transfers.models import FtpAccount, Protocol
from transfers.services import DIAGNOSTICS_DIR, FIRMWARE_DIR

logger = logging.getLogger("transfers.ftp")

_ANONYMOUS = {"anonymous", "ftp"}


def disk_free_bytes(path: Path) -> int:
    """Free space where uploads land (a module function so tests can simulate a full disk)."""
    return shutil.disk_usage(path).free


def _db_ready() -> None:
    # A long-running process must drop connections that died or aged out before using one.
    # Inside a transaction (only ever in tests, which share theirs) there is nothing to refresh.
    if not connection.in_atomic_block:
        close_old_connections()


class StationAuthorizer:
    """Logins are CertLab's FTP accounts; permissions follow the two-folder layout."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def validate_authentication(self, username: str, password: str, handler) -> None:
        remote = handler.remote_ip
        if username.lower() in _ANONYMOUS:
            logger.warning("FTP anonymous login refused from %s", remote)
            raise AuthenticationFailed("Anonymous access not allowed.")
        _db_ready()
        account = (
            FtpAccount.objects.select_related("station__charger_model")
            .filter(username=username, is_active=True)
            .first()
        )
        if account is None or not secrets.compare_digest(
            account.password.encode(), password.encode()
        ):
            logger.warning(
                "FTP login refused for user %r from %s: wrong credentials", username, remote
            )
            raise AuthenticationFailed("Authentication failed.")
        handler.station = account.station

    def get_home_dir(self, username: str) -> str:
        home = self.root / username
        for folder in (DIAGNOSTICS_DIR, FIRMWARE_DIR):
            (home / folder).mkdir(parents=True, exist_ok=True)
        return str(home)

    def has_perm(self, username: str, perm: str, path: str | None = None) -> bool:
        if path is None:
            return perm in self.get_perms(username)
        home = os.path.realpath(self.root / username)
        relative = os.path.relpath(os.path.realpath(path), home)
        if relative == ".":
            allowed = "el"
        else:
            top, _, rest = relative.partition(os.sep)
            if os.sep in rest:
                allowed = ""
            elif top == DIAGNOSTICS_DIR:
                allowed = "elw"  # write new files; no reading back, deleting or renaming
            elif top == FIRMWARE_DIR:
                allowed = "elr"
            else:
                allowed = ""
        return perm in allowed

    def get_perms(self, username: str) -> str:
        return "elrw"

    def get_msg_login(self, username: str) -> str:
        return "Welcome to CertLab."

    def get_msg_quit(self, username: str) -> str:
        return "Goodbye."

    def impersonate_user(self, username: str, password: str) -> None:
        pass

    def terminate_impersonation(self, username: str) -> None:
        pass


class StationFS(AbstractedFS):
    """The station's folder, with ``/firmware/`` showing its model's firmware from storage."""

    def __init__(self, root: str, cmd_channel: StationFTPHandler) -> None:
        super().__init__(root, cmd_channel)
        self._firmware_dir = os.path.join(root, FIRMWARE_DIR)
        self._firmware = {}
        for firmware in selectors.firmware_offered_to(station=cmd_channel.station):
            local = services.storage_path(firmware.file.name)
            if local is not None:
                self._firmware[services.firmware_file_name(firmware)] = (firmware, str(local))

    def firmware_at(self, path: str):
        if os.path.dirname(path) == self._firmware_dir:
            entry = self._firmware.get(os.path.basename(path))
            return entry[0] if entry else None
        return None

    def _real(self, path: str) -> str:
        if os.path.dirname(path) == self._firmware_dir:
            entry = self._firmware.get(os.path.basename(path))
            if entry:
                return entry[1]
        return path

    def open(self, filename: str, mode: str):
        if os.path.dirname(filename) == self._firmware_dir and ("r" not in mode or "+" in mode):
            raise FilesystemError("The firmware folder is read-only")
        return open(self._real(filename), mode)  # the FTP handler closes it

    def listdir(self, path: str) -> list[str]:
        if path == self._firmware_dir:
            return sorted(self._firmware)
        return super().listdir(path)

    listdirinfo = listdir

    def stat(self, path: str):
        return super().stat(self._real(path))

    def lstat(self, path: str):
        return super().lstat(self._real(path))

    def isfile(self, path: str) -> bool:
        return super().isfile(self._real(path))

    def islink(self, path: str) -> bool:
        return super().islink(self._real(path))

    def getsize(self, path: str) -> int:
        return super().getsize(self._real(path))

    def getmtime(self, path: str) -> float:
        return super().getmtime(self._real(path))

    def lexists(self, path: str) -> bool:
        return super().lexists(self._real(path))


class GuardedDTPHandler(DTPHandler):
    """A data channel that enforces the size cap and free space, and records before replying."""

    def handle_read(self) -> None:
        super().handle_read()
        if self._closed or not self.receive:
            return
        handler = self.cmd_channel
        if self.tot_bytes_received > handler.max_upload_bytes:
            self._abort(
                f"552 The file is larger than the lab accepts ({handler.max_upload_bytes} bytes); "
                "transfer aborted."
            )
        elif disk_free_bytes(handler.spool_root) < handler.min_free_bytes:
            self._abort("452 Not enough disk space on the lab side; transfer aborted.")

    # pyftpdlib's IO loop calls handle_read_event, bound to the base class's handle_read.
    handle_read_event = handle_read

    def _abort(self, response: str) -> None:
        self.transfer_finished = False
        self._resp = (response, logger.warning)
        self.close()

    def close(self) -> None:
        if not self._closed and self.file_obj is not None:
            try:
                self.cmd_channel.transfer_closing(self)
            except Exception:
                logger.exception("Recording a transfer failed")
                if self.receive:
                    self.transfer_finished = False
                    message = "451 The lab could not record the file; transfer aborted."
                    self._resp = (message, logger.error)
        super().close()


class StationFTPHandler(FTPHandler):
    """One station's FTP session."""

    abstracted_fs = StationFS
    dtp_handler = GuardedDTPHandler
    banner = "CertLab FTP server ready."
    use_sendfile = False  # count bytes through send() the same way for every transfer
    # Set by build_server:
    spool_root: Path
    max_upload_bytes: int
    min_free_bytes: int

    station = None
    _upload_started = None
    _firmware_download = None

    def flush_account(self) -> None:
        super().flush_account()
        self.station = None

    # --- commands

    def ftp_STOR(self, file: str, mode: str = "w"):
        if self._restart_position:
            self._restart_position = 0
            self.respond("554 Resuming uploads is not supported; send the whole file.")
            return None
        if not self._enough_space(Path(file).name):
            return None
        self._upload_started = timezone.now()
        return super().ftp_STOR(file, mode)

    def ftp_STOU(self, line: str):
        if not self._enough_space():
            return None
        self._upload_started = timezone.now()
        return super().ftp_STOU(line)

    def ftp_RETR(self, file: str):
        firmware = self.fs.firmware_at(file)
        download = None
        if firmware is not None:
            download = services.firmware_download_start(
                station=self.station,
                firmware=firmware,
                protocol=Protocol.FTP,
                remote_address=self.remote_ip or None,
            )
        result = super().ftp_RETR(file)
        if result and download is not None:
            self._firmware_download = download
        elif download is not None:
            services.firmware_download_finish(
                download=download, bytes_sent=0, complete=False, error="could not open the file"
            )
        return result

    def _enough_space(self, file_name: str = "") -> bool:
        if disk_free_bytes(self.spool_root) >= self.min_free_bytes:
            return True
        logger.warning("FTP upload by %s refused: not enough disk space", self.station)
        reply = "452 Not enough disk space on the lab side."
        if file_name and self.station is not None:
            # On record, so that a step knows the station's UploadFailed was CertLab's disk.
            try:
                _db_ready()
                services.diagnostics_file_record_failed(
                    station=self.station, file_name=file_name, size=0, started=timezone.now(),
                    error=reply, remote_address=self.remote_ip or None,
                )  # fmt: skip
            except Exception:
                logger.exception("Recording a refused upload failed")
        self.respond(reply)
        return False

    # --- transfers finishing (called by the data channel before it replies)

    def transfer_closing(self, dtp: GuardedDTPHandler) -> None:
        if not dtp.file_obj.closed:
            dtp.file_obj.close()
        _db_ready()
        if dtp.receive:
            self._upload_closing(dtp, Path(dtp.file_obj.name))
        else:
            self._download_closing(dtp)

    def _upload_closing(self, dtp: GuardedDTPHandler, path: Path) -> None:
        started, self._upload_started = self._upload_started or timezone.now(), None
        common = {
            "station": self.station,
            "file_name": path.name,
            "started": started,
            "remote_address": self.remote_ip or None,
        }
        try:
            if dtp.transfer_finished:
                try:
                    services.diagnostics_file_store(path=path, **common)
                except OSError as error:
                    dtp.transfer_finished = False
                    message = "452 The lab could not store the file; transfer aborted."
                    dtp._resp = (message, logger.warning)
                    services.diagnostics_file_record_failed(
                        size=dtp.tot_bytes_received, error=f"could not store: {error}", **common
                    )
            else:
                reason = dtp._resp[0] if dtp._resp else "the transfer did not finish"
                services.diagnostics_file_record_failed(
                    size=dtp.tot_bytes_received, error=reason, **common
                )
        finally:
            path.unlink(missing_ok=True)

    def _download_closing(self, dtp: GuardedDTPHandler) -> None:
        download, self._firmware_download = self._firmware_download, None
        if download is None:
            return
        error = "" if dtp.transfer_finished else (dtp._resp[0] if dtp._resp else "")
        services.firmware_download_finish(
            download=download,
            bytes_sent=dtp.tot_bytes_sent,
            complete=dtp.transfer_finished,
            error=error,
        )

    # --- logging

    def log_cmd(self, cmd: str, arg: str, respcode: int, respstr: str) -> None:
        if respcode >= 400 and cmd not in {"PASS", "USER"}:
            shown = arg
            if self.authenticated and arg and os.path.isabs(arg):
                shown = self.fs.fs2ftp(arg)
            logger.warning(
                "FTP %s %r refused for %r (station %s) from %s: %s %s",
                cmd, shown, self.username, self.station, self.remote_ip, respcode, respstr,
            )  # fmt: skip
        super().log_cmd(cmd, arg, respcode, respstr)


def build_server(
    *,
    host: str,
    port: int,
    root: Path,
    max_upload_bytes: int,
    min_free_bytes: int,
    passive_ports: tuple[int, int] | None = None,
    masquerade_address: str | None = None,
    auth_failed_delay: float = 3.0,
    ioloop=None,
) -> FTPServer:
    """An FTP server bound to host:port (port 0: any free one); call ``serve_forever()``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    handler = type(
        "ConfiguredStationFTPHandler",
        (StationFTPHandler,),
        {
            "authorizer": StationAuthorizer(root),
            "spool_root": root,
            "max_upload_bytes": max_upload_bytes,
            "min_free_bytes": min_free_bytes,
            "passive_ports": list(range(passive_ports[0], passive_ports[1] + 1))
            if passive_ports
            else None,
            "masquerade_address": masquerade_address,
            # Slows down password guessing; tests shorten it.
            "auth_failed_timeout": auth_failed_delay,
        },
    )
    server = FTPServer((host, port), handler, ioloop=ioloop)
    server.max_cons = 256
    server.max_cons_per_ip = 32
    return server
