"""Each step leaves the station as it found it, and checks it first; the runner does both for
every step, so no step has to.

Before: the station must be idle, as CertLab last heard from it (the port's ``station_state``):
no transaction running and every connector Available. A transaction still running on a connector
that is not Available is stopped (RemoteStopTransaction), a connector is given the status window
to become Available, and then the operator is offered to bring the station back. If it stays
busy, every criterion is "not observed: precondition not met: …" and the step does not run.

After, whatever the verdict: every transaction the step's frames show started and not stopped is
stopped (``charging.finish``: remotely, else by the operator); a connector the step left in
Preparing without a transaction (a start accepted with no cable) is given the station's
ConnectionTimeOut to give up, which OCPP 1.6 offers no call to shorten; and every setting changed
through ``charging.change_key`` is put back to the value it had before the step. A setting whose
value the station did not report before the step cannot be put back: a note says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from campaigns.engine import charging
from campaigns.engine.context import StepContext

RUNNING = ("Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Preparing")
GAVE_UP = ("Available", "Faulted")  # what a connector becomes when ConnectionTimeOut passes
POLL = 0.5  # s between looks at the station's state while waiting for it to become idle


@dataclass(frozen=True)
class OpenTransaction:
    transaction_id: int
    connector_id: int
    id_tag: str


@dataclass
class StationState:
    """What the Central System last heard: each connector's status, the transactions it has
    not seen stopped."""

    connectors: dict[int, str] = field(default_factory=dict)
    transactions: list[OpenTransaction] = field(default_factory=list)

    def problems(self) -> list[str]:
        busy = [
            f"connector {c} is {status}" if c else f"the station (connector 0) is {status}"
            for c, status in sorted(self.connectors.items())
            if status != "Available"
        ]
        running = [
            f"transaction {t.transaction_id} runs on connector {t.connector_id}"
            for t in self.transactions
            if self.connectors.get(t.connector_id, "Available") != "Available"
        ]
        return running + busy


async def _state(ctx: StepContext) -> StationState | None:
    read = getattr(ctx.port, "station_state", None)
    return await read() if read is not None else None


async def ensure_idle(ctx: StepContext) -> str:
    """Bring the station to idle if it is not; '' when it is, else what is wrong."""
    state = await _state(ctx)
    if state is None or not state.problems():
        return ""
    await ctx.note(f"The station is not idle before the step: {'; '.join(state.problems())}.")
    for tx in state.transactions:
        if state.connectors.get(tx.connector_id, "Available") != "Available":
            await _stop_remotely(ctx, tx)
    state = await _wait_idle(ctx)
    if state is None or not state.problems():
        return ""
    answer = await ctx.prompt(
        f"Before this step the station must be idle, but {'; '.join(state.problems())}. "
        "Bring it back to idle (stop any charging, unplug the cable, clear errors, make the "
        "connectors available), then answer Done."
    )
    if answer.done:
        state = await _wait_idle(ctx)
    return "; ".join(state.problems()) if state else ""


async def _stop_remotely(ctx: StepContext, tx: OpenTransaction) -> None:
    since = ctx.mark()
    reply = await ctx.call("RemoteStopTransaction", {"transactionId": tx.transaction_id})
    await ctx.note(
        f"Clean-up before the step: RemoteStopTransaction {tx.transaction_id} answered "
        f"{reply.describe()}."
    )
    if reply.status == "Accepted":
        await ctx.expect(
            "StopTransaction",
            {"transactionId": tx.transaction_id},
            within=ctx.params.transaction_window,
            since=since,
        )


async def _wait_idle(ctx: StepContext) -> StationState | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.params.status_window
    while True:
        state = await _state(ctx)
        if state is None or not state.problems() or loop.time() >= deadline:
            return state
        await asyncio.sleep(POLL)


async def leave_idle(ctx: StepContext, *, ask: bool = True) -> None:
    """Stop what the step started and put its settings back (the runner calls it). ``ask``
    False (after an abort: QA asked to stop now) asks nobody: only remote calls."""
    for session in _unstopped(ctx):
        await ctx.note(
            f"Clean-up: transaction {session.transaction_id} the step caused still runs; "
            "stopping it."
        )
        if ask:
            await charging.finish(ctx, session)
        else:
            reply = await charging.remote_stop(ctx, session)
            if session.stop is None:
                await ctx.note(
                    f"Clean-up: transaction {session.transaction_id} may still run "
                    f"(RemoteStopTransaction {reply.describe() if reply else 'not sent'})."
                )
    if ask:
        await _let_preparing_give_up(ctx)
    for key, before in list(charging.settings_before(ctx).items()):
        if before is None:
            await ctx.note(f"Clean-up: {key} cannot be put back: the station did not report "
                           "its value before the step.")  # fmt: skip
            continue
        now, _ = await charging.read_key(ctx, key)
        if now != before:
            reply = await ctx.call("ChangeConfiguration", {"key": key, "value": before})
            await ctx.note(f"Clean-up: {key} put back to {before} (was {now}): {reply.describe()}.")


async def _let_preparing_give_up(ctx: StepContext) -> None:
    """A connector whose last status in the step is Preparing with no transaction running on
    it: wait (the station's ConnectionTimeOut and the status window) for it to give up."""
    running = {s.connector_id for s in _unstopped(ctx)}
    connectors = {f.payload.get("connectorId") for f in ctx.frames("StatusNotification")
                  if isinstance(f.payload, dict)} - running  # fmt: skip
    timeout: int | None = None
    for connector in sorted(c for c in connectors if isinstance(c, int)):
        frames = charging.status_frames(ctx, connector, 0)
        last = frames[-1]  # one look: a later Available is waited for below, not missed
        if last.payload.get("status") != "Preparing":
            continue
        if timeout is None:
            value, _ = await charging.read_key(ctx, "ConnectionTimeOut")
            timeout = int(value) if value and value.isdigit() else ctx.params.connection_timeout
        await ctx.note(
            f"Clean-up: connector {connector} is still Preparing with no transaction; waiting "
            f"up to {timeout} s (its ConnectionTimeOut) for it to become Available."
        )
        back = await ctx.expect(
            "StatusNotification",
            lambda p, c=connector: p["connectorId"] == c and p["status"] in GAVE_UP,
            within=timeout + ctx.params.status_window,
            since=last.seq + 1,
        )
        if back is None:
            await ctx.note(f"Clean-up: connector {connector} is still Preparing.")


def _unstopped(ctx: StepContext) -> list[charging.Session]:
    answers = {
        f.unique_id: f
        for f in ctx.history
        if (f.direction, f.message_type, f.action) == ("out", "CALLRESULT", "StartTransaction")
    }
    stopped = {(f.payload or {}).get("transactionId") for f in ctx.frames("StopTransaction")}
    sessions = []
    for start in ctx.frames("StartTransaction"):
        session = charging.Session(
            connector_id=start.payload.get("connectorId", 0),
            id_tag=str(start.payload.get("idTag", "")),
            since=start.seq,
            start=start,
            answer=answers.get(start.unique_id),
        )
        if session.transaction_id is not None and session.transaction_id not in stopped:
            sessions.append(session)
    return sessions
