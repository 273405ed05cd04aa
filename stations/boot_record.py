"""Fill a station's record from what it said in its last BootNotification: serial number, ICCID,
firmware version and, where the catalogue has them, its manufacturer's model.

``station_boot_changes`` proposes (for the confirmation page), ``station_fill_from_boot`` applies
the same proposal. Only values that map onto the catalogue are taken: a firmware version or model
the catalogue does not hold, or an ICCID that is not one, is reported and left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from stations.models import ChargerModel, FirmwareVersion, Station, StationLive
from stations.models.catalogue import iccid_validator
from stations.signals import expected_firmware_changed


@dataclass(frozen=True)
class RecordChange:
    """One field of the record: what it holds, what the boot said, and whether it is taken."""

    label: str
    old: str
    new: str
    field: str = ""  # the Station field set; '' when nothing is taken
    value: object = None
    note: str = ""

    @property
    def taken(self) -> bool:
        return bool(self.field)


def last_boot(station: Station) -> StationLive | None:
    live = StationLive.objects.filter(station=station).first()
    return live if live and live.boot_at else None


def station_boot_changes(*, station: Station) -> list[RecordChange]:
    """What the last BootNotification would change in the record ([] without a boot)."""
    live = last_boot(station)
    if live is None:
        return []
    model = _model(station, live)
    return [
        _serial(station, live),
        _iccid(station, live),
        model,
        _firmware(station, live, model.value if model.taken else station.charger_model),
    ]


@transaction.atomic
def station_fill_from_boot(*, station: Station, user=None) -> list[RecordChange]:
    """Apply ``station_boot_changes``; returns the changes that were taken."""
    station = Station.objects.select_for_update().get(pk=station.pk)
    before = station.expected_firmware
    taken = [c for c in station_boot_changes(station=station) if c.taken]
    for change in taken:
        setattr(station, change.field, change.value)
    if taken:
        station.full_clean()
        station.save(update_fields=[c.field for c in taken])
    if station.expected_firmware != before:
        expected_firmware_changed.send(
            sender=Station, station=station, before=before, after=station.expected_firmware,
            user=user, via="from the last BootNotification",
        )  # fmt: skip
    return taken


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _serial(station: Station, live: StationLive) -> RecordChange:
    reported = live.charge_point_serial_number or live.charge_box_serial_number
    label = "Serial number"
    if not reported:
        return RecordChange(label, station.serial_number, "", note="none in the boot")
    if reported == station.serial_number:
        return RecordChange(label, station.serial_number, reported, note="already so")
    return RecordChange(label, station.serial_number, reported, "serial_number", reported)


def _iccid(station: Station, live: StationLive) -> RecordChange:
    label, reported = "ICCID", live.iccid.strip()
    if not reported:
        return RecordChange(label, station.iccid, "", note="none in the boot (no modem?)")
    if reported == station.iccid:
        return RecordChange(label, station.iccid, reported, note="already so")
    try:
        iccid_validator(reported)
    except ValidationError:
        return RecordChange(label, station.iccid, reported, note="not an ICCID: not taken")
    return RecordChange(label, station.iccid, reported, "iccid", reported)


def _model(station: Station, live: StationLive) -> RecordChange:
    label = "Model"
    current = station.charger_model
    old = str(current)
    vendor, name = live.charge_point_vendor, live.charge_point_model
    new = f"{vendor} {name}".strip()
    if not name:
        return RecordChange(label, old, new, note="no chargePointModel in the boot")
    if _same(current.name, name) and _vendor_matches(current.manufacturer.name, vendor):
        return RecordChange(label, old, new, note="already so")
    found = [
        model
        for model in ChargerModel.objects.select_related("manufacturer").filter(name__iexact=name)
        if _vendor_matches(model.manufacturer.name, vendor)
    ]
    if len(found) != 1:
        why = "not in the catalogue" if not found else "several models match"
        return RecordChange(label, old, new, note=f"{why}: not taken")
    return RecordChange(label, old, str(found[0]), "charger_model", found[0])


def _vendor_matches(manufacturer: str, vendor: str) -> bool:
    # Boots often carry a short or a long form of the name ("Kempower" / "Kempower Oy").
    a, b = manufacturer.casefold(), vendor.casefold()
    return bool(b) and (a in b or b in a)


def _firmware(station: Station, live: StationLive, model: ChargerModel) -> RecordChange:
    label, reported = "Expected firmware", live.firmware_version
    current = station.expected_firmware
    old = current.version if current else ""
    if not reported:
        return RecordChange(label, old, "", note="no firmwareVersion in the boot")
    if current and current.version == reported and current.charger_model_id == model.pk:
        return RecordChange(label, old, reported, note="already so")
    found = FirmwareVersion.objects.filter(charger_model=model, version=reported).first()
    if found is None:
        note = f"not in the catalogue for {model}: add it there first"
        if current and current.charger_model_id != model.pk:
            note += f"; {old} is cleared, as it belongs to {current.charger_model}"
            return RecordChange(label, old, "", "expected_firmware", None, note=note)
        return RecordChange(label, old, reported, note=note)
    return RecordChange(label, old, reported, "expected_firmware", found)
