"""Configuration keys of the profiles the simulator implements (OCPP 1.6 section 9).

Profiles: Core, FirmwareManagement, RemoteTrigger, Reservation (listed in
SupportedFeatureProfiles). Values are strings on the wire; each key has a validator, a read-only
flag and a flag saying whether a change only takes effect after a reboot. Values persist in the
station's state file so they survive Reset and restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator.metering import SUPPORTED_MEASURANDS
from simulator.persistence import StateFile

Validator = Callable[[str], bool]


def _is_bool(value: str) -> bool:
    return value.lower() in ("true", "false")


def _is_non_negative_int(value: str) -> bool:
    return value.isdigit() and len(value) <= 9


def _measurand_list(max_length: int) -> Validator:
    def check(value: str) -> bool:
        items = [item.strip() for item in value.split(",") if item.strip()]
        return len(items) <= max_length and all(item in SUPPORTED_MEASURANDS for item in items)

    return check


def _phase_rotation(value: str) -> bool:
    rotations = {"NotApplicable", "Unknown", "RST", "RTS", "SRT", "STR", "TRS", "TSR"}
    for item in filter(None, (part.strip() for part in value.split(","))):
        connector, _, rotation = item.partition(".")
        if not connector.isdigit() or rotation not in rotations:
            return False
    return True


def _any(value: str) -> bool:
    return len(value) <= 500


@dataclass(frozen=True)
class KeySpec:
    name: str
    default: str
    readonly: bool = False
    validator: Validator = _any
    reboot_required: bool = False


MAX_MEASURANDS = 8


def key_specs(connectors: int) -> list[KeySpec]:
    """Every key the station knows, in the order GetConfiguration lists them."""
    measurands = _measurand_list(MAX_MEASURANDS)
    rotation = ",".join(f"{i}.RST" for i in range(connectors + 1))
    return [
        KeySpec("AllowOfflineTxForUnknownId", "false", validator=_is_bool),
        KeySpec("AuthorizationCacheEnabled", "true", validator=_is_bool),
        KeySpec("AuthorizeRemoteTxRequests", "true", validator=_is_bool),
        KeySpec("ClockAlignedDataInterval", "0", validator=_is_non_negative_int),
        KeySpec("ConnectionTimeOut", "60", validator=_is_non_negative_int),
        KeySpec("ConnectorPhaseRotation", rotation, validator=_phase_rotation),
        KeySpec("GetConfigurationMaxKeys", "100", readonly=True),
        KeySpec("HeartbeatInterval", "300", validator=_is_non_negative_int),
        KeySpec("LocalAuthorizeOffline", "true", validator=_is_bool),
        KeySpec("LocalPreAuthorize", "false", validator=_is_bool),
        KeySpec("MeterValuesAlignedData", "Energy.Active.Import.Register", validator=measurands),
        KeySpec("MeterValuesAlignedDataMaxLength", str(MAX_MEASURANDS), readonly=True),
        KeySpec(
            "MeterValuesSampledData",
            "Energy.Active.Import.Register,Voltage,Current.Import,Power.Active.Import",
            validator=measurands,
        ),
        KeySpec("MeterValuesSampledDataMaxLength", str(MAX_MEASURANDS), readonly=True),
        KeySpec("MeterValueSampleInterval", "60", validator=_is_non_negative_int),
        KeySpec("MinimumStatusDuration", "0", validator=_is_non_negative_int),
        KeySpec("NumberOfConnectors", str(connectors), readonly=True),
        KeySpec("ResetRetries", "3", validator=_is_non_negative_int),
        KeySpec("StopTransactionOnEVSideDisconnect", "true", validator=_is_bool),
        KeySpec("StopTransactionOnInvalidId", "true", validator=_is_bool),
        KeySpec("StopTxnAlignedData", "", validator=measurands),
        KeySpec("StopTxnAlignedDataMaxLength", str(MAX_MEASURANDS), readonly=True),
        KeySpec("StopTxnSampledData", "Energy.Active.Import.Register", validator=measurands),
        KeySpec("StopTxnSampledDataMaxLength", str(MAX_MEASURANDS), readonly=True),
        KeySpec(
            "SupportedFeatureProfiles",
            "Core,FirmwareManagement,RemoteTrigger,Reservation",
            readonly=True,
        ),
        KeySpec("TransactionMessageAttempts", "3", validator=_is_non_negative_int),
        KeySpec("TransactionMessageRetryInterval", "60", validator=_is_non_negative_int),
        KeySpec("UnlockConnectorOnEVSideDisconnect", "true", validator=_is_bool),
        # A change of the ping interval needs a new websocket: the spec's RebootRequired case.
        KeySpec("WebSocketPingInterval", "0", validator=_is_non_negative_int, reboot_required=True),
        KeySpec("AuthorizationCacheMaxEntries", "100", readonly=True),
        KeySpec("ReserveConnectorZeroSupported", "false", readonly=True),
        KeySpec("SupportedFileTransferProtocols", "FTP,HTTP", readonly=True),
        # Vendor key: report Voltage, Current.Import and Power.Active.Import per phase.
        KeySpec("CertLab.MeterValuesPerPhase", "false", validator=_is_bool),
    ]


class Configuration:
    """Configuration keys with their values, persisted under ``configuration`` in the state."""

    def __init__(
        self, state: StateFile, connectors: int, overrides: dict[str, str] | None = None
    ) -> None:
        self._state = state
        self.specs = {spec.name: spec for spec in key_specs(connectors)}
        stored: dict[str, str] = state.get("configuration", {})
        self._values = {name: stored.get(name, spec.default) for name, spec in self.specs.items()}
        # Read-only keys always reflect the hardware, never an old state file.
        for name, spec in self.specs.items():
            if spec.readonly:
                self._values[name] = spec.default
        self._values.update(overrides or {})
        self._listeners: list[Callable[[str, str], Any]] = []
        self._save()

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def get(self, key: str) -> str:
        return self._values[key]

    def get_int(self, key: str) -> int:
        """The value as an integer; one that is not (stored by a defect) counts as 0."""
        value = self._values[key].strip()
        return int(value) if value.lstrip("-").isdigit() else 0

    def get_bool(self, key: str) -> bool:
        return self._values[key].lower() == "true"

    def get_list(self, key: str) -> list[str]:
        return [item.strip() for item in self._values[key].split(",") if item.strip()]

    def entries(self, keys: list[str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
        """configurationKey entries and unknownKey names, as GetConfiguration answers them."""
        names = keys or list(self._values)
        known = [
            {"key": name, "readonly": self.specs[name].readonly, "value": self._values[name]}
            for name in names
            if name in self._values
        ]
        unknown = [name for name in names if name not in self._values]
        return known, unknown

    def change(self, key: str, value: str) -> str:
        """Apply a ChangeConfiguration; returns its status as the specification defines it."""
        spec = self.specs.get(key)
        if spec is None:
            return "NotSupported"
        if spec.readonly or not spec.validator(value):
            return "Rejected"
        self.set(key, value)
        return "RebootRequired" if spec.reboot_required else "Accepted"

    def set(self, key: str, value: str) -> None:
        """Set a value the station itself decided (boot interval, tests), skipping validation."""
        self._values[key] = value
        self._save()
        for listener in self._listeners:
            listener(key, value)

    def on_change(self, listener: Callable[[str, str], Any]) -> None:
        self._listeners.append(listener)

    def _save(self) -> None:
        writable = {k: v for k, v in self._values.items() if not self.specs[k].readonly}
        self._state.set("configuration", writable)
