"""Connector state: the facts a charger knows about each outlet, and the OCPP status they imply.

Rather than coding every transition of the 1.6 state table by hand, a connector keeps facts
(cable plugged, fault, availability, transaction, EV suspended ...) and derives its status from
them. The station recomputes statuses after each fact change and notifies the ones that moved,
so no transition can be forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from simulator.metering import Meter

AVAILABLE = "Available"
PREPARING = "Preparing"
CHARGING = "Charging"
SUSPENDED_EV = "SuspendedEV"
SUSPENDED_EVSE = "SuspendedEVSE"
FINISHING = "Finishing"
RESERVED = "Reserved"
UNAVAILABLE = "Unavailable"
FAULTED = "Faulted"


@dataclass
class Transaction:
    connector_id: int
    id_tag: str
    # Negative while the Central System has not yet answered StartTransaction (offline start).
    transaction_id: int
    meter_start: int
    started_at: datetime
    reservation_id: int | None = None
    # Meter values for StopTransaction.transactionData: Transaction.Begin, then periodic ones.
    samples: list[dict] = field(default_factory=list)


@dataclass
class Reservation:
    reservation_id: int
    id_tag: str
    parent_id_tag: str | None
    expiry: datetime


@dataclass
class Connector:
    connector_id: int
    operative: bool = True
    # Availability requested while a transaction runs; applied when it ends ("Scheduled").
    scheduled_operative: bool | None = None
    plugged: bool = False
    fault: str | None = None
    fault_info: str | None = None
    ev_suspended: bool = False
    evse_suspended: bool = False
    finishing: bool = False
    finishing_hold: bool = False  # Finishing held for a while after a stop, cable or not
    # An idTag accepted (locally or by RemoteStart) that waits for the cable (ConnectionTimeOut).
    authorized_tag: str | None = None
    reservation: Reservation | None = None
    transaction: Transaction | None = None
    meter: Meter = field(default_factory=Meter)

    @property
    def status(self) -> str:
        if self.fault:
            return FAULTED
        if self.connector_id == 0:
            return AVAILABLE if self.operative else UNAVAILABLE
        if self.transaction is not None:
            if self.ev_suspended:
                return SUSPENDED_EV
            return SUSPENDED_EVSE if self.evse_suspended else CHARGING
        if not self.operative:
            return UNAVAILABLE
        if self.finishing:
            return FINISHING
        if self.reservation is not None:
            return RESERVED
        if self.plugged or self.authorized_tag:
            return PREPARING
        return AVAILABLE

    @property
    def error_code(self) -> str:
        return self.fault or "NoError"

    @property
    def can_start(self) -> bool:
        """A new transaction may start here (not faulted, operative, none running)."""
        return self.fault is None and self.operative and self.transaction is None

    def update_meter(self) -> None:
        """Current flows only while a transaction charges and neither side suspends."""
        active = self.transaction is not None and not (self.ev_suspended or self.evse_suspended)
        self.meter.set_charging(active)
