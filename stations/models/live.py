"""What the Central System knows about a station right now and what it answers it."""

from __future__ import annotations

from django.db import models


class BootStatus(models.TextChoices):
    ACCEPTED = "Accepted", "Accepted"
    PENDING = "Pending", "Pending"
    REJECTED = "Rejected", "Rejected"


class StationSettings(models.Model):
    """How CertLab answers a station: the BootNotification status and heartbeat interval."""

    station = models.OneToOneField(
        "stations.Station", on_delete=models.CASCADE, related_name="ocpp_settings"
    )
    boot_status = models.CharField(
        max_length=8, choices=BootStatus.choices, default=BootStatus.ACCEPTED
    )
    heartbeat_interval = models.PositiveIntegerField(default=300, help_text="Seconds.")

    def __str__(self) -> str:
        return f"{self.station_id}: {self.boot_status} / {self.heartbeat_interval} s"


class StationLive(models.Model):
    """The station's latest BootNotification and connection times.

    The last frame and the last heartbeat are read from the frame log (selectors), so a
    Heartbeat costs no write of its own.
    """

    station = models.OneToOneField(
        "stations.Station", on_delete=models.CASCADE, related_name="live"
    )
    connected_since = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    boot_at = models.DateTimeField(null=True, blank=True)
    boot_status = models.CharField(max_length=8, blank=True)
    charge_point_vendor = models.CharField(max_length=20, blank=True)
    charge_point_model = models.CharField(max_length=20, blank=True)
    charge_point_serial_number = models.CharField(max_length=25, blank=True)
    charge_box_serial_number = models.CharField(max_length=25, blank=True)
    firmware_version = models.CharField(max_length=50, blank=True)
    iccid = models.CharField(max_length=20, blank=True)
    imsi = models.CharField(max_length=20, blank=True)
    meter_type = models.CharField(max_length=25, blank=True)
    meter_serial_number = models.CharField(max_length=25, blank=True)
    firmware_status = models.CharField(max_length=32, blank=True)
    diagnostics_status = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return f"{self.station_id} live"


class ConnectorStatus(models.Model):
    """The last StatusNotification per connector; connector 0 is the station itself."""

    station = models.ForeignKey(
        "stations.Station", on_delete=models.CASCADE, related_name="connector_statuses"
    )
    connector_id = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=20)
    error_code = models.CharField(max_length=32)
    info = models.CharField(max_length=50, blank=True)
    vendor_id = models.CharField(max_length=255, blank=True)
    vendor_error_code = models.CharField(max_length=50, blank=True)
    station_timestamp = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField()

    class Meta:
        ordering = ["station", "connector_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["station", "connector_id"], name="one_status_per_connector"
            )
        ]

    def __str__(self) -> str:
        return f"{self.station_id}#{self.connector_id} {self.status}"


class Transaction(models.Model):
    """A charging session; its primary key is the transactionId CertLab gave the station."""

    station = models.ForeignKey(
        "stations.Station", on_delete=models.CASCADE, related_name="transactions"
    )
    connector_id = models.PositiveSmallIntegerField()
    id_tag = models.CharField(max_length=20)
    id_tag_status = models.CharField(max_length=16, blank=True)
    reservation_id = models.IntegerField(null=True, blank=True)
    meter_start = models.IntegerField()
    meter_stop = models.IntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=20, blank=True)
    stop_id_tag = models.CharField(max_length=20, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["station", "-id"], name="tx_station_id")]

    def __str__(self) -> str:
        return f"transaction {self.pk} on {self.station_id}#{self.connector_id}"

    @property
    def is_open(self) -> bool:
        return self.stopped_at is None


class MeterValue(models.Model):
    """One sampled value of a MeterValues or StopTransaction transactionData."""

    station = models.ForeignKey(
        "stations.Station", on_delete=models.CASCADE, related_name="meter_values"
    )
    transaction = models.ForeignKey(
        Transaction, on_delete=models.CASCADE, null=True, blank=True, related_name="meter_values"
    )
    connector_id = models.PositiveSmallIntegerField()
    timestamp = models.DateTimeField()
    measurand = models.CharField(max_length=64, default="Energy.Active.Import.Register")
    phase = models.CharField(max_length=8, blank=True)
    unit = models.CharField(max_length=16, blank=True)
    context = models.CharField(max_length=32, blank=True)
    location = models.CharField(max_length=16, blank=True)
    value = models.CharField(max_length=64)
    received = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [models.Index(fields=["station", "-timestamp"], name="meter_station_time")]

    def __str__(self) -> str:
        return f"{self.measurand}={self.value}{self.unit}"


class AuthorizationStatus(models.TextChoices):
    ACCEPTED = "Accepted", "Accepted"
    BLOCKED = "Blocked", "Blocked"
    EXPIRED = "Expired", "Expired"
    INVALID = "Invalid", "Invalid"


class AuthorizationTag(models.Model):
    """The lab's list of idTags; a tag not on it is answered Invalid."""

    id_tag = models.CharField(max_length=20, unique=True)
    status = models.CharField(
        max_length=8, choices=AuthorizationStatus.choices, default=AuthorizationStatus.ACCEPTED
    )
    parent_id_tag = models.CharField(max_length=20, blank=True)
    expiry_date = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id_tag"]

    def __str__(self) -> str:
        return f"{self.id_tag} ({self.status})"


class PendingStation(models.Model):
    """An unknown charge point id that connected while CERTLAB_ALLOW_UNKNOWN_STATIONS is on.

    QA adopt it (pick a model: a Station is created) or delete it.
    """

    charge_point_id = models.CharField(max_length=48, unique=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    remote_address = models.CharField(max_length=64, blank=True)
    boot_payload = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"pending {self.charge_point_id}"


class CommandStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RESULT = "result", "answered"
    CALL_ERROR = "call_error", "CALLERROR"
    INVALID_RESPONSE = "invalid_response", "invalid response"
    TIMEOUT = "timeout", "timed out"
    OFFLINE = "offline", "station offline"
    INVALID_PAYLOAD = "invalid_payload", "invalid payload"
    SENT = "sent", "sent (raw)"


class Command(models.Model):
    """A call sent from the console (or any caller that wants a record): request and outcome."""

    station = models.ForeignKey(
        "stations.Station", on_delete=models.CASCADE, related_name="commands"
    )
    action = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(null=True, blank=True)
    raw = models.TextField(blank=True, help_text="A raw frame sent as is, for negative tests.")
    timeout = models.FloatField(default=30)
    requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=CommandStatus.choices, default=CommandStatus.QUEUED
    )
    response = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.action or 'raw frame'} to {self.station_id} ({self.status})"
