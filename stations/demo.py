"""Demo data for the embedded lab: the two manufacturers of the seed reports, their models,
firmware versions, a station each, one QA user and one vendor user per manufacturer.

Idempotent: a second run changes nothing that exists (passwords of the demo users included).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from accounts.models import Role, User
from stations.models import ChargerModel, FirmwareVersion, Manufacturer, Station


@dataclass(frozen=True)
class DemoStation:
    manufacturer: str
    manufacturer_number: str
    model: str
    connectors: int
    current_type: str
    max_power_kw: Decimal
    firmware: str
    next_firmware: str
    charge_point_id: str
    serial_number: str
    iccid: str
    vendor_username: str
    declaration: dict  # the model's capabilities (stations.capabilities), as its vendor declares


DEMO_STATIONS = (
    DemoStation(
        manufacturer="HICONICS",
        manufacturer_number="1104190610010",
        model="HK-180-1000-AE2",
        connectors=2,
        current_type="DC",
        max_power_kw=Decimal("180.0"),
        firmware="V112_72900_08001",
        next_firmware="V112_72900_08002",
        charge_point_id="DEMO-HICONICS-01",
        serial_number="HK18010000001",
        iccid="8931440400000000001",
        vendor_username="hiconics",
        # What the built-in simulator that plays this station implements.
        declaration={
            "connector_types": "CCS2, CHAdeMO",
            "feature_profiles": ["Core", "FirmwareManagement", "Reservation", "RemoteTrigger"],
            "has_display": False,
        },
    ),
    DemoStation(
        manufacturer="Kempower",
        manufacturer_number="",
        model="C502P320",
        connectors=2,
        current_type="DC",
        max_power_kw=Decimal("320.0"),
        firmware="0.15.32",
        next_firmware="0.15.33",
        charge_point_id="DEMO-KEMPOWER-01",
        serial_number="KP502320000017",
        iccid="8935201000000000017",
        vendor_username="kempower",
        declaration={
            "connector_types": "CCS2",
            "feature_profiles": [
                "Core",
                "FirmwareManagement",
                "LocalAuthListManagement",
                "SmartCharging",
                "RemoteTrigger",
            ],
        },
    ),
)
DEMO_SIMULATED_STATION = DEMO_STATIONS[0].charge_point_id
QA_USERNAME, QA_PASSWORD = "qa", "certlab-qa"
# The demo stations' basic-auth password (OCPP 1.6: 16 to 40 characters); the demo simulator
# sends it, so the demo shows a protected station, not an open one.
DEMO_STATION_PASSWORD = "certlab-demo-station"
VENDOR_PASSWORD = "certlab-vendor"
DEMO_LOGINS = (
    ("QA staff", QA_USERNAME, QA_PASSWORD),
    *((f"vendor ({s.manufacturer})", s.vendor_username, VENDOR_PASSWORD) for s in DEMO_STATIONS),
)


def demo_simulator_arguments() -> list[str]:
    """The simulate command's arguments that make it the demo station its record describes."""
    demo = DEMO_STATIONS[0]
    return [
        "--vendor", demo.manufacturer,
        "--model", demo.model,
        "--serial", demo.serial_number,
        "--iccid", demo.iccid,
        "--firmware", demo.firmware,
        "--connectors", str(demo.connectors),
        "--password", DEMO_STATION_PASSWORD,
        "--state-dir", str(settings.DATA_DIR / "simulator"),
    ]  # fmt: skip


def firmware_file_content(version: str) -> bytes:
    # The simulator reads the version to report after an update from the file's first line.
    return f"version: {version}\n".encode() + bytes(range(256)) * 64


@transaction.atomic
def seed_demo() -> list[str]:
    """Create what is missing; return a line per object created."""
    created: list[str] = []
    for demo in DEMO_STATIONS:
        maker, new = Manufacturer.objects.get_or_create(
            name=demo.manufacturer, defaults={"number": demo.manufacturer_number}
        )
        created += [f"manufacturer {maker}"] if new else []
        model, new = ChargerModel.objects.get_or_create(
            manufacturer=maker,
            name=demo.model,
            defaults={
                "connector_count": demo.connectors,
                "current_type": demo.current_type,
                "max_power_kw": demo.max_power_kw,
                **demo.declaration,
            },
        )
        created += [f"model {model}"] if new else []
        current = _firmware(model, demo.firmware, "Firmware under test.", created)
        _firmware(model, demo.next_firmware, "Update target for the firmware test.", created)
        station, new = Station.objects.get_or_create(
            charge_point_id=demo.charge_point_id,
            defaults={
                "charger_model": model,
                "expected_firmware": current,
                "serial_number": demo.serial_number,
                "iccid": demo.iccid,
                "notes": "Demo station.",
                "is_simulator": demo.charge_point_id == DEMO_SIMULATED_STATION,
            },
        )
        if new:
            station.set_password(DEMO_STATION_PASSWORD)
            station.save(update_fields=["password_hash"])
            created.append(f"station {station}")
        created += _user(demo.vendor_username, VENDOR_PASSWORD, Role.VENDOR, maker)
    created += _user(QA_USERNAME, QA_PASSWORD, Role.QA, None)
    return created


def _firmware(model: ChargerModel, version: str, notes: str, created: list[str]):
    firmware, new = FirmwareVersion.objects.get_or_create(
        charger_model=model, version=version, defaults={"release_notes": notes}
    )
    if new:
        name = f"{model.name}-{version}.bin"
        firmware.file.save(name, ContentFile(firmware_file_content(version)), save=True)
        created.append(f"firmware {firmware}")
    return firmware


def _user(username: str, password: str, role: str, maker: Manufacturer | None) -> list[str]:
    if User.objects.filter(username=username).exists():
        return []
    user = User(username=username, role=role, manufacturer=maker)
    user.set_password(password)
    user.save()
    return [f"user {username}"]
