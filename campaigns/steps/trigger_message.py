"""16 · TriggerMessage.

After a boot, CertLab asks for the station's status with TriggerMessage StatusNotification (no
connectorId): it must be Accepted and followed by a StatusNotification for every connector,
connector 0 included. The boot is asked for with TriggerMessage BootNotification first; a station
that does not boot on request is still online since its last boot, so the step goes on and says
so. That answer and those to the other trigger types (OCTT TC_054) are recorded with whether the
requested message followed, as findings beyond 16.a (a trigger Accepted with nothing following
is a failed finding, never a failed 16.a), and attached as a table.
"""

import asyncio

from campaigns.engine.context import StepContext
from campaigns.engine.frames import Frame

NUMBER = 16
CRITERIA = ("16.a",)

OTHERS = ("Heartbeat", "MeterValues", "DiagnosticsStatusNotification",
          "FirmwareStatusNotification")  # fmt: skip
# Where each recorded trigger's rule comes from (they are findings, not 16.a).
REFERENCES = {"BootNotification": "OCPP 1.6 §5.17"}


async def run(ctx: StepContext) -> None:
    table = []
    boot = await _trigger(ctx, "BootNotification")
    table.append(boot)
    if not boot["followed"]:
        await ctx.note("No BootNotification on request: going on with the station as it has been "
                       "online since its last boot.")  # fmt: skip
    table.append(await _status_after_boot(ctx))
    for message in OTHERS:
        table.append(await _trigger(ctx, message))
    ctx.attach("triggers", table)
    if ctx.criteria_passed():
        ctx.summary(f"Ok, accepted, status notification received as reply for connectors "
                    f"0-{ctx.station.connector_count}")  # fmt: skip


async def _status_after_boot(ctx: StepContext) -> dict:
    connectors = list(range(ctx.station.connector_count + 1))
    start = ctx.mark()  # the StatusNotifications may come before the CALLRESULT
    reply = await ctx.call("TriggerMessage", {"requestedMessage": "StatusNotification"})
    sent = f"TriggerMessage StatusNotification (no connectorId) answered {reply.describe()}"
    ctx.check("16.a", reply.status == "Accepted", sent, evidence=reply.frames, key="16.a#answer")
    if reply.status != "Accepted":
        return _row("StatusNotification", reply.describe(), None)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.params.status_window
    found: dict[int, Frame] = {}
    for connector in connectors:
        frame = await ctx.expect("StatusNotification", {"connectorId": connector},
                                 within=max(0.0, deadline - loop.time()), since=start)  # fmt: skip
        if frame is not None:
            found[connector] = frame
    silent = [c for c in connectors if c not in found]
    detail = (
        f"StatusNotification from connector(s) {_ids(found) or 'none'}"
        + (f"; none from {_ids(silent)}" if silent else "")
        + f" within {ctx.params.status_window} s of the trigger"
    )
    ctx.check("16.a", not silent, detail, evidence=found.values(), key="16.a#status")
    return _row("StatusNotification", reply.describe(), not silent)


async def _trigger(ctx: StepContext, message: str) -> dict:
    """Ask for one message; record the answer and whether the message followed, as a finding:
    16.a is only about the status notification."""
    start = ctx.mark()
    reply = await ctx.call("TriggerMessage", {"requestedMessage": message})
    answer = f"TriggerMessage {message} answered {reply.describe()}"
    reference = REFERENCES.get(message, "OCTT TC_054")
    if reply.status != "Accepted":  # Rejected (TC_055) or NotImplemented: recorded
        ctx.finding("16.a", None, f"{answer} (recorded)", reference=reference,
                    evidence=reply.frames, key=f"16.a#{message}", not_applicable=True)  # fmt: skip
        return _row(message, reply.describe(), None)
    frame = await ctx.expect(message, within=ctx.params.status_window, since=start)
    detail = f"{answer}; " + (
        f"{message} followed" if frame else
        f"no {message} followed within {ctx.params.status_window} s"
    )  # fmt: skip
    ctx.finding("16.a", frame is not None, detail, reference=reference,
                evidence=[*reply.frames, frame], key=f"16.a#{message}")  # fmt: skip
    return _row(message, reply.describe(), frame is not None)


def _row(message: str, status: str, followed: bool | None) -> dict:
    return {"requestedMessage": message, "status": status, "followed": followed}


def _ids(connectors) -> str:
    return ", ".join(str(c) for c in sorted(connectors))
