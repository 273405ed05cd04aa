"""The frame log: every OCPP-J frame in and out, valid or not, and the connections it came on."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class EndReason(models.TextChoices):
    """Why a connection ended; ``Connection.close_reason`` says it in full (code, cap, …)."""

    STATION = "station", "closed by the station"
    LOST = "lost", "connection lost"  # no closing handshake (1006): a station or network drop
    PING_TIMEOUT = "ping_timeout", "ping timeout"  # daphne's ping went unanswered
    REPLACED = "replaced", "replaced by a new connection"
    CERTLAB = "certlab", "closed by CertLab"  # oversize frame, adoption, daphne's own limits
    SHUTDOWN = "shutdown", "server shutdown"
    REFUSED = "refused", "refused"  # never accepted (subprotocol, credentials)


class Connection(models.Model):
    """One websocket session of a station, or one refused attempt (opened == closed).

    A pending station's sessions belong to its ``PendingStation`` until QA adopt it: then they
    become the new Station's, so its history starts from its first contact.
    """

    station = models.ForeignKey(
        "stations.Station",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="connections",
    )
    pending_station = models.ForeignKey(
        "stations.PendingStation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="connections",
    )
    opened = models.DateTimeField()
    closed = models.DateTimeField(null=True, blank=True)
    remote_address = models.CharField(max_length=64, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)
    # The websocket close code as the consumer heard it (the station's, or 1006 for no handshake).
    close_code = models.PositiveIntegerField(null=True, blank=True)
    refused = models.BooleanField(default=False)

    class Meta:
        ordering = ["-opened"]
        indexes = [models.Index(fields=["station", "-opened"], name="conn_station_opened")]
        constraints = [
            models.CheckConstraint(
                condition=Q(station__isnull=False, pending_station__isnull=True)
                | Q(station__isnull=True, pending_station__isnull=False),
                name="connection_one_owner",
            )
        ]

    def __str__(self) -> str:
        owner = self.station_id or f"pending {self.pending_station_id}"
        return f"{owner} connection {self.pk}"


class Direction(models.TextChoices):
    IN = "in", "station → CS"
    OUT = "out", "CS → station"


class MessageType(models.TextChoices):
    CALL = "CALL", "CALL"
    CALLRESULT = "CALLRESULT", "CALLRESULT"
    CALLERROR = "CALLERROR", "CALLERROR"
    INVALID = "invalid", "invalid"


class FrameQuerySet(models.QuerySet):
    def of_station(self, station_id) -> FrameQuerySet:
        """A station's frames, newest first, read through the station's indexes.

        Written as a range on the station and sorted by (station, -id) on purpose. Given
        ``station_id = X ORDER BY id DESC LIMIT n``, PostgreSQL takes the station's frames to be
        spread evenly over the ids and walks the primary key backwards, filtering: through every
        newer frame of every other station when this station's are old (2.4 s for a page with 4
        million frames in the table). A range keeps the station in the sort, and only the
        (station, …, -id) indexes give that order (docs/PERFORMANCE.md, history pages).
        ``station_id`` may be an ``OuterRef``.
        """
        return self._newest_first_of("station_id", station_id)

    def of_pending_station(self, pending_id) -> FrameQuerySet:
        """``of_station`` for a pending station's frames."""
        return self._newest_first_of("pending_station_id", pending_id)

    def _newest_first_of(self, column: str, value) -> FrameQuerySet:
        return self.filter(**{f"{column}__gte": value, f"{column}__lte": value}).order_by(
            column, "-id"
        )


class Frame(models.Model):
    """One OCPP-J frame as it crossed the socket.

    ``raw`` is the exact text; ``payload`` the parsed payload (the CALL's or CALLRESULT's object,
    or for a CALLERROR ``{"errorCode", "errorDescription", "errorDetails"}``); ``action`` is the
    request's action, also on responses (found through the unique id); ``error`` says what was
    wrong with the frame (schema violation, malformed JSON, unknown unique id), empty if nothing.
    Paged by ``id``: frames of a station are inserted in arrival order.

    A frame belongs to a ``station`` or, while the station is unknown and pending
    (CERTLAB_ALLOW_UNKNOWN_STATIONS), to its ``pending_station``; adopting it sets ``station``
    on the same rows, so the ids (the arrival order) are kept.
    """

    # No database-level foreign keys and no single-column indexes on the frame log: each
    # constraint is a trigger, a key lookup and a row lock on the station per
    # inserted frame, which made PostgreSQL's side of a COPY 2.7 times as costly and saving
    # frames visibly not free (docs/PERFORMANCE.md). Frames are only written for a station its
    # consumer holds, and deleting a station still deletes its frames (Django's CASCADE);
    # connections are only deleted with their station. The same holds for a pending station
    # (frames still on their way when QA adopted or deleted it are settled when its socket
    # closes: services.pending_connection_close). Its partial index below costs a known
    # station's insert only the NULL test; no CHECK that one owner is set either: the frame
    # writer is the only inserter and sets exactly one.
    station = models.ForeignKey(
        "stations.Station",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="frames",
        db_constraint=False,
        db_index=False,  # (station, -id) below serves every lookup by station
    )
    pending_station = models.ForeignKey(
        "stations.PendingStation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="frames",
        db_constraint=False,
        db_index=False,  # frame_pending_id below
    )
    connection = models.ForeignKey(
        Connection,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="frames",
        db_constraint=False,
        db_index=False,
    )
    timestamp = models.DateTimeField()
    direction = models.CharField(max_length=3, choices=Direction.choices)
    message_type = models.CharField(max_length=10, choices=MessageType.choices)
    action = models.CharField(max_length=64, blank=True)
    unique_id = models.CharField(max_length=64, blank=True)
    raw = models.TextField()
    payload = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    has_error = models.BooleanField(default=False)

    objects = FrameQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["station", "-id"], name="frame_station_id"),
            models.Index(fields=["station", "action", "-id"], name="frame_station_action"),
            models.Index(
                fields=["station", "-id"], name="frame_station_errors", condition=Q(has_error=True)
            ),
            models.Index(
                fields=["pending_station", "-id"],
                name="frame_pending_id",
                condition=Q(pending_station__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.message_type} {self.action} {self.unique_id}"
