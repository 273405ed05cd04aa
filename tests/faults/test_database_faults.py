"""PostgreSQL unavailable for 5 s while stations send (a TCP proxy we control between daphne
and the database, never the machine's PostgreSQL stopped): the station's frames are kept and
written once the database is back, and every frame that was answered is in the log. A call
whose answer needs the database (StartTransaction: the transactionId is a row) is answered
with a CALLERROR InternalError while it is away, so the station keeps it and sends it again
(OCPP 1.6 retries a transaction-related message answered with a CALLERROR,
TransactionMessageAttempts); every transactionId CertLab gave out is a transaction in the
database."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from ocpp.exceptions import InternalError
from ocpp.v16 import ChargePoint, call

from stations.models import Frame, Transaction
from tests import processes
from tests.factories import StationFactory
from tests.faults.proxy import TcpProxy
from tests.processes import daphne, free_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

OUTAGE = 5.0


@pytest.fixture
def database_proxy():
    db = settings.DATABASES["default"]
    proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    try:
        yield proxy
    finally:
        proxy.close()


def _start() -> call.StartTransaction:
    now = datetime.now(UTC).isoformat()
    return call.StartTransaction(connector_id=1, id_tag="TAG1", meter_start=0, timestamp=now)


def _through(url: str, port: int) -> str:
    head, _, tail = url.rpartition("@")
    return f"{head}@127.0.0.1:{port}/{tail.split('/', 1)[1]}"


async def test_frames_sent_while_the_database_is_away_are_all_logged_after(
    database_proxy, fault_env, tmp_path
):
    port = free_port()
    env = {
        **fault_env,
        "DATABASE_URL": _through(processes.test_database_url(), database_proxy.port),
    }
    with daphne(port, log_path=tmp_path / "daphne.log", env=env) as server:
        wait_for_port(port, timeout=60)
        station = await sync_to_async(StationFactory)()
        socket = await websockets.connect(
            f"ws://127.0.0.1:{port}/ocpp/{station.charge_point_id}", subprotocols=["ocpp1.6"]
        )
        charge_point = ChargePoint(station.charge_point_id, socket)
        task = asyncio.create_task(charge_point.start())
        answered, sent, given, refused = 0, 0, [], 0
        try:
            await charge_point.call(
                call.BootNotification(charge_point_model="M", charge_point_vendor="V")
            )
            answered = sent = 1
            outage = threading.Thread(target=database_proxy.cut, args=(OUTAGE,))
            outage.start()
            ends = time.monotonic() + OUTAGE + 2
            while time.monotonic() < ends:
                sent += 2
                # Answered (a CALLERROR counts: the station got an answer) within 15 s.
                await asyncio.wait_for(charge_point.call(call.Heartbeat()), 15)
                answered += 1
                try:
                    reply = charge_point.call(_start(), suppress=False)
                    started = await asyncio.wait_for(reply, 15)
                    given.append(started.transaction_id)
                except InternalError:
                    refused += 1
                answered += 1
                await asyncio.sleep(0.3)
            outage.join()
        finally:
            await socket.close()
            task.cancel()

        deadline = time.monotonic() + 60
        while True:
            count = await Frame.objects.filter(station=station, direction="in").acount()
            if count >= sent or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        log = server.log()
    assert count == sent, f"{sent} frames sent, {count} logged:\n{log[-3000:]}"
    answers = await Frame.objects.filter(station=station, direction="out").acount()
    assert answers >= answered
    assert "Could not save" not in log
    assert refused >= 1  # StartTransactions met the outage and were refused, not half-done
    assert len(given) >= 1  # and the others, before and after it, were answered
    recorded = Transaction.objects.filter(station=station, pk__in=given)
    assert await recorded.acount() == len(given)  # no transactionId without its transaction
    assert "database unavailable" in log  # the outage happened while frames were written
