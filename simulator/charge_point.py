"""The OCPP side of the simulator: frames in and out, and handlers for Central System calls.

Handlers only decide the answer from the station's state; anything that sends messages runs
after the answer (``@after`` or a task), because awaiting ``self.call()`` inside an ``@on``
handler would block the receive loop that must deliver the reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocpp.messages import unpack
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint
from ocpp.v16 import call_result as result

from simulator import control
from simulator.protocol import CallErrorFrame, check_call

if TYPE_CHECKING:
    from simulator.station import Simulator

LOGGER = logging.getLogger("simulator")
TRIGGERABLE = {
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
}


@dataclass
class Frame:
    at: datetime
    direction: str  # "in" (from the Central System) or "out"
    text: str


class LoggedConnection:
    """Wraps the websocket so every frame lands in the station's log (used for diagnostics)."""

    def __init__(self, websocket: Any, frames: deque[Frame]) -> None:
        self.websocket = websocket
        self.frames = frames

    async def recv(self) -> str:
        text = await self.websocket.recv()
        self.frames.append(Frame(datetime.now(UTC), "in", text))
        return text

    async def send(self, text: str) -> None:
        self.frames.append(Frame(datetime.now(UTC), "out", text))
        await self.websocket.send(text)


class SimChargePoint(ChargePoint):
    def __init__(self, sim: Simulator, connection: LoggedConnection) -> None:
        super().__init__(sim.charge_point_id, connection, response_timeout=sim.timing.response)
        self.sim = sim
        self._remote_starts: dict[str, int] = {}

    async def route_message(self, raw_msg: str) -> None:
        """Validate CALLs the 1.6 way before the library sees them (see simulator.protocol)."""
        try:
            message = check_call(raw_msg, set(self.route_map))
        except CallErrorFrame as error:
            LOGGER.warning("%s: answering %s", self.id, error)
            await self._send(error.to_json())
            return
        if message is None:
            LOGGER.warning("%s: ignoring unparseable frame %r", self.id, raw_msg[:200])
            return
        try:
            unpack(raw_msg)
        except Exception:
            LOGGER.warning("%s: ignoring frame %r", self.id, raw_msg[:200])
            return
        await super().route_message(raw_msg)

    # --- configuration -------------------------------------------------------------------
    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        known, unknown = self.sim.get_configuration(key)
        return result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        return result.ChangeConfiguration(status=self.sim.change_configuration(key, value))

    @on("ChangeAvailability")
    def on_change_availability(self, connector_id: int, type: str, **_: Any) -> Any:
        return result.ChangeAvailability(status=self.sim.change_availability(connector_id, type))

    @on("ClearCache")
    def on_clear_cache(self, **_: Any) -> Any:
        return result.ClearCache(status=self.sim.clear_cache())

    # --- transactions --------------------------------------------------------------------
    @on("RemoteStartTransaction")
    def on_remote_start(
        self, id_tag: str, call_unique_id: str, connector_id: int | None = None, **_: Any
    ) -> Any:
        chosen = self.sim.remote_start_connector(connector_id, id_tag)
        if chosen is None:
            return result.RemoteStartTransaction(status="Rejected")
        self._remote_starts[call_unique_id] = chosen
        return result.RemoteStartTransaction(status="Accepted")

    @after("RemoteStartTransaction")
    def after_remote_start(self, id_tag: str, call_unique_id: str, **_: Any) -> None:
        chosen = self._remote_starts.pop(call_unique_id, None)
        if chosen is not None:
            self.sim.spawn(self.sim.remote_start(chosen, id_tag))

    @on("RemoteStopTransaction")
    async def on_remote_stop(self, transaction_id: int, **_: Any) -> Any:
        known = await self.sim.transaction_known(transaction_id)
        return result.RemoteStopTransaction(status="Accepted" if known else "Rejected")

    @after("RemoteStopTransaction")
    def after_remote_stop(self, transaction_id: int, **_: Any) -> None:
        connector = self.sim.connector_of_transaction(transaction_id)
        if connector is not None:
            self.sim.spawn(self.sim.stop_transaction(connector.connector_id, "Remote"))

    @on("UnlockConnector")
    def on_unlock_connector(self, connector_id: int, **_: Any) -> Any:
        return result.UnlockConnector(status=self.sim.unlock_status(connector_id))

    @after("UnlockConnector")
    def after_unlock_connector(self, connector_id: int, **_: Any) -> None:
        if self.sim.unlock_status(connector_id) == "Unlocked":
            self.sim.spawn(self.sim.unlock(connector_id))

    @on("ReserveNow")
    def on_reserve_now(
        self,
        connector_id: int,
        expiry_date: str,
        id_tag: str,
        reservation_id: int,
        parent_id_tag: str | None = None,
        **_: Any,
    ) -> Any:
        status = self.sim.reserve(connector_id, expiry_date, id_tag, reservation_id, parent_id_tag)
        return result.ReserveNow(status=status)

    @on("CancelReservation")
    def on_cancel_reservation(self, reservation_id: int, **_: Any) -> Any:
        return result.CancelReservation(status=self.sim.cancel_reservation(reservation_id))

    # --- maintenance ---------------------------------------------------------------------
    @on("Reset")
    def on_reset(self, type: str, **_: Any) -> Any:
        return result.Reset(status="Accepted")

    @after("Reset")
    def after_reset(self, type: str, **_: Any) -> None:
        self.sim.spawn(self.sim.reset(type))

    @on("UpdateFirmware")
    def on_update_firmware(self, **_: Any) -> Any:
        return result.UpdateFirmware()

    @after("UpdateFirmware")
    def after_update_firmware(
        self,
        location: str,
        retrieve_date: str,
        retries: int | None = None,
        retry_interval: int | None = None,
        **_: Any,
    ) -> None:
        self.sim.spawn(
            self.sim.update_firmware(location, retrieve_date, retries or 1, retry_interval or 0)
        )

    @on("GetDiagnostics")
    def on_get_diagnostics(
        self, start_time: str | None = None, stop_time: str | None = None, **_: Any
    ) -> Any:
        path = self.sim.write_diagnostics(start_time, stop_time)
        return result.GetDiagnostics(file_name=path.name)

    @after("GetDiagnostics")
    def after_get_diagnostics(
        self, location: str, retries: int | None = None, retry_interval: int | None = None, **_: Any
    ) -> None:
        self.sim.spawn(self.sim.upload_diagnostics(location, retries or 1, retry_interval or 0))

    # Schema checked by simulator.protocol, which lets an unknown requestedMessage through.
    @on("TriggerMessage", skip_schema_validation=True)
    def on_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> Any:
        if requested_message not in TRIGGERABLE:
            return result.TriggerMessage(status="NotImplemented")
        return result.TriggerMessage(status=self.sim.trigger_status(connector_id))

    @after("TriggerMessage")
    def after_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> None:
        accepted = self.sim.trigger_status(connector_id) == "Accepted"
        if accepted and requested_message in TRIGGERABLE:
            self.sim.spawn(self.sim.trigger(requested_message, connector_id))

    # --- remote control of the simulator itself (demo mode) -----------------------------
    @on("DataTransfer")
    def on_data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None, **_: Any
    ) -> Any:
        status = control.data_transfer_status(vendor_id, message_id, data)
        return result.DataTransfer(status=status)

    @after("DataTransfer")
    def after_data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None, **_: Any
    ) -> None:
        if control.data_transfer_status(vendor_id, message_id, data) == "Accepted":
            kwargs = json.loads(data) if data else {}
            # A task, not an await: the action may drop this very connection (power_cycle).
            self.sim.spawn(control.perform(self.sim, message_id or "", kwargs))


async def close_quietly(websocket: Any) -> None:
    """Close a websocket without caring whether the peer is still there."""
    try:
        async with asyncio.timeout(2):
            await websocket.close()
    except Exception as error:  # the socket may already be gone; nothing left to do
        LOGGER.debug("close failed: %s", error)
