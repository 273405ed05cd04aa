"""The station catalogue (manufacturers, models, firmware, units under test) and, beside it,
the Central System's records of what stations said."""

from stations.models.catalogue import (
    ChargerModel,
    CurrentType,
    FirmwareVersion,
    Manufacturer,
    Station,
)
from stations.models.frames import Connection, Direction, EndReason, Frame, MessageType
from stations.models.live import (
    AuthorizationStatus,
    AuthorizationTag,
    BootStatus,
    Command,
    CommandStatus,
    ConnectorStatus,
    MeterValue,
    PendingStation,
    StationLive,
    StationSettings,
    Transaction,
)

__all__ = [
    "AuthorizationStatus",
    "AuthorizationTag",
    "BootStatus",
    "ChargerModel",
    "Command",
    "CommandStatus",
    "Connection",
    "ConnectorStatus",
    "CurrentType",
    "Direction",
    "EndReason",
    "FirmwareVersion",
    "Frame",
    "Manufacturer",
    "MessageType",
    "MeterValue",
    "PendingStation",
    "Station",
    "StationLive",
    "StationSettings",
    "Transaction",
]
