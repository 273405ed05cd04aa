"""Queries on transfers. What a user may see follows the station catalogue's selectors."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from accounts.models import User
from stations.models import FirmwareVersion, Station
from stations.selectors import stations_for
from transfers.models import DiagnosticsFile, FirmwareDownload


def diagnostics_files_for(
    *, station: Station, file_name: str | None = None, since: datetime | None = None
) -> QuerySet[DiagnosticsFile]:
    """A station's uploads, oldest first; by the name GetDiagnostics.conf returned and from
    the moment the request went out, to tie a file to the attempt that asked for it."""
    files = DiagnosticsFile.objects.filter(station=station)
    if file_name is not None:
        files = files.filter(file_name=file_name)
    if since is not None:
        files = files.filter(started__gte=since)
    return files.order_by("started", "pk")


def diagnostics_files_visible(*, user: User) -> QuerySet[DiagnosticsFile]:
    return DiagnosticsFile.objects.filter(station__in=stations_for(user=user)).select_related(
        "station"
    )


def firmware_downloads_for(
    *,
    station: Station | None = None,
    firmware: FirmwareVersion | None = None,
    since: datetime | None = None,
) -> QuerySet[FirmwareDownload]:
    downloads = FirmwareDownload.objects.select_related("station", "firmware")
    if station is not None:
        downloads = downloads.filter(station=station)
    if firmware is not None:
        downloads = downloads.filter(firmware=firmware)
    if since is not None:
        downloads = downloads.filter(started__gte=since)
    return downloads.order_by("started", "pk")


def firmware_downloads_visible(*, user: User) -> QuerySet[FirmwareDownload]:
    return FirmwareDownload.objects.filter(station__in=stations_for(user=user)).select_related(
        "station", "firmware"
    )


def firmware_offered_to(*, station: Station) -> QuerySet[FirmwareVersion]:
    """Firmware files a station may fetch: those of its own model that have a file."""
    return (
        FirmwareVersion.objects.filter(charger_model_id=station.charger_model_id)
        .exclude(file="")
        .order_by("pk")
    )
