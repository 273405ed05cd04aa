"""3 · Change availability.

ChangeAvailability for the whole station (connectorId 0): Inoperative must turn every connector
Unavailable, Operative every connector Available, each change reported by a StatusNotification
per connector, connector 0 included. Where a connector stays silent, a TriggerMessage
StatusNotification shows whether its status changed at all. Every StatusNotification of the
step must carry a valid status and an errorCode, and each connector's changes must be ones the
OCPP 1.6 state machine allows. The station is left Operative.
"""

import asyncio

from campaigns.engine.connector_states import check_statuses, status_before
from campaigns.engine.context import StepContext
from campaigns.engine.frames import Frame
from campaigns.engine.texts import summarise

NUMBER = 3
CRITERIA = ("3.a", "3.b", "3.c", "3.d")

STATUSES = frozenset({"Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE",
                      "Finishing", "Reserved", "Unavailable", "Faulted"})  # fmt: skip
ERROR_CODES = frozenset({
    "ConnectorLockFailure", "EVCommunicationError", "GroundFailure", "HighTemperature",
    "InternalError", "LocalListConflict", "NoError", "OtherError", "OverCurrentFailure",
    "OverVoltage", "PowerMeterFailure", "PowerSwitchFailure", "ReaderFailure", "ResetFailure",
    "UnderVoltage", "WeakSignal",
})  # fmt: skip
# (availability type, the status it must give, its criterion)
CHANGES = (("Inoperative", "Unavailable", "3.b"), ("Operative", "Available", "3.a"))


async def run(ctx: StepContext) -> None:
    connectors = list(range(ctx.station.connector_count + 1))  # 0: the station itself
    start = ctx.mark()
    operative = False
    try:
        for kind, status, criterion in CHANGES:
            accepted = await _change(ctx, connectors, kind, status, criterion)
            operative = accepted if kind == "Operative" else operative
    finally:
        if not operative and not asyncio.current_task().cancelling():
            reply = await ctx.call("ChangeAvailability", {"connectorId": 0, "type": "Operative"})
            await ctx.note(f"Station set back to Operative: {reply.describe()}.")
    await _check_notifications(ctx, connectors, start)
    if ctx.criteria_passed():
        ctx.summary(f"Ok, Unavailable and Available reported for connectors 0-{connectors[-1]}")


async def _change(
    ctx: StepContext, connectors: list[int], kind: str, status: str, criterion: str
) -> bool:
    """Send one ChangeAvailability and judge what follows; True when it was Accepted."""
    start = ctx.mark()  # StatusNotifications may come before the CALLRESULT
    reply = await ctx.call("ChangeAvailability", {"connectorId": 0, "type": kind})
    sent = f"ChangeAvailability {kind} (connectorId 0) answered {reply.describe()}"
    if reply.status == "Scheduled":
        detail = f"{sent}: a transaction is running; stop it and retest from an idle station."
        ctx.check(criterion, None, detail, evidence=reply.frames, key=f"{criterion}#answer")
        return False
    ctx.check(criterion, reply.status == "Accepted", sent, evidence=reply.frames,
              key=f"{criterion}#answer")  # fmt: skip
    if reply.status != "Accepted":
        return False

    reported = await _statuses(ctx, connectors, status, start, within=ctx.params.status_window)
    silent = [c for c in connectors if c not in reported]
    detail = (
        f"After {kind}, StatusNotification {status} from connector(s) "
        f"{_ids(reported) or 'none'}" + (f"; none from {_ids(silent)}" if silent else "")
        + f" within {ctx.params.status_window} s"
    )  # fmt: skip
    ctx.check("3.c", not silent, detail, evidence=reported.values(), key=f"3.c#{kind}")

    actual = dict(reported)
    if silent:  # did the status change without being reported? Ask.
        actual.update(await _triggered(ctx, silent, status))
    wrong = [c for c in connectors if c not in actual]
    detail = f"After {kind}, connector(s) {_ids(actual) or 'none'} are {status}" + (
        f"; connector(s) {_ids(wrong)} did not report {status}, even when asked by TriggerMessage"
        if wrong
        else ""
    )
    evidence = [*reply.frames, *actual.values()]
    ctx.check(criterion, not wrong, detail, evidence=evidence, key=f"{criterion}#status")
    return True


async def _statuses(
    ctx: StepContext, connectors: list[int], status: str | None, since: int, *, within: float
) -> dict[int, Frame]:
    """The first StatusNotification (``status``, or any) of each connector after ``since``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    found: dict[int, Frame] = {}
    for connector in connectors:
        frame = await ctx.expect(
            "StatusNotification",
            {"connectorId": connector, **({"status": status} if status else {})},
            within=max(0.0, deadline - loop.time()),
            since=since,
        )
        if frame is not None:
            found[connector] = frame
    return found


async def _triggered(ctx: StepContext, silent: list[int], status: str | None) -> dict[int, Frame]:
    start = ctx.mark()
    reply = await ctx.call("TriggerMessage", {"requestedMessage": "StatusNotification"})
    await ctx.note(
        f"No StatusNotification{' ' + status if status else ''} from connector(s) {_ids(silent)}: "
        f"TriggerMessage StatusNotification answered {reply.describe()}."
    )
    if reply.status != "Accepted":
        return {}
    return await _statuses(ctx, silent, status, start, within=ctx.params.status_window)


async def _check_notifications(ctx: StepContext, connectors: list[int], since: int) -> None:
    """3.d: every connector, 0 included, reported, and every report is a valid one."""
    frames = ctx.frames("StatusNotification", since=since)
    seen = {f.payload.get("connectorId") for f in frames if isinstance(f.payload, dict)}
    if any(c not in seen for c in connectors):
        await _triggered(ctx, [c for c in connectors if c not in seen], None)
        frames = ctx.frames("StatusNotification", since=since)
    for connector in connectors:
        own = [f for f in frames if _connector_of(f) == connector]
        if not own:
            detail = f"No StatusNotification from connector {connector} during the step"
            ctx.check("3.d", False, detail, key=f"3.d#c{connector}")
            continue
        problems = [p for f in own for p in _problems(f)]
        detail = f"{len(own)} StatusNotification(s) from connector {connector}" + (
            ": " + "; ".join(dict.fromkeys(problems)) if problems
            else ", each with a valid status and errorCode"
        )  # fmt: skip
        ctx.check("3.d", not problems, detail, evidence=own, key=f"3.d#c{connector}")
        check_statuses(ctx, "3.d", own, connector_id=connector, key=f"3.d#c{connector}-sequence",
                       start=status_before(ctx, connector, since),
                       what="StatusNotifications of the step")  # fmt: skip
    odd = [f for f in frames if _connector_of(f) not in connectors]
    if odd:
        detail = "StatusNotification(s) for no known connector: " + "; ".join(
            f"connectorId {f.payload.get('connectorId')!r}" if isinstance(f.payload, dict)
            else f"payload {summarise(f.payload)}" for f in odd
        )  # fmt: skip
        ctx.check("3.d", False, detail, evidence=odd, key="3.d#unknown")


def _problems(frame: Frame) -> list[str]:
    payload = frame.payload if isinstance(frame.payload, dict) else {}
    status, code = payload.get("status"), payload.get("errorCode")
    problems = []
    if status not in STATUSES:
        problems.append(f"status {status!r} is not an OCPP 1.6 status")
    if code not in ERROR_CODES:
        problems.append(f"errorCode {code!r} is not an OCPP 1.6 error code")
    elif status == "Faulted" and code == "NoError":
        problems.append("Faulted without error details (errorCode NoError)")
    if frame.error:
        problems.append(f"breaks the schema ({frame.error})")
    return problems


def _connector_of(frame: Frame) -> object:
    return frame.payload.get("connectorId") if isinstance(frame.payload, dict) else None


def _ids(connectors) -> str:
    return ", ".join(str(c) for c in sorted(connectors))
