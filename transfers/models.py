"""Files that travel between a station and the lab, kept as evidence.

A station uploads diagnostics over FTP with credentials CertLab generated for it, and fetches
firmware over HTTP (a signed link that expires) or FTP. Every transfer leaves a row, complete or
not, so a test step can show that the file really arrived or was really fetched.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse

from stations.models import FirmwareVersion, Station


class FtpAccount(models.Model):
    """The FTP login CertLab generated for one station."""

    station = models.OneToOneField(Station, on_delete=models.CASCADE, related_name="ftp_account")
    username = models.CharField(max_length=32, unique=True)
    # Kept retrievable on purpose: CertLab writes it into the location URI of GetDiagnostics and
    # UpdateFirmware. It is a lab-generated secret for a lab service, not a person's password.
    password = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "FTP account"

    def __str__(self) -> str:
        return f"{self.username} ({self.station})"


def diagnostics_upload_to(instance: DiagnosticsFile, filename: str) -> str:
    return f"diagnostics/{instance.station.charge_point_id}/{filename}"


class DiagnosticsFile(models.Model):
    """One diagnostics upload by a station, whether it arrived whole or not."""

    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="diagnostics_files")
    # The name the station used, which it also returns in GetDiagnostics.conf (CiString255).
    file_name = models.CharField(max_length=255)
    file = models.FileField(upload_to=diagnostics_upload_to, max_length=500, blank=True)
    size = models.PositiveBigIntegerField("bytes received", default=0)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    started = models.DateTimeField()
    received = models.DateTimeField(null=True, blank=True)
    complete = models.BooleanField(default=False)
    error = models.CharField(max_length=255, blank=True)
    remote_address = models.GenericIPAddressField(null=True, blank=True)
    # The campaign attempt that asked for this file, once campaigns link them (matched by name
    # and time through selectors.diagnostics_files_for).
    attempt_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-started", "-pk"]
        indexes = [models.Index(fields=["station", "file_name", "started"])]

    def __str__(self) -> str:
        return f"{self.station}: {self.file_name}"

    def get_download_url(self) -> str:
        return reverse("transfers:diagnostics_download", args=[self.pk])


class Protocol(models.TextChoices):
    HTTP = "http", "HTTP"
    FTP = "ftp", "FTP"


class FirmwareDownload(models.Model):
    """One fetch of a firmware file by a station: the evidence that it really downloaded it."""

    station = models.ForeignKey(
        Station, on_delete=models.PROTECT, related_name="firmware_downloads"
    )
    firmware = models.ForeignKey(
        FirmwareVersion, on_delete=models.PROTECT, related_name="downloads"
    )
    protocol = models.CharField(max_length=8, choices=Protocol.choices)
    file_name = models.CharField(max_length=255)
    file_size = models.PositiveBigIntegerField(default=0)
    # When the station's request reached CertLab's server, and when CertLab began sending the
    # file: between the two the request waited in CertLab's own queue (its load, its database).
    # A request the station gave up on before it was served keeps ``served`` empty (issue 13).
    started = models.DateTimeField("request received")
    served = models.DateTimeField("sending began", null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    bytes_sent = models.PositiveBigIntegerField(default=0)
    complete = models.BooleanField(default=False)
    error = models.CharField(max_length=255, blank=True)
    remote_address = models.GenericIPAddressField(null=True, blank=True)
    attempt_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-started", "-pk"]

    def __str__(self) -> str:
        return f"{self.station} fetched {self.firmware} over {self.get_protocol_display()}"

    @property
    def lab_wait(self) -> float | None:
        """Seconds the request waited in CertLab before sending began, when worth saying."""
        waited = (self.served - self.started).total_seconds() if self.served else None
        return waited if waited is not None and waited >= 1 else None
