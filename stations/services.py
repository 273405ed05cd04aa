"""Domain actions of the Central System: what a station's messages change in the database.

Plain synchronous functions with keyword-only arguments; the consumer calls them through
``database_sync_to_async``, views and tests call them directly.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Exists
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from stations.models import (
    AuthorizationStatus,
    AuthorizationTag,
    ChargerModel,
    Command,
    CommandStatus,
    Connection,
    ConnectorStatus,
    EndReason,
    Frame,
    MeterValue,
    PendingStation,
    Station,
    StationLive,
    StationSettings,
    Transaction,
)

BOOT_FIELDS = {  # BootNotification key -> StationLive field
    "chargePointVendor": "charge_point_vendor",
    "chargePointModel": "charge_point_model",
    "chargePointSerialNumber": "charge_point_serial_number",
    "chargeBoxSerialNumber": "charge_box_serial_number",
    "firmwareVersion": "firmware_version",
    "iccid": "iccid",
    "imsi": "imsi",
    "meterType": "meter_type",
    "meterSerialNumber": "meter_serial_number",
}


def _when(value: str | None) -> datetime:
    parsed = parse_datetime(value) if value else None
    if parsed is None:
        return timezone.now()
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.utc)


def station_for_endpoint(*, charge_point_id: str) -> Station | None:
    return Station.objects.filter(charge_point_id=charge_point_id).first()


def connection_open(*, station: Station, remote_address: str) -> Connection:
    now = timezone.now()
    # The connection first, the live state after: a close of the previous connection, running
    # at the same time on another thread, then either sees this one or is overwritten here.
    connection = Connection.objects.create(
        station=station, opened=now, remote_address=remote_address
    )
    StationLive.objects.update_or_create(
        station=station, defaults={"connected_since": now, "disconnected_at": None}
    )
    return connection


def connection_refuse(*, station: Station, remote_address: str, reason: str) -> Connection:
    now = timezone.now()
    return Connection.objects.create(
        station=station,
        opened=now,
        closed=now,
        remote_address=remote_address,
        close_reason=reason[:200],
        end_reason=EndReason.REFUSED,
        refused=True,
    )


def connection_close(
    *, connection: Connection, end_reason: EndReason, reason: str, code: int | None = None
) -> None:
    """Record how the connection ended: ``end_reason`` its kind, ``reason`` in full."""
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(
        closed=now, close_reason=reason[:200], end_reason=end_reason, close_code=code
    )
    # Only the newest connection speaks for the station's state; one statement, so that a new
    # connection opened meanwhile (services.connection_open) is either seen or wins.
    newer = Connection.objects.filter(
        station_id=connection.station_id, pk__gt=connection.pk, refused=False
    )
    StationLive.objects.filter(station_id=connection.station_id).exclude(Exists(newer)).update(
        disconnected_at=now
    )


def pending_station_seen(*, charge_point_id: str, remote_address: str) -> PendingStation:
    now = timezone.now()
    defaults = {"last_seen": now, "remote_address": remote_address}
    pending, _ = PendingStation.objects.update_or_create(
        charge_point_id=charge_point_id,
        defaults=defaults,
        create_defaults={**defaults, "first_seen": now},
    )
    return pending


def pending_connection_open(
    *, charge_point_id: str, remote_address: str
) -> tuple[PendingStation, Connection]:
    """An unknown station connected (CERTLAB_ALLOW_UNKNOWN_STATIONS): record it as pending and
    open the connection its frames are logged on."""
    with transaction.atomic():
        pending = pending_station_seen(
            charge_point_id=charge_point_id, remote_address=remote_address
        )
        connection = Connection.objects.create(
            pending_station=pending, opened=pending.last_seen, remote_address=remote_address
        )
    return pending, connection


def pending_station_booted(*, pending_id: int, boot_payload: dict) -> None:
    """Keep a pending station's latest BootNotification. Once QA adopted or deleted it, its
    socket is being closed: nothing is recreated."""
    PendingStation.objects.filter(pk=pending_id).update(
        last_seen=timezone.now(), boot_payload=boot_payload
    )


def pending_connection_close(
    *,
    connection_id: int,
    pending_id: int,
    charge_point_id: str,
    end_reason: EndReason,
    reason: str,
    code: int | None = None,
) -> None:
    """Close a pending station's connection once its frames are saved (frame_log.flush()).

    Frames that were still on their way when QA adopted or deleted the station follow the
    others: to the Station now known by its id, or away with the pending station.
    """
    Connection.objects.filter(pk=connection_id).update(
        closed=timezone.now(), close_reason=reason[:200], end_reason=end_reason, close_code=code
    )
    if PendingStation.objects.filter(pk=pending_id).exists():
        return
    stray = Frame.objects.filter(pending_station_id=pending_id)
    station = Station.objects.filter(charge_point_id=charge_point_id).first()
    if station is None:
        stray.delete()
    else:
        stray.update(station=station, pending_station=None)


def _disconnect_after_commit(charge_point_id: str, reason: str) -> None:
    """Close the station's socket, if it is connected, once the transaction is committed."""

    def disconnect() -> None:
        from stations import bus  # the bus imports the models; keep services importable early

        bus.disconnect_sync(charge_point_id, reason)

    transaction.on_commit(disconnect, robust=True)


def pending_station_adopt(*, pending: PendingStation, charger_model: ChargerModel) -> Station:
    """Make the pending station a Station of the catalogue. Its frames and connections become
    the Station's (same rows, same order), so its history starts from its first contact. A
    pending connection still open is closed: the station is served as known when it reconnects.
    """
    with transaction.atomic():
        station = Station.objects.create(
            charge_point_id=pending.charge_point_id,
            charger_model=charger_model,
            serial_number=((pending.boot_payload or {}).get("chargePointSerialNumber") or "")[:25],
        )
        Frame.objects.filter(pending_station=pending).update(station=station, pending_station=None)
        Connection.objects.filter(pending_station=pending).update(
            station=station, pending_station=None
        )
        pending.delete()
        _disconnect_after_commit(station.charge_point_id, "adopted by the lab: reconnect")
        from stations.catalogue import catalogue_announce  # as the bus: importable early

        catalogue_announce(manufacturer_ids=[charger_model.manufacturer_id], what="added")
    return station


def pending_station_delete(*, pending: PendingStation) -> None:
    """Forget the pending station with its frames and connections; close it if connected (it
    is pending again, with a fresh history, when it comes back)."""
    with transaction.atomic():
        pending.delete()
        _disconnect_after_commit(pending.charge_point_id, "deleted by the lab")


def boot_answer(*, station: Station, payload: dict) -> tuple[str, int]:
    """Record a BootNotification; return the (status, interval) the station is configured for."""
    config, _ = StationSettings.objects.get_or_create(station=station)
    now = timezone.now()
    values = {field: (payload.get(key) or "") for key, field in BOOT_FIELDS.items()}
    StationLive.objects.update_or_create(
        station=station, defaults={**values, "boot_at": now, "boot_status": config.boot_status}
    )
    return config.boot_status, config.heartbeat_interval


def status_record(
    *,
    station: Station,
    connector_id: int,
    status: str,
    error_code: str,
    info: str = "",
    vendor_id: str = "",
    vendor_error_code: str = "",
    timestamp: str | None = None,
) -> None:
    ConnectorStatus.objects.update_or_create(
        station=station,
        connector_id=connector_id,
        defaults={
            "status": status,
            "error_code": error_code,
            "info": info or "",
            "vendor_id": vendor_id or "",
            "vendor_error_code": vendor_error_code or "",
            "station_timestamp": _when(timestamp) if timestamp else None,
            "updated": timezone.now(),
        },
    )


def id_tag_info(*, id_tag: str) -> dict:
    """The idTagInfo for a tag on the lab's list; unknown tags are Invalid."""
    tag = AuthorizationTag.objects.filter(id_tag=id_tag).first()
    if tag is None:
        return {"status": AuthorizationStatus.INVALID}
    status = tag.status
    if (
        status == AuthorizationStatus.ACCEPTED
        and tag.expiry_date
        and tag.expiry_date < timezone.now()
    ):
        status = AuthorizationStatus.EXPIRED
    info: dict = {"status": status}
    if tag.expiry_date:
        info["expiryDate"] = tag.expiry_date.isoformat()
    if tag.parent_id_tag:
        info["parentIdTag"] = tag.parent_id_tag
    return info


def transaction_start(
    *,
    station: Station,
    connector_id: int,
    id_tag: str,
    meter_start: int,
    timestamp: str,
    reservation_id: int | None = None,
) -> tuple[Transaction, dict]:
    info = id_tag_info(id_tag=id_tag)
    tx = Transaction.objects.create(
        station=station,
        connector_id=connector_id,
        id_tag=id_tag,
        id_tag_status=info["status"],
        meter_start=meter_start,
        started_at=_when(timestamp),
        reservation_id=reservation_id,
    )
    return tx, info


def transaction_stop(
    *,
    station: Station,
    transaction_id: int,
    meter_stop: int,
    timestamp: str,
    id_tag: str | None = None,
    reason: str | None = None,
    transaction_data: list[dict] | None = None,
) -> dict | None:
    """Close the transaction (if it is the station's) and store its transactionData."""
    tx = Transaction.objects.filter(station=station, pk=transaction_id).first()
    if tx is not None:
        tx.meter_stop = meter_stop
        tx.stopped_at = _when(timestamp)
        tx.stop_reason = reason or "Local"
        tx.stop_id_tag = id_tag or ""
        tx.save(update_fields=["meter_stop", "stopped_at", "stop_reason", "stop_id_tag"])
    if transaction_data:
        meter_values_record(
            station=station,
            connector_id=tx.connector_id if tx else 0,
            transaction_id=tx.pk if tx else None,
            meter_value=transaction_data,
        )
    return id_tag_info(id_tag=id_tag) if id_tag else None


def meter_values_record(
    *,
    station: Station,
    connector_id: int,
    meter_value: list[dict],
    transaction_id: int | None = None,
) -> int:
    """Store each sampled value; ``meter_value`` is the camelCase list of the frame."""
    if (
        transaction_id is not None
        and not Transaction.objects.filter(station=station, pk=transaction_id).exists()
    ):
        transaction_id = None
    rows = [
        MeterValue(
            station=station,
            transaction_id=transaction_id,
            connector_id=connector_id,
            timestamp=_when(entry.get("timestamp")),
            measurand=sample.get("measurand", "Energy.Active.Import.Register"),
            phase=sample.get("phase", ""),
            unit=sample.get("unit", ""),
            context=sample.get("context", ""),
            location=sample.get("location", ""),
            value=str(sample.get("value", ""))[:64],
        )
        for entry in meter_value
        for sample in entry.get("sampledValue", [])
    ]
    MeterValue.objects.bulk_create(rows)
    return len(rows)


def live_update(*, station: Station, **fields: str) -> None:
    StationLive.objects.update_or_create(station=station, defaults=fields)


async def command_execute(*, command_id: int) -> Command:
    """Send a recorded Command over the station bus and record how it ended."""
    from stations import bus  # the bus imports the models; keep services importable early

    command = await Command.objects.select_related("station").aget(pk=command_id)
    status, response, error = CommandStatus.RESULT, None, ""
    try:
        if command.raw:
            reply = await bus.send_raw(command.station, command.raw, timeout=command.timeout)
            status = CommandStatus.SENT if reply["status"] == "sent" else CommandStatus.RESULT
            if reply["status"] == "call_error":
                status = CommandStatus.CALL_ERROR
            response = {k: v for k, v in reply.items() if k not in ("type", "status")}
        else:
            response = await bus.call(
                command.station, command.action, command.payload or {}, command.timeout
            )
    except bus.CallError as exc:
        status, error = CommandStatus.CALL_ERROR, str(exc)
        response = {
            "errorCode": exc.code,
            "errorDescription": exc.description,
            "errorDetails": exc.details,
        }
    except bus.InvalidResponse as exc:
        status, response, error = CommandStatus.INVALID_RESPONSE, exc.payload, exc.error
    except bus.InvalidPayload as exc:
        status, error = CommandStatus.INVALID_PAYLOAD, f"{exc.code}: {exc.description}"
    except bus.StationOffline as exc:
        status, error = CommandStatus.OFFLINE, str(exc)
    except bus.Timeout as exc:
        status, error = CommandStatus.TIMEOUT, str(exc)
    command.status, command.response, command.error = status, response, error
    command.finished = timezone.now()
    await command.asave(update_fields=["status", "response", "error", "finished"])
    return command
