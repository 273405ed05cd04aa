"""UpdateFirmware and GetDiagnostics: real files over real FTP/HTTP.

Firmware version rule: the installed version is taken from the downloaded file. If its first
line reads ``version: X`` (any case), the version is X; otherwise it is the file name without a
firmware-like extension (``.bin .img .fw .hex .zip .gz .tgz .tar .txt``), so
``certlab-fw-2.1.0.bin`` installs version ``certlab-fw-2.1.0``. An empty file, or one whose
first line is ``version:`` with nothing after it, fails to install (InstallationFailed).
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ocpp.v16 import call

from simulator import defects as d
from simulator import transfers

if TYPE_CHECKING:
    from simulator.station import Simulator

LOGGER = logging.getLogger("simulator")
FIRMWARE_SUFFIXES = {".bin", ".img", ".fw", ".hex", ".zip", ".gz", ".tgz", ".tar", ".txt"}
_VERSION_LINE = re.compile(r"^\s*version\s*:\s*(.*?)\s*$", re.IGNORECASE)


def firmware_version_from(path: Path) -> str | None:
    """The version a firmware file installs, or None when it cannot be installed."""
    content = path.read_bytes()
    if not content.strip():
        return None
    first_line = content.decode("utf-8", errors="replace").splitlines()[0]
    match = _VERSION_LINE.match(first_line)
    if match:
        return match.group(1)[:50] or None
    name = path.name
    while Path(name).suffix.lower() in FIRMWARE_SUFFIXES:
        name = name[: -len(Path(name).suffix)]
    return (name or path.name)[:50]


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class FilesMixin:
    # --- firmware ------------------------------------------------------------------------
    async def send_firmware_status(self: Simulator, status: str) -> None:
        # Idle after a terminal status, so a triggered notification says Idle (as specified).
        terminal = {"Installed", "DownloadFailed", "InstallationFailed"}
        self.firmware_status = "Idle" if status in terminal else status
        await self.send(call.FirmwareStatusNotification(status=status))

    def _retry_wait(self: Simulator, interval: int) -> float:
        cap = self.timing.retry_cap
        return float(min(interval, cap) if cap is not None else interval)

    async def update_firmware(
        self: Simulator, location: str, retrieve_date: str, retries: int, retry_interval: int
    ) -> None:
        """Download at retrieveDate, install, reboot; Installed is reported after the boot."""
        start = _parse_time(retrieve_date) or datetime.now(UTC)
        await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))
        await self.send_firmware_status("Downloading")
        path = None
        for attempt in range(max(1, retries)):
            try:
                path = await asyncio.to_thread(
                    transfers.download, location, self.files_dir / "firmware"
                )
                break
            except transfers.TransferError as error:
                LOGGER.warning("%s: %s", self.charge_point_id, error)
                if attempt + 1 < max(1, retries):
                    await asyncio.sleep(self._retry_wait(retry_interval))
        if path is None:
            await self.send_firmware_status("DownloadFailed")
            return
        await self.send_firmware_status("Downloaded")
        await self._install(path)

    async def _install(self: Simulator, path: Path) -> None:
        # A charger does not reboot under a car: installation waits for transactions to end.
        while any(c.transaction for c in self.connectors.values()):
            await asyncio.sleep(1)
        await self.send_firmware_status("Installing")
        await asyncio.sleep(self.timing.install_duration)
        version = firmware_version_from(path)
        if version is None:
            await self.send_firmware_status("InstallationFailed")
            return
        if d.FIRMWARE_NEVER_INSTALLED in self.defects:
            return
        self.firmware_version = version
        firmware = dict(self.state.get("firmware", {}), installed=version)
        self.state.data["firmware"] = firmware
        self.state.set("firmware_installed_pending", True)
        self.firmware_status = "Idle"
        await self.reboot()

    # --- diagnostics ---------------------------------------------------------------------
    def write_diagnostics(self: Simulator, start_time: str | None, stop_time: str | None) -> Path:
        """Write the station's log (its recent OCPP frames) for GetDiagnostics; returns it."""
        start, stop = _parse_time(start_time), _parse_time(stop_time)
        now = datetime.now(UTC)
        path = (
            self.files_dir
            / "diagnostics"
            / (f"diagnostics-{self.charge_point_id}-{now:%Y%m%dT%H%M%SZ}.log")
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [
            f"# CertLab simulator diagnostics for {self.charge_point_id}",
            f"# vendor={self.identity['vendor']} model={self.identity['model']} "
            f"serial={self.identity['serial']} firmware={self.firmware_version}",
            f"# written {now.isoformat()}",
        ]
        for frame in list(self.frames):
            if (start and frame.at < start) or (stop and frame.at > stop):
                continue
            lines.append(f"{frame.at.isoformat()} {frame.direction.upper():3} {frame.text}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._diagnostics_file = path
        return path

    async def upload_diagnostics(
        self: Simulator, location: str, retries: int, retry_interval: int
    ) -> None:
        path: Path = self._diagnostics_file
        self.diagnostics_status = "Uploading"
        await self.send(call.DiagnosticsStatusNotification(status="Uploading"))
        uploaded = False
        if d.DIAGNOSTICS_UPLOAD_FAILS not in self.defects:
            for attempt in range(max(1, retries)):
                try:
                    await asyncio.to_thread(transfers.upload, location, path)
                    uploaded = True
                    break
                except transfers.TransferError as error:
                    LOGGER.warning("%s: %s", self.charge_point_id, error)
                    if attempt + 1 < max(1, retries):
                        await asyncio.sleep(self._retry_wait(retry_interval))
        self.diagnostics_status = "Idle"
        status = "Uploaded" if uploaded else "UploadFailed"
        await self.send(call.DiagnosticsStatusNotification(status=status))
