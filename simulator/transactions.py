"""Authorization, transactions and their meter values (the Simulator's transaction half).

Every transaction message goes through the offline queue (``simulator.offline``), which one
task per connection drains in order; so ordering and offline replay need no special case.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from simulator import defects as d
from simulator.cancellation import raise_if_cancelling
from simulator.connectors import Connector, Transaction
from simulator.metering import ESSENTIAL, utc_now_iso
from simulator.offline import QueuedMessage

if TYPE_CHECKING:
    from simulator.station import Simulator

LOGGER = logging.getLogger("simulator")
MAX_TRANSACTION_DATA = 50  # periodic samples kept for StopTransaction.transactionData
ACCEPTED = {"status": "Accepted"}


class TransactionMixin:
    # --- local actions -------------------------------------------------------------------
    async def plug_in(self: Simulator, connector_id: int) -> None:
        """The driver plugs the cable in: Preparing, or a transaction if a tag was accepted."""
        connector = self.connector(connector_id)
        connector.plugged = True
        connector.finishing = False
        tag = connector.authorized_tag
        if tag and connector.can_start:
            await self._start_transaction(connector, tag)
        else:
            await self.refresh()

    async def unplug(self: Simulator, connector_id: int) -> None:
        """The cable is removed; a running transaction stops with reason EVDisconnected."""
        connector = self.connector(connector_id)
        connector.plugged = False
        if connector.transaction is not None:
            if self.configuration.get_bool("StopTransactionOnEVSideDisconnect"):
                await self._stop(connector, "EVDisconnected")
            else:
                connector.ev_suspended = True
                connector.update_meter()
        connector.finishing = connector.finishing_hold
        await self.refresh()

    async def present_tag(self: Simulator, connector_id: int, id_tag: str) -> None:
        """An RFID card at the reader: stops this connector's transaction or starts one."""
        connector = self.connector(connector_id)
        tx = connector.transaction
        if tx is not None:
            if tx.id_tag == id_tag or await self._same_parent(tx, id_tag):
                await self._stop(connector, "Local", id_tag=id_tag)
            return
        if not connector.can_start or not self._reservation_allows(connector, id_tag):
            return
        info = await self.authorize(id_tag)
        if info.get("status") != "Accepted":
            return  # not approved: the sequence stops here
        await self._start_when_plugged(connector, id_tag)

    async def ev_suspend(self: Simulator, connector_id: int) -> None:
        await self._set_suspended(connector_id, ev=True)

    async def ev_resume(self: Simulator, connector_id: int) -> None:
        await self._set_suspended(connector_id, ev=False)

    async def evse_suspend(self: Simulator, connector_id: int) -> None:
        await self._set_suspended(connector_id, evse=True)

    async def evse_resume(self: Simulator, connector_id: int) -> None:
        await self._set_suspended(connector_id, evse=False)

    async def _set_suspended(
        self: Simulator, connector_id: int, ev: bool | None = None, evse: bool | None = None
    ) -> None:
        connector = self.connector(connector_id)
        if connector.transaction is None:
            return
        if ev is not None:
            connector.ev_suspended = ev
        if evse is not None:
            connector.evse_suspended = evse
        connector.update_meter()
        await self.refresh()

    async def stop_transaction(self: Simulator, connector_id: int, reason: str = "Local") -> None:
        await self._stop(self.connector(connector_id), reason)

    # --- remote start --------------------------------------------------------------------
    def remote_start_connector(
        self: Simulator, connector_id: int | None, id_tag: str | None = None
    ) -> int | None:
        """The connector a RemoteStartTransaction would use, or None to reject it."""
        if connector_id is not None:
            connector = self.connectors.get(connector_id)
            if connector_id == 0 or connector is None:
                return None
            candidates = [connector]
        else:
            candidates = sorted(
                (c for c in self.connectors.values() if c.connector_id),
                key=lambda c: not c.plugged,
            )
        for connector in candidates:
            free = connector.can_start and not connector.authorized_tag
            if d.FINISHING_REJECTS_REMOTE_START in self.defects and connector.finishing:
                free = False
            if free and (id_tag is None or self._reservation_allows(connector, id_tag)):
                return connector.connector_id
        return None

    async def remote_start(self: Simulator, connector_id: int, id_tag: str) -> None:
        """After RemoteStartTransaction.conf: authorize if configured, then start or wait."""
        if d.NO_START_AFTER_REMOTE_START in self.defects:
            return
        connector = self.connector(connector_id)
        if self.configuration.get_bool("AuthorizeRemoteTxRequests"):
            info = await self.authorize(id_tag, use_cache=False)
            if info.get("status") != "Accepted":
                return
        await self._start_when_plugged(connector, id_tag)

    async def transaction_known(self: Simulator, transaction_id: int, within: float = 1.0) -> bool:
        """Whether ``transaction_id`` is one of ours. The Central System's answer to our
        StartTransaction may have arrived just before its call naming the transaction (in that
        order on the socket) while the task that sent StartTransaction has not taken the id in
        yet: that task gets its turn first (up to ``within`` s) while a start awaits its id."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self.connector_of_transaction(transaction_id) is None:
            unconfirmed = any(c.transaction and c.transaction.transaction_id < 0
                              for c in self.connectors.values())  # fmt: skip
            if not unconfirmed or loop.time() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def connector_of_transaction(self: Simulator, transaction_id: int) -> Connector | None:
        for connector in self.connectors.values():
            if connector.transaction and connector.transaction.transaction_id == transaction_id:
                return connector
        return None

    # --- authorization -------------------------------------------------------------------
    async def authorize(self: Simulator, id_tag: str, use_cache: bool = True) -> dict[str, Any]:
        """idTagInfo for a tag: cache if allowed, else Authorize.req, else the offline rules."""
        config = self.configuration
        cache_on = config.get_bool("AuthorizationCacheEnabled")
        cached = self.auth_cache.get(id_tag) if cache_on else None
        pre_authorized = cached and cached.get("status") == "Accepted"
        if use_cache and pre_authorized and config.get_bool("LocalPreAuthorize"):
            return cached
        if self.online.is_set():
            answer = await self.send(call.Authorize(id_tag=id_tag))
            if answer is not None:
                self._remember(id_tag, answer.id_tag_info)
                return answer.id_tag_info
        if cached and config.get_bool("LocalAuthorizeOffline"):
            return cached
        if config.get_bool("AllowOfflineTxForUnknownId"):
            return ACCEPTED
        return {"status": "Invalid"}

    def _remember(self: Simulator, id_tag: str, info: dict[str, Any]) -> None:
        if self.configuration.get_bool("AuthorizationCacheEnabled"):
            self.auth_cache[id_tag] = info
            self.save_hardware_state()

    async def _same_parent(self: Simulator, tx: Transaction, id_tag: str) -> bool:
        parent = (self.auth_cache.get(tx.id_tag) or {}).get("parent_id_tag")
        if not parent:
            return False
        info = await self.authorize(id_tag)
        return info.get("status") == "Accepted" and info.get("parent_id_tag") == parent

    def _reservation_allows(self: Simulator, connector: Connector, id_tag: str) -> bool:
        reservation = connector.reservation
        return reservation is None or id_tag in (reservation.id_tag, reservation.parent_id_tag)

    # --- starting and stopping -----------------------------------------------------------
    async def _start_when_plugged(self: Simulator, connector: Connector, id_tag: str) -> None:
        if connector.plugged:
            await self._start_transaction(connector, id_tag)
            return
        connector.authorized_tag = id_tag
        self._cancel(self._timers, connector.connector_id)
        self._timers[connector.connector_id] = self.spawn(self._connection_timeout(connector))
        await self.refresh()

    async def _connection_timeout(self: Simulator, connector: Connector) -> None:
        """ConnectionTimeOut: give up on a tag that was never followed by a cable."""
        await asyncio.sleep(self.configuration.get_int("ConnectionTimeOut"))
        if connector.authorized_tag and not connector.plugged:
            connector.authorized_tag = None
            await self.refresh()

    async def _start_transaction(self: Simulator, connector: Connector, id_tag: str) -> None:
        self._cancel(self._timers, connector.connector_id)
        reservation = connector.reservation
        local_id = self._next_local_id()
        tx = Transaction(
            connector_id=connector.connector_id,
            id_tag=id_tag,
            transaction_id=local_id,
            meter_start=connector.meter.register_wh(),
            started_at=datetime.now(UTC),
            reservation_id=reservation.reservation_id if reservation else None,
        )
        connector.authorized_tag = None
        connector.reservation = None
        connector.transaction = tx
        connector.update_meter()
        payload = {
            "connectorId": connector.connector_id,
            "idTag": id_tag,
            "meterStart": tx.meter_start,
            "timestamp": utc_now_iso(),
        }
        if tx.reservation_id is not None:
            payload["reservationId"] = tx.reservation_id
        self.enqueue("StartTransaction", payload, local_id)
        tx.samples.append(self._meter_value(connector, "StopTxnSampledData", "Transaction.Begin"))
        if d.STOP_TXN_SAMPLED_DATA_EMPTY not in self.defects:
            begin = self._meter_value(connector, "MeterValuesSampledData", "Transaction.Begin")
            self._enqueue_meter_values(connector, begin)
        self._meter_tasks[connector.connector_id] = self.spawn(self._sample_loop(connector, tx))
        if d.STOPS_TRANSACTIONS_BY_ITSELF in self.defects:
            self.spawn(self._stop_after(connector, tx, self.timing.auto_stop_after))
        await self.refresh()

    async def _stop_after(self: Simulator, connector: Connector, tx: Transaction, delay: float):
        """The defect stops_transactions_by_itself: the station's own time limit."""
        await asyncio.sleep(delay)
        if connector.transaction is tx:
            await self._stop(connector, "Local")

    async def _release_finishing(self: Simulator, connector: Connector) -> None:
        """The defect finishing_rejects_remote_start: Finishing for a while after a stop."""
        await asyncio.sleep(self.timing.finishing_hold)
        connector.finishing_hold = False
        connector.finishing = connector.plugged and connector.transaction is None
        await self.refresh()

    async def _stop(
        self: Simulator, connector: Connector, reason: str, id_tag: str | None = None
    ) -> None:
        tx = connector.transaction
        if tx is None:
            return
        if self._meter_tasks.get(connector.connector_id) is not asyncio.current_task():
            self._cancel(self._meter_tasks, connector.connector_id)
        end = self._meter_value(connector, "StopTxnSampledData", "Transaction.End")
        payload: dict[str, Any] = {
            "transactionId": tx.transaction_id,
            "meterStop": connector.meter.register_wh(),
            "timestamp": utc_now_iso(),
            "reason": reason,
        }
        if reason == "Remote" and d.REMOTE_STOP_WITHOUT_REASON in self.defects:
            del payload["reason"]
        transaction_data = [value for value in [*tx.samples, end] if value["sampledValue"]]
        if transaction_data:
            payload["transactionData"] = transaction_data
        if id_tag:
            payload["idTag"] = id_tag
        connector.transaction = None
        connector.ev_suspended = connector.evse_suspended = False
        connector.update_meter()
        connector.finishing = connector.plugged
        if d.FINISHING_REJECTS_REMOTE_START in self.defects:
            connector.finishing_hold = connector.finishing = True
            self.spawn(self._release_finishing(connector))
        if connector.scheduled_operative is not None:
            connector.operative = connector.scheduled_operative
            connector.scheduled_operative = None
        self.enqueue("StopTransaction", payload, tx.transaction_id)
        self.save_hardware_state()
        await self.refresh()

    async def stop_all(self: Simulator, reason: str) -> None:
        for connector in self.connectors.values():
            await self._stop(connector, reason)

    def _next_local_id(self: Simulator) -> int:
        local_id = int(self.state.get("last_local_id", 0)) - 1
        self.state.set("last_local_id", local_id)
        return local_id

    @staticmethod
    def _cancel(tasks: dict[int, asyncio.Task[Any]], key: int) -> None:
        task = tasks.pop(key, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    # --- meter values --------------------------------------------------------------------
    def measurands(self: Simulator, key: str) -> list[str]:
        names = self.configuration.get_list(key)
        if d.METER_WITHOUT_VOLTAGE_CURRENT_POWER in self.defects:
            names = [name for name in names if name not in ESSENTIAL]
        return names

    def _meter_value(self: Simulator, connector: Connector, key: str, context: str) -> dict:
        per_phase = self.configuration.get_bool("CertLab.MeterValuesPerPhase")
        return connector.meter.meter_value(self.measurands(key), context, per_phase)

    async def send_live_samples(self: Simulator) -> None:
        """The defect live_meter_values_first: a fresh sample of each connector, sent at once
        (not queued), before the offline queue is replayed."""
        for connector in self.connectors.values():
            if not connector.connector_id:
                continue
            value = self._meter_value(connector, "MeterValuesSampledData", "Sample.Periodic")
            tx = connector.transaction
            await self.send(
                call.MeterValues(
                    connector_id=connector.connector_id,
                    meter_value=[value],
                    transaction_id=tx.transaction_id if tx and tx.transaction_id > 0 else None,
                )
            )

    def _enqueue_meter_values(self: Simulator, connector: Connector, value: dict) -> None:
        tx = connector.transaction
        if tx is None or not value["sampledValue"]:
            return
        payload = {
            "connectorId": connector.connector_id,
            "transactionId": tx.transaction_id,
            "meterValue": [value],
        }
        self.enqueue("MeterValues", payload, tx.transaction_id)

    def _sample_interval(self: Simulator) -> int:
        interval = self.configuration.get_int("MeterValueSampleInterval")
        return interval * 2 if d.METER_WRONG_INTERVAL in self.defects else interval

    async def _sample_loop(self: Simulator, connector: Connector, tx: Transaction) -> None:
        """Sample.Periodic values every MeterValueSampleInterval, online or not."""

        async def sample() -> None:
            value = self._meter_value(connector, "MeterValuesSampledData", "Sample.Periodic")
            self._enqueue_meter_values(connector, value)
            if len(tx.samples) < MAX_TRANSACTION_DATA:
                periodic = self._meter_value(connector, "StopTxnSampledData", "Sample.Periodic")
                tx.samples.append(periodic)

        await self.every("MeterValueSampleInterval", self._sample_interval, sample)

    # --- the ordered, offline-proof queue ------------------------------------------------
    def enqueue(self: Simulator, action: str, payload: dict, local_id: int | None) -> None:
        if not self.online.is_set() and d.OFFLINE_TRANSACTIONS_LOST in self.defects:
            LOGGER.info("%s: defect drops offline %s", self.charge_point_id, action)
            return
        self.queue.append(QueuedMessage(action, payload, local_id))
        self._queue_event.set()

    async def _flush_queue(self: Simulator) -> None:
        """Send queued transaction messages in order while connected (one task per session)."""
        while True:
            item = self.queue.peek()
            if not self.online.is_set():  # dropping the connection: keep it for the next one
                await self.online.wait()
                continue
            if item is None:
                self._queue_event.clear()
                await self._queue_event.wait()
                continue
            payload = getattr(call, item.action)(**_snake(item.payload))
            try:
                answer = await self._cp.call(payload, suppress=False)
                raise_if_cancelling()
            except OCPPError as error:
                if await self._give_up(item, error):
                    self.queue.pop()
                continue
            except Exception as error:  # timeout or closed socket: retry, or the session ends
                LOGGER.warning("%s: %s not confirmed: %s", self.charge_point_id, item.action, error)
                await asyncio.sleep(self.timing.backoff_initial)
                continue
            self.queue.pop()
            if item.action == "StartTransaction" and item.local_id is not None:
                await self._start_confirmed(item.local_id, answer)

    async def _give_up(self: Simulator, item: QueuedMessage, error: Exception) -> bool:
        """TransactionMessageAttempts/RetryInterval after a CALLERROR; True to drop the item."""
        item.attempts += 1
        LOGGER.warning("%s: %s refused (%s)", self.charge_point_id, item.action, error)
        if item.attempts >= max(1, self.configuration.get_int("TransactionMessageAttempts")):
            return True
        interval = self.configuration.get_int("TransactionMessageRetryInterval") * item.attempts
        await asyncio.sleep(min(interval, self.timing.retry_cap or interval))
        return False

    async def _start_confirmed(self: Simulator, local_id: int, answer: Any) -> None:
        real_id = answer.transaction_id
        self.queue.map_transaction_id(local_id, real_id)
        for connector in self.connectors.values():
            tx = connector.transaction
            if tx is not None and tx.transaction_id == local_id:
                tx.transaction_id = real_id
                self._remember(tx.id_tag, answer.id_tag_info)
                rejected = answer.id_tag_info.get("status") != "Accepted"
                if rejected and self.configuration.get_bool("StopTransactionOnInvalidId"):
                    await self._stop(connector, "DeAuthorized")


def _snake(payload: dict[str, Any]) -> dict[str, Any]:
    """Top-level camelCase keys to the ocpp dataclass fields (nested ones stay camelCase)."""
    out = {}
    for key, value in payload.items():
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
        out[snake] = value
    return out
