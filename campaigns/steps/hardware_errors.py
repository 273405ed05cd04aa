"""10 · Any hardware related notifications or error conditions.

The operator creates a hardware error on a connector, then one of the station as a whole (OCTT
TC_041). Each must show as a StatusNotification with an errorCode other than NoError: on that
connector for the first, on connector 0 (the station itself) for the second; that the connector
also goes Faulted is OCTT's expectation (TC_041), a finding. Both errors are cleared at the end
and the station must report Available again; each connector's StatusNotifications over the step
must follow the OCPP 1.6 state machine. Which error the operator made is
kept from the prompt's input; whether it was the right kind of error is QA's to judge, as are
error notifications on other connectors, which the details list.
"""

from dataclasses import dataclass

from campaigns.engine.connector_states import check_statuses, status_before
from campaigns.engine.context import StepContext
from campaigns.engine.frames import Frame
from campaigns.engine.prompts import SimulatorAction

NUMBER = 10
CRITERIA = ("10.a", "10.b")


@dataclass(frozen=True)
class Fault:
    criterion: str
    connector: int
    what: str  # what to create, for the prompt
    example: str  # the error code the built-in simulator raises


def _faults(connector: int) -> tuple[Fault, ...]:
    return (
        Fault(
            "10.a",
            connector,
            f"a hardware error on connector {connector} (for example, "
            "disconnect the communication pin or a power pin)",
            "GroundFailure",
        ),
        Fault(
            "10.b",
            0,
            "an error of the station as a whole (for example, a 3-phase imbalance "
            "of the supply or a power meter failure)",
            "PowerMeterFailure",
        ),
    )


async def run(ctx: StepContext) -> None:
    since = ctx.mark()
    reported: list[dict] = []
    ctx.attach("hardware_errors", reported)
    for fault in _faults(ctx.params.connector_id):
        error = await _create(ctx, fault)
        if error is not None:
            reported.append(error)
    for error in reported:  # clear at the end, as the station may need both gone to recover
        await _clear(ctx, error)
    for error in reported:  # into the error and out of it, as the 1.6 state machine allows
        check_statuses(ctx, error["criterion"], ctx.frames("StatusNotification", since=since),
                       connector_id=error["connector"], key=f"{error['criterion']}#sequence",
                       start=status_before(ctx, error["connector"], since),
                       what="StatusNotifications of the step")  # fmt: skip
    if len(reported) == 2 and all(e["ok"] and e["cleared"] for e in reported):
        ctx.summary(
            "Ok, "
            + "; ".join(
                f"connector {e['connector']} {e['status']} {e['errorCode']}" for e in reported
            )
            + "; cleared to Available"
        )


async def _create(ctx: StepContext, fault: Fault) -> dict | None:
    """Have the error made and check its StatusNotification; None when it was not made."""
    await ctx.ensure_connected()
    start = ctx.mark()
    answer = await ctx.prompt(
        f"Create {fault.what}, then name the error you created.",
        input_label="Error created",
        simulator=SimulatorAction.of(
            "fault", connector_id=fault.connector, error_code=fault.example
        ),
        needed_by=(fault.criterion,),
    )
    key = f"{fault.criterion}#error"
    if not answer.done:
        return None  # not observed, with why and what the station sent meanwhile (the engine)
    made = answer.value.strip() or "not named"
    window = ctx.params.status_window
    frame = await ctx.expect(
        "StatusNotification",
        lambda p: p["connectorId"] == fault.connector and _in_error(p),
        since=start,
        within=window,
    )
    seen = ctx.frames("StatusNotification", since=start)
    others = [f for f in seen if f is not frame and _in_error(f.payload)]
    also = f" Other errors reported: {_describe(others)}." if others else ""
    if frame is None:
        ctx.check(
            fault.criterion,
            False,
            f"Operator created: {made}. No StatusNotification "
            f"with an errorCode other than NoError for connector {fault.connector} within "
            f"{window} s; received: {_describe(seen) or 'none'}.",
            evidence=seen,
            key=key,
        )
        return None
    payload = frame.payload
    ok = True  # an errorCode represents the error; Faulted is OCTT's expectation (a finding)
    detail = f"Operator created: {made}. {_describe([frame])}"
    if fault.connector == 0:
        detail += ": the station's own error, on connector 0"
    ctx.check(fault.criterion, ok, detail + "." + also, evidence=[frame, *others], key=key)
    if fault.connector != 0:  # a station-wide error need not stop connector 0
        status = payload.get("status")
        ctx.finding(fault.criterion, status == "Faulted",
                    f"Connector {fault.connector} reports the error as {status}"
                    + ("" if status == "Faulted" else ", not Faulted"),
                    reference="OCTT TC_041", evidence=[frame], key=f"{key}-faulted")  # fmt: skip
    return {
        "criterion": fault.criterion,
        "connector": fault.connector,
        "created": made,
        "status": payload.get("status"),
        "errorCode": payload.get("errorCode"),
        "info": payload.get("info", ""),
        "ok": ok,
        "cleared": False,
    }


async def _clear(ctx: StepContext, error: dict) -> None:
    connector, criterion = error["connector"], error["criterion"]
    await ctx.ensure_connected()
    start = ctx.mark()
    answer = await ctx.prompt(
        f"Clear the error you created on connector {connector} ({error['created']}).",
        simulator=SimulatorAction.of("clear_fault", connector_id=connector),
        needed_by=(f"{criterion}#cleared",),
    )
    key = f"{criterion}#cleared"
    if not answer.done:
        return
    frame = await ctx.expect(
        "StatusNotification",
        {"connectorId": connector, "status": "Available", "errorCode": "NoError"},
        since=start,
        within=ctx.params.status_window,
    )
    if frame is None:
        seen = ctx.frames("StatusNotification", {"connectorId": connector}, since=start)
        ctx.check(
            criterion,
            False,
            f"After the error was cleared, connector {connector} did "
            f"not report Available/NoError within {ctx.params.status_window} s; received: "
            f"{_describe(seen) or 'none'}.",
            evidence=seen,
            key=key,
        )
        return
    error["cleared"] = True
    ctx.check(criterion, True, f"Error cleared: {_describe([frame])}.", evidence=[frame], key=key)


def _in_error(payload: dict) -> bool:
    return payload.get("errorCode", "NoError") != "NoError"


def _describe(frames: list[Frame]) -> str:
    parts = []
    for frame in frames:
        p = frame.payload if isinstance(frame.payload, dict) else {}
        info = f" ({p['info']})" if p.get("info") else ""
        parts.append(
            f"StatusNotification connector {p.get('connectorId')}: {p.get('status')}, "
            f"errorCode {p.get('errorCode')}{info}"
        )
    return "; ".join(parts)
