"""The simulated charge point: its hardware state, its connection and its local actions.

``Simulator`` is what tests, the ``simulate`` command and the demo mode use. The connection
lifecycle (connect, boot, heartbeat, reconnect with back-off) lives here; transaction logic and
maintenance (configuration, availability, reset, firmware, diagnostics) live in the mixins of
``simulator.transactions`` and ``simulator.maintenance``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import tempfile
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ocpp.v16 import call
from websockets.asyncio.client import connect

from simulator import defects as d
from simulator.cancellation import raise_if_cancelling
from simulator.charge_point import Frame, LoggedConnection, SimChargePoint, close_quietly
from simulator.configuration import Configuration
from simulator.connectors import Connector
from simulator.maintenance import MaintenanceMixin
from simulator.metering import Meter, utc_now_iso
from simulator.offline import OfflineQueue
from simulator.persistence import StateFile
from simulator.transactions import TransactionMixin

LOGGER = logging.getLogger("simulator")


@dataclass
class Timing:
    """Delays a real charger has; ``Timing.fast()`` shrinks them for tests and demos."""

    response: float = 30.0  # how long to wait for a CALLRESULT
    backoff_initial: float = 1.0  # first reconnect delay, doubled up to backoff_max
    backoff_max: float = 60.0
    boot_retry_default: float = 30.0  # retry delay when a boot answer gives interval 0
    reboot_delay: float = 3.0  # time a reboot keeps the station off the network
    install_duration: float = 3.0
    retry_cap: float | None = None  # caps retry intervals a Central System asks for
    auto_stop_after: float = 60.0  # defect stops_transactions_by_itself: a transaction's length
    finishing_hold: float = 2.0  # defect finishing_rejects_remote_start: Finishing after a stop

    @classmethod
    def fast(cls) -> Timing:
        return cls(5.0, 0.2, 2.0, 1.0, 0.3, 0.3, 1.0)


class Simulator(TransactionMixin, MaintenanceMixin):
    """One OCPP 1.6-J charge point. ``await start()`` connects it; ``await stop()`` ends it."""

    def __init__(
        self,
        url: str,
        charge_point_id: str | None = None,
        *,
        password: str | None = None,
        connectors: int = 2,
        vendor: str = "CertLab",
        model: str = "SimCharger",
        serial: str = "SIM-0001",
        iccid: str = "8931000000000000001",
        imsi: str = "204080000000001",
        firmware: str = "1.0.0",
        meter_type: str = "SimMeter 3P",
        meter_serial: str = "MTR-0001",
        defects: frozenset[str] | set[str] | tuple[str, ...] = (),
        state_dir: str | Path | None = None,
        fast: bool = False,
        timing: Timing | None = None,
        configuration: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.charge_point_id = charge_point_id or urlsplit(url).path.rstrip("/").split("/")[-1]
        self.password = password
        self.identity = {
            "vendor": vendor,
            "model": model,
            "serial": serial,
            "iccid": iccid,
            "imsi": imsi,
            "meter_type": meter_type,
            "meter_serial": meter_serial,
        }
        self.defects = frozenset(defects)
        unknown = self.defects - d.ALL_DEFECTS
        if unknown:
            raise ValueError(f"unknown defects: {sorted(unknown)}")
        self.timing = timing or (Timing.fast() if fast else Timing())
        self.state = StateFile(state_dir, self.charge_point_id)
        self.files_dir = (
            Path(state_dir) / f"{self.charge_point_id}-files"
            if state_dir
            else Path(tempfile.mkdtemp(prefix=f"sim-{self.charge_point_id}-"))
        )
        if d.STOP_TXN_SAMPLED_DATA_EMPTY in self.defects and (
            "StopTxnSampledData" not in self.state.get("configuration", {})
        ):  # shipped empty: what the Central System sets later persists
            configuration = {"StopTxnSampledData": "", **(configuration or {})}
        self.configuration = Configuration(self.state, connectors, configuration)
        self.configuration.on_change(self._config_changed)
        self.connectors = self._load_connectors(connectors)
        self.queue = OfflineQueue(self.state)
        self.auth_cache: dict[str, dict[str, Any]] = self.state.get("auth_cache", {})
        self.firmware_version = self._load_firmware(firmware)
        self.firmware_status = "Idle"
        self.diagnostics_status = "Idle"
        self.registration_status: str | None = None
        self.frames: deque[Frame] = deque(maxlen=5000)
        self.boots = 0  # BootNotifications accepted since this object was created
        # The interval the station started with: the ignore_heartbeat_interval defect keeps it.
        self._initial_heartbeat = self.configuration.get_int("HeartbeatInterval")
        self._cp: SimChargePoint | None = None
        self._needs_boot = True
        self._reboot_pending = False
        self._exiting = False  # exit_on_reset: the socket is aborted, not closed
        self._offline_until = 0.0
        self._stopping = False
        self._run_task: asyncio.Task[None] | None = None
        self._drop = asyncio.Event()
        self.online = asyncio.Event()  # connected and BootNotification accepted
        self._tasks: set[asyncio.Task[Any]] = set()
        self._key_events: dict[str, asyncio.Event] = {}
        self._queue_event = asyncio.Event()
        self._boot_accepted = asyncio.Event()
        self._last_sent: dict[int, tuple[str, str]] = {}
        self._timers: dict[int, asyncio.Task[Any]] = {}
        self._meter_tasks: dict[int, asyncio.Task[Any]] = {}
        self._diagnostics_file: Path | None = None

    # --- persistent state ----------------------------------------------------------------
    def _load_connectors(self, count: int) -> dict[int, Connector]:
        availability: dict[str, bool] = self.state.get("availability", {})
        meters: dict[str, float] = self.state.get("meters", {})
        return {
            cid: Connector(
                cid,
                operative=availability.get(str(cid), True),
                meter=Meter(meters.get(str(cid), 1000.0 * cid)),
            )
            for cid in range(count + 1)
        }

    def _load_firmware(self, firmware: str) -> str:
        """The installed firmware survives restarts unless the operator names another base."""
        stored = self.state.get("firmware", {})
        if stored.get("base") == firmware and stored.get("installed"):
            return str(stored["installed"])
        self.state.set("firmware", {"base": firmware, "installed": firmware})
        return firmware

    def save_hardware_state(self) -> None:
        self.state.data["availability"] = {
            str(c.connector_id): c.operative for c in self.connectors.values()
        }
        self.state.data["meters"] = {
            str(c.connector_id): c.meter.energy_wh for c in self.connectors.values()
        }
        self.state.data["auth_cache"] = self.auth_cache
        self.state.save()

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Power on: connect (in the background) and boot."""
        self._stopping = False
        self._run_task = asyncio.create_task(self._run(), name=f"sim-{self.charge_point_id}")

    async def stop(self) -> None:
        """Power off for good: close the socket and cancel every task."""
        self._stopping = True
        self._drop.set()
        tasks = [*self._tasks, *self._meter_tasks.values(), *self._timers.values()]
        if self._run_task:
            tasks.append(self._run_task)
        # Cancel again if a library swallowed the first cancellation (see cancellation.py).
        for _ in range(10):
            pending = [task for task in tasks if not task.done()]
            if not pending:
                break
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=0.5)
        self.save_hardware_state()

    async def wait_online(self, timeout: float = 10.0) -> None:
        """Wait until connected and booted (raises TimeoutError)."""
        async with asyncio.timeout(timeout):
            await self.online.wait()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a coroutine beside the connection, keeping a reference and logging failures."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            LOGGER.error("%s: task failed", self.charge_point_id, exc_info=task.exception())

    async def _run(self) -> None:
        backoff = self.timing.backoff_initial
        while not self._stopping:
            wait = self._offline_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            # Cleared before connecting, so an offline/reboot request made meanwhile still counts.
            self._drop.clear()
            try:
                websocket = await connect(
                    self.url,
                    subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                    additional_headers=self._auth_headers(),
                    open_timeout=10,
                    ping_interval=self.configuration.get_int("WebSocketPingInterval") or None,
                )
            except Exception as error:  # refused, DNS, handshake: all mean "try again later"
                LOGGER.info(
                    "%s: connect failed (%s), retry in %.1fs", self.charge_point_id, error, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.timing.backoff_max)
                continue
            backoff = self.timing.backoff_initial
            await self._session(websocket)
            if self._reboot_pending:
                self._reboot_pending = False
                if not self._exiting:  # a supervisor restarts an exited process at once
                    await asyncio.sleep(self.timing.reboot_delay)
                self._exiting = False

    def _auth_headers(self) -> dict[str, str]:
        if not self.password:
            return {}
        token = base64.b64encode(f"{self.charge_point_id}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def _session(self, websocket: Any) -> None:
        """Serve one websocket connection until it closes or the station drops it."""
        cp = SimChargePoint(self, LoggedConnection(websocket, self.frames))
        self._cp = cp
        serve = asyncio.create_task(cp.start())
        online = asyncio.create_task(self._online(cp))
        dropped = asyncio.create_task(self._drop.wait())
        try:
            await asyncio.wait({serve, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when stop() cancels us: no task may outlive its connection
            self._cp = None
            self.online.clear()
            for task in (serve, online, dropped):
                task.cancel()
            await asyncio.gather(serve, online, dropped, return_exceptions=True)
            if self._exiting:  # the process died: no close frame, the TCP connection just ends
                websocket.transport.abort()
            await close_quietly(websocket)
        LOGGER.info("%s: disconnected", self.charge_point_id)

    async def _online(self, cp: SimChargePoint) -> None:
        if self._needs_boot:
            await self._boot(cp)
            self._needs_boot = False
            self._last_sent.clear()
            if d.NO_CONNECTOR_ZERO_STATUS_AFTER_BOOT in self.defects:
                zero = self.connectors[0]
                self._last_sent[0] = (zero.status, zero.error_code)
        self.online.set()
        await self.refresh()
        if d.LIVE_METER_VALUES_FIRST in self.defects and len(self.queue):
            await self.send_live_samples()
        if self.state.get("firmware_installed_pending"):
            self.state.set("firmware_installed_pending", False)
            await self.send_firmware_status("Installed")
        raise_if_cancelling()
        # A TaskGroup so that one failing loop takes the others down with it, never orphans them.
        async with asyncio.TaskGroup() as group:
            group.create_task(self._flush_queue())
            group.create_task(self._heartbeat_loop())
            group.create_task(self._clock_aligned_loop())

    def drop_connection(self) -> None:
        """Close the websocket from the station's side (offline, reboot, power loss)."""
        self.online.clear()
        self._drop.set()

    # --- boot and heartbeat --------------------------------------------------------------
    def boot_payload(self) -> call.BootNotification:
        ident = self.identity
        no_serial = d.BOOT_WITHOUT_SERIAL in self.defects
        no_iccid = d.BOOT_WITHOUT_ICCID in self.defects
        no_modem = d.NO_MODEM in self.defects  # the field is there, empty
        return call.BootNotification(
            charge_point_model=ident["model"],
            charge_point_vendor=ident["vendor"],
            charge_point_serial_number=None if no_serial else ident["serial"],
            charge_box_serial_number=None if no_serial else ident["serial"],
            firmware_version=self.firmware_version,
            iccid=None if no_iccid else "" if no_modem else ident["iccid"],
            imsi=None if no_iccid or no_modem else ident["imsi"],
            meter_type=ident["meter_type"],
            meter_serial_number=ident["meter_serial"],
        )

    async def _boot(self, cp: SimChargePoint) -> None:
        """BootNotification until Accepted, waiting the interval the Central System gives."""
        while True:
            answer = await cp.call(self.boot_payload())
            raise_if_cancelling()
            if answer is None:  # CALLERROR: nothing to go by but our default
                await asyncio.sleep(self.timing.boot_retry_default)
                continue
            self.registration_status = answer.status
            if answer.status == "Accepted":
                self.boots += 1
                self._apply_boot_interval(answer.interval)
                return
            # While Pending the Central System may accept us sooner by a triggered boot.
            self._boot_accepted.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(answer.interval or self.timing.boot_retry_default):
                    await self._boot_accepted.wait()
            if self.registration_status == "Accepted":
                return

    def _apply_boot_interval(self, interval: int) -> None:
        if interval > 0 and d.IGNORE_HEARTBEAT_INTERVAL not in self.defects:
            self.configuration.set("HeartbeatInterval", str(interval))

    def _heartbeat_interval(self) -> int:
        if d.IGNORE_HEARTBEAT_INTERVAL in self.defects:
            return self._initial_heartbeat
        return self.configuration.get_int("HeartbeatInterval")

    async def _heartbeat_loop(self) -> None:
        if d.NO_HEARTBEAT in self.defects:
            return
        await self.every("HeartbeatInterval", self._heartbeat_interval, self.send_heartbeat)

    async def send_heartbeat(self) -> None:
        await self.send(call.Heartbeat())

    async def every(self, key: str, interval: Any, action: Any) -> None:
        """Run ``action`` every ``interval()`` seconds; a change of ``key`` restarts the timer."""
        while True:
            raise_if_cancelling()
            seconds = interval()
            changed = self._key_events.setdefault(key, asyncio.Event())
            if seconds <= 0:
                await changed.wait()
                continue
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
                async with asyncio.timeout(seconds):
                    await changed.wait()
                continue
            except TimeoutError:
                pass
            await action()

    def _config_changed(self, key: str, value: str) -> None:
        event = self._key_events.pop(key, None)
        if event is not None:
            event.set()

    # --- sending -------------------------------------------------------------------------
    async def send(self, payload: Any, skip_schema_validation: bool = False) -> Any | None:
        """Send a CALL when online; returns the answer, or None (offline, error, timeout)."""
        raise_if_cancelling()
        cp = self._cp
        if cp is None or not self.online.is_set():
            LOGGER.info("%s: offline, not sending %s", self.charge_point_id, type(payload).__name__)
            return None
        try:
            answer = await cp.call(payload, skip_schema_validation=skip_schema_validation)
            raise_if_cancelling()
            return answer
        except Exception as error:  # timeout or closed socket: the reconnect loop takes over
            LOGGER.warning("%s: %s failed: %s", self.charge_point_id, type(payload).__name__, error)
            return None

    async def send_status(self, connector: Connector) -> None:
        status = connector.status
        if d.SCHEMA_INVALID_FRAMES in self.defects:
            # Deliberate schema violations: a lower-case errorCode and a string connectorId.
            payload = call.StatusNotification(
                connector_id=str(connector.connector_id),  # type: ignore[arg-type]
                error_code=connector.error_code[0].lower() + connector.error_code[1:],
                status=status,
                timestamp=utc_now_iso(),
            )
            await self.send(payload, skip_schema_validation=True)
            return
        await self.send(
            call.StatusNotification(
                connector_id=connector.connector_id,
                error_code=connector.error_code,
                status=status,
                timestamp=utc_now_iso(),
                info=connector.fault_info if connector.fault else None,
            )
        )

    async def refresh(self, silent: bool = False, force: bool = False) -> None:
        """Notify every connector whose status changed since it was last notified.

        ``silent`` records the new statuses without sending (a defect); ``force`` resends all.
        Offline, nothing is recorded, so the changes are sent after reconnect.
        """
        for connector in list(self.connectors.values()):
            current = (connector.status, connector.error_code)
            if not force and self._last_sent.get(connector.connector_id) == current:
                continue
            if connector.status == "Preparing" and d.NO_PREPARING in self.defects:
                continue  # MinimumStatusDuration: the short state is never reported
            if silent:
                self._last_sent[connector.connector_id] = current
            elif self.online.is_set():
                self._last_sent[connector.connector_id] = current
                await self.send_status(connector)

    def snapshot(self) -> dict[str, Any]:
        """The station's state as plain data (for dashboards, logs and tests)."""
        return {
            "charge_point_id": self.charge_point_id,
            "online": self.online.is_set(),
            "registration_status": self.registration_status,
            "firmware_version": self.firmware_version,
            "firmware_status": self.firmware_status,
            "diagnostics_status": self.diagnostics_status,
            "queued_messages": len(self.queue),
            "connectors": [
                {
                    "connector_id": c.connector_id,
                    "status": c.status,
                    "error_code": c.error_code,
                    "plugged": c.plugged,
                    "transaction_id": c.transaction.transaction_id if c.transaction else None,
                    "energy_wh": c.meter.register_wh(),
                }
                for c in self.connectors.values()
            ],
        }

    def connector(self, connector_id: int, allow_zero: bool = False) -> Connector:
        if connector_id not in self.connectors or (connector_id == 0 and not allow_zero):
            raise ValueError(f"no connector {connector_id}")
        return self.connectors[connector_id]
