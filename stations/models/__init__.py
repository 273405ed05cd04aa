"""The station catalogue (manufacturers, models, firmware, units under test) and, beside it,
the Central System's records of what stations said."""

from stations.models.catalogue import (
    ChargerModel,
    CurrentType,
    FirmwareVersion,
    Manufacturer,
    Station,
)

__all__ = ["ChargerModel", "CurrentType", "FirmwareVersion", "Manufacturer", "Station"]
