"""What a charger can do, as its vendor declares it (OCTT calls this declaration the PICS).

A charger model declares it and a station (the unit on the bench) may override any part: a bench
without an EV simulator has no cable to plug even if the model senses cables. ``Capabilities`` is
the resolved declaration the campaign plan and the step engine work from; it is plain data, so
the engine can take it without the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FeatureProfile(StrEnum):
    """OCPP 1.6 feature profiles (section 3), spelled as in SupportedFeatureProfiles."""

    CORE = "Core"
    FIRMWARE_MANAGEMENT = "FirmwareManagement"
    LOCAL_AUTH_LIST_MANAGEMENT = "LocalAuthListManagement"
    RESERVATION = "Reservation"
    SMART_CHARGING = "SmartCharging"
    REMOTE_TRIGGER = "RemoteTrigger"


class ConnectorType(StrEnum):
    TYPE1 = "Type1"
    TYPE2_SOCKET = "Type2Socket"
    TYPE2_CABLE = "Type2Cable"
    CCS1 = "CCS1"
    CCS2 = "CCS2"
    CHADEMO = "CHAdeMO"
    GBT_AC = "GBT-AC"
    GBT_DC = "GBT-DC"
    DOMESTIC = "Domestic"


CONNECTOR_TYPE_LABELS = {
    ConnectorType.TYPE1: "Type 1 (SAE J1772)",
    ConnectorType.TYPE2_SOCKET: "Type 2 socket",
    ConnectorType.TYPE2_CABLE: "Type 2 tethered cable",
    ConnectorType.CCS1: "CCS1 (Combo 1)",
    ConnectorType.CCS2: "CCS2 (Combo 2)",
    ConnectorType.CHADEMO: "CHAdeMO",
    ConnectorType.GBT_AC: "GB/T AC",
    ConnectorType.GBT_DC: "GB/T DC",
    ConnectorType.DOMESTIC: "Domestic socket",
}

# The yes/no capabilities: the model field name (the same on Station, nullable there), a label
# and what the capability means on the bench. The order is the order of the forms and pages.
FLAGS: dict[str, tuple[str, str]] = {
    "has_rfid_reader": ("RFID reader", "An RFID tag can be presented at the station."),
    "has_cable_sensing": (
        "Cable sensing",
        "The station senses a cable (or an EV simulator on the bench) being plugged in and out.",
    ),
    "has_fault_injection": (
        "Fault injection",
        "A hardware error can be provoked on the bench (pins, phases, an error button).",
    ),
    "has_modem": ("Modem", "A cellular modem with a SIM: the BootNotification carries an ICCID."),
    "reboots_on_reset": (
        "Reboots on Reset",
        "Reset drops the connection and the station boots again.",
    ),
    "has_connector_lock": ("Connector lock", "The connector (or cable) locks and can be unlocked."),
    "has_display": ("Display", "A display that shows the operator messages and states."),
}


def parse_list(text: str) -> tuple[str, ...]:
    """'CCS2, CHAdeMO' -> ('CCS2', 'CHAdeMO'): the comma-separated form of the records."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


@dataclass(frozen=True)
class Capabilities:
    """A station's resolved declaration. Empty ``feature_profiles`` or ``connector_types``
    means "not declared": nothing is derived from it and nothing compared with it."""

    has_rfid_reader: bool = True
    has_cable_sensing: bool = True
    has_fault_injection: bool = True
    has_modem: bool = True
    reboots_on_reset: bool = True
    has_connector_lock: bool = True
    has_display: bool = True
    connector_count: int = 1
    connector_types: tuple[str, ...] = ()
    feature_profiles: tuple[str, ...] = ()
    # Which of the above the station itself declares (overriding its model's declaration).
    station_overrides: frozenset[str] = field(default_factory=frozenset)
    model_name: str = ""

    def declares_profile(self, profile: str) -> bool | None:
        """True or False when the profiles are declared, None when they are not."""
        return profile in self.feature_profiles if self.feature_profiles else None

    def source(self, name: str) -> str:
        """Who declared ``name``: 'the station's own declaration' or the model's."""
        if name in self.station_overrides:
            return "the station's own declaration"
        return f"declared for the model {self.model_name}" if self.model_name else "declared"

    def connector_type(self, connector_id: int) -> str:
        """The declared type of a connector (1-based), '' when not declared."""
        types = self.connector_types
        if not types:
            return ""
        if len(types) == 1:
            return types[0]
        return types[connector_id - 1] if 0 < connector_id <= len(types) else ""

    def rows(self) -> list[tuple[str, str, bool]]:
        """(label, value, declared by the station itself) for the pages, in the forms' order."""
        flags = [
            (label, "yes" if getattr(self, name) else "no", name in self.station_overrides)
            for name, (label, _) in FLAGS.items()
        ]
        types = ", ".join(self.connector_types) or "not declared"
        profiles = ", ".join(self.feature_profiles) or "not declared"
        return [
            *flags,
            (f"Connector types ({self.connector_count})", types,
             "connector_types" in self.station_overrides),
            ("Feature profiles", profiles, "feature_profiles" in self.station_overrides),
        ]  # fmt: skip

    def as_dict(self) -> dict:
        return {
            **{name: getattr(self, name) for name in FLAGS},
            "connector_count": self.connector_count,
            "connector_types": list(self.connector_types),
            "feature_profiles": list(self.feature_profiles),
            "station_overrides": sorted(self.station_overrides),
        }
