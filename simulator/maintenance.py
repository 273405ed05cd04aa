"""Central System requests about the station as a whole, and the station-wide local actions.

Configuration, availability, cache, reservations, TriggerMessage, Reset, faults, power cycle and
going offline. Firmware and diagnostics live in ``simulator.files``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocpp.v16 import call

from simulator import defects as d
from simulator.cancellation import raise_if_cancelling
from simulator.connectors import Reservation
from simulator.control import ERROR_CODES
from simulator.files import FilesMixin

if TYPE_CHECKING:
    from simulator.station import Simulator

LOGGER = logging.getLogger("simulator")
# Keys the get_configuration_missing_keys defect leaves out.
HIDDEN_KEYS = (
    "HeartbeatInterval",
    "MeterValueSampleInterval",
    "ConnectionTimeOut",
    "AuthorizeRemoteTxRequests",
)

UNLOCK_KEY = "UnlockConnectorOnEVSideDisconnect"


class MaintenanceMixin(FilesMixin):
    # --- configuration and cache ---------------------------------------------------------
    def get_configuration(
        self: Simulator, keys: list[str] | None
    ) -> tuple[list[dict[str, Any]], list[str]]:
        known, unknown = self.configuration.entries(keys)
        if d.GET_CONFIGURATION_MISSING_KEYS in self.defects:
            unknown += [e["key"] for e in known if e["key"] in HIDDEN_KEYS and keys]
            known = [entry for entry in known if entry["key"] not in HIDDEN_KEYS]
        if d.READONLY_UNLOCK_ON_EV_SIDE_DISCONNECT in self.defects:
            known = [{**e, "readonly": True} if e["key"] == UNLOCK_KEY else e for e in known]
        return known, unknown

    def change_configuration(self: Simulator, key: str, value: str) -> str:
        if d.CHANGE_CONFIGURATION_NOT_SUPPORTED in self.defects:
            return "NotSupported"
        if key == UNLOCK_KEY and d.READONLY_UNLOCK_ON_EV_SIDE_DISCONNECT in self.defects:
            return "Rejected"
        spec = self.configuration.specs.get(key)
        if d.ACCEPT_ANY_CONFIGURATION_VALUE in self.defects and spec and not spec.readonly:
            self.configuration.set(key, value)  # no validation at all: the defect
            return "Accepted"
        return self.configuration.change(key, value)

    def clear_cache(self: Simulator) -> str:
        if d.CLEAR_CACHE_REJECTED in self.defects:
            return "Rejected"
        self.auth_cache.clear()
        self.save_hardware_state()
        return "Accepted"

    # --- availability --------------------------------------------------------------------
    def change_availability(self: Simulator, connector_id: int, type: str) -> str:
        """Apply ChangeAvailability now, or schedule it for connectors that are charging."""
        if connector_id not in self.connectors:
            return "Rejected"
        operative = type == "Operative"
        targets = (
            list(self.connectors.values()) if connector_id == 0 else [self.connectors[connector_id]]
        )
        scheduled = False
        for connector in targets:
            if connector.transaction is not None and not operative:
                connector.scheduled_operative = False
                scheduled = True
            else:
                connector.operative = operative
                connector.scheduled_operative = None
        self.save_hardware_state()
        silent = d.NO_STATUS_ON_AVAILABILITY_CHANGE in self.defects
        self.spawn(self.refresh(silent=silent))
        return "Scheduled" if scheduled else "Accepted"

    # --- reservations --------------------------------------------------------------------
    def reserve(
        self: Simulator,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        parent_id_tag: str | None,
    ) -> str:
        connector = self.connectors.get(connector_id)
        if connector is None or connector_id == 0:
            return "Rejected"
        if connector.fault:
            return "Faulted"
        if not connector.operative:
            return "Unavailable"
        same = connector.reservation and connector.reservation.reservation_id == reservation_id
        busy = connector.transaction or connector.plugged or connector.authorized_tag
        if busy or (connector.reservation and not same):
            return "Occupied"
        self.cancel_reservation(reservation_id)
        expiry = datetime.fromisoformat(expiry_date.replace("Z", "+00:00"))
        connector.reservation = Reservation(reservation_id, id_tag, parent_id_tag, expiry)
        self.spawn(self._expire_reservation(connector.connector_id, reservation_id, expiry))
        self.spawn(self.refresh())
        return "Accepted"

    async def _expire_reservation(
        self: Simulator, connector_id: int, reservation_id: int, expiry: datetime
    ) -> None:
        await asyncio.sleep(max(0.0, (expiry - datetime.now(UTC)).total_seconds()))
        reservation = self.connectors[connector_id].reservation
        if reservation and reservation.reservation_id == reservation_id:
            self.connectors[connector_id].reservation = None
            await self.refresh()

    def cancel_reservation(self: Simulator, reservation_id: int) -> str:
        for connector in self.connectors.values():
            reservation = connector.reservation
            if reservation and reservation.reservation_id == reservation_id:
                connector.reservation = None
                self.spawn(self.refresh())
                return "Accepted"
        return "Rejected"

    # --- connectors ----------------------------------------------------------------------
    def unlock_status(self: Simulator, connector_id: int) -> str:
        connector = self.connectors.get(connector_id)
        if connector is None or connector_id == 0:
            return "NotSupported"
        return "UnlockFailed" if connector.fault == "ConnectorLockFailure" else "Unlocked"

    async def unlock(self: Simulator, connector_id: int) -> None:
        await self._stop(self.connector(connector_id), "UnlockCommand")

    async def fault(
        self: Simulator, connector_id: int, error_code: str, info: str | None = None
    ) -> None:
        """A hardware error; on connector 0 it is the station's own. Ends a transaction."""
        if error_code not in ERROR_CODES:
            raise ValueError(f"{error_code!r} is not a ChargePointErrorCode")
        connector = self.connector(connector_id, allow_zero=True)
        connector.fault, connector.fault_info = error_code, info
        connector.authorized_tag = None
        if connector.transaction is not None:
            await self._stop(connector, "Other")
        await self.refresh()

    async def clear_fault(self: Simulator, connector_id: int) -> None:
        connector = self.connector(connector_id, allow_zero=True)
        connector.fault = connector.fault_info = None
        await self.refresh()

    # --- TriggerMessage ------------------------------------------------------------------
    def trigger_status(self: Simulator, connector_id: int | None) -> str:
        if d.TRIGGER_MESSAGE_IGNORED in self.defects:
            return "Accepted"
        if connector_id is not None and connector_id not in self.connectors:
            return "Rejected"
        return "Accepted"

    async def trigger(self: Simulator, requested: str, connector_id: int | None) -> None:
        if d.TRIGGER_MESSAGE_IGNORED in self.defects:
            return
        if requested == "BootNotification":
            await self._triggered_boot()
        elif requested == "Heartbeat":
            await self.send_heartbeat()
        elif requested == "StatusNotification":
            for connector in self._selected(connector_id, include_zero=True):
                await self.send_status(connector)
        elif requested == "MeterValues":
            for connector in self._selected(connector_id, include_zero=False):
                await self._send_meter_values(connector, "MeterValuesSampledData", "Trigger")
        elif requested == "DiagnosticsStatusNotification":
            await self.send(call.DiagnosticsStatusNotification(status=self.diagnostics_status))
        elif requested == "FirmwareStatusNotification":
            await self.send(call.FirmwareStatusNotification(status=self.firmware_status))

    def _selected(self: Simulator, connector_id: int | None, include_zero: bool) -> list:
        if connector_id is not None:
            return [self.connectors[connector_id]]
        return [c for c in self.connectors.values() if include_zero or c.connector_id]

    async def _triggered_boot(self: Simulator) -> None:
        """A triggered boot may come while Pending, so it bypasses the online check."""
        if self._cp is None:
            return
        answer = await self._cp.call(self.boot_payload())
        raise_if_cancelling()
        if answer is not None and answer.status == "Accepted":
            self.registration_status = answer.status
            self._apply_boot_interval(answer.interval)
            self._boot_accepted.set()

    async def _send_meter_values(self: Simulator, connector: Any, key: str, context: str) -> None:
        """Meter values outside the sampled stream (Trigger, Sample.Clock).

        Values of a running transaction go through the ordered queue; the others are sent
        only when online, as they are worthless later.
        """
        value = self._meter_value(connector, key, context)
        if not value["sampledValue"]:
            return
        if connector.transaction is not None:
            self._enqueue_meter_values(connector, value)
            return
        await self.send(call.MeterValues(connector_id=connector.connector_id, meter_value=[value]))

    async def _clock_aligned_loop(self: Simulator) -> None:
        """Sample.Clock values at every multiple of ClockAlignedDataInterval past midnight UTC."""
        while True:
            interval = self.configuration.get_int("ClockAlignedDataInterval")
            changed = self._key_events.setdefault("ClockAlignedDataInterval", asyncio.Event())
            if interval <= 0:
                await changed.wait()
                continue
            now = time.time()
            try:
                async with asyncio.timeout(interval - now % interval):
                    await changed.wait()
                continue
            except TimeoutError:
                pass
            for connector in self._selected(None, include_zero=False):
                await self._send_meter_values(connector, "MeterValuesAlignedData", "Sample.Clock")

    # --- reset, power, network -----------------------------------------------------------
    async def reset(self: Simulator, type: str) -> None:
        """Reset.req accepted: end transactions (HardReset/SoftReset), then reboot."""
        if d.NO_REBOOT_AFTER_RESET in self.defects:
            return
        if d.EXIT_ON_RESET in self.defects:
            await self.exit_and_restart()
            return
        await self.stop_all("HardReset" if type == "Hard" else "SoftReset")
        await self._drain_queue(self.timing.response)
        await self.reboot()

    async def _drain_queue(self: Simulator, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.queue) and self.online.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def reboot(self: Simulator) -> None:
        """Restart the controller: drop the socket; the next connection boots afresh."""
        for connector in self.connectors.values():
            connector.authorized_tag = None
        self._needs_boot = True
        self._reboot_pending = True
        self.drop_connection()

    async def exit_and_restart(self: Simulator) -> None:
        """The firmware process exits and its supervisor starts it again: what was in memory
        (a running transaction, a tag waiting for the cable) is gone without a StopTransaction,
        and the socket ends without a close frame."""
        for connector in self.connectors.values():
            connector.transaction = None
            connector.ev_suspended = connector.evse_suspended = connector.finishing = False
            connector.update_meter()
        for key in list(self._meter_tasks):
            self._cancel(self._meter_tasks, key)
        self._exiting = True
        await self.reboot()

    async def power_cycle(self: Simulator) -> None:
        """Power loss and return: transactions end with PowerLoss, reported after the boot."""
        self.drop_connection()
        await self.stop_all("PowerLoss")
        for connector in self.connectors.values():
            connector.ev_suspended = connector.evse_suspended = False
        await self.reboot()

    async def go_offline(self: Simulator, seconds: float) -> None:
        """Lose the network for ``seconds``: charging goes on, messages queue up."""
        self._offline_until = time.monotonic() + seconds
        self.drop_connection()
