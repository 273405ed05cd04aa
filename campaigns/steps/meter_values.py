"""8 · Receive Meter reading.

Sets MeterValueSampleInterval to the lab's interval (and asks for voltage, current, power and
energy in MeterValuesSampledData when they are not configured), and the energy register in
StopTxnSampledData, which stations often ship empty (then no sampled values with context
Transaction.Begin/End are sent at all); starts a transaction, watches the periodic samples (OCTT
TC_070: the timestamp gap equals the interval) and stops it. Checks meter values at the start
and the stop: sampled Transaction.Begin / Transaction.End values (in MeterValues or in
StopTransaction.transactionData), or, when the station cannot be set to send them, the registers
StartTransaction.meterStart and StopTransaction.meterStop; a station set to send them that does
not is a finding. Then the interval within the lab's tolerance, and Voltage, Current.Import,
Power.Active.Import and Energy.Active.Import.Register with units in every sample. The series is
attached for a plot; every setting the step changed is restored afterwards, and the result says
what it set.
"""

import itertools
from datetime import datetime

from campaigns.engine.charging import change_key, finish, read_key, remote_start, remote_stop
from campaigns.engine.context import StepContext
from campaigns.engine.frames import Frame

NUMBER = 8
CRITERIA = ("8.a", "8.b", "8.c")

ENERGY = "Energy.Active.Import.Register"  # also what a sampledValue without measurand means
UNITS = {
    "Voltage": ("V",),
    "Current.Import": ("A",),
    "Power.Active.Import": ("W", "kW"),
    ENERGY: ("Wh", "kWh"),
}
PERIODIC = "Sample.Periodic"  # also what a sampledValue without context means


async def run(ctx: StepContext) -> None:
    interval = ctx.params.meter_interval
    restore = await _configure(ctx, interval)
    sampled_end = await _configure_stop_data(ctx, restore)
    session = await remote_start(ctx, ctx.params.connector_id, ctx.params.valid_id_tag)
    tx = session.transaction_id
    if tx is None:
        for criterion in CRITERIA:
            ctx.check(
                criterion,
                None,
                "Precondition not met: no transaction could be started "
                f"(RemoteStartTransaction {session.remote.describe()}, "
                f"{session.describe_start()})",
                evidence=session.evidence,
                key=f"{criterion}#precondition",
            )
    else:
        count = max(2, ctx.params.meter_samples)
        window = (count + 1) * interval * (1 + ctx.params.meter_tolerance) + 1
        await ctx.note(f"Watching {count} periodic samples, at most {window:.0f} s.")
        await ctx.expect_count(
            "MeterValues",
            lambda p: p["transactionId"] == tx and _periodic(p["meterValue"]),
            count=count,
            within=window,
            since=session.since,
        )
        await remote_stop(ctx, session)
    await finish(ctx, session)
    restored = []
    for key, value in restore.items():
        reply = await change_key(ctx, key, value)
        restored.append({"key": key, "restored_to": value, "answer": reply.describe()})
    ctx.attach("settings_restored", restored)
    if tx is not None:
        _evaluate(ctx, session, interval, sampled_end, "StopTxnSampledData" in restore)
    if restore and ctx.summary_text:
        ctx.summary(f"{ctx.summary_text}; set for the step and restored: {', '.join(restore)}")


async def _configure(ctx: StepContext, interval: int) -> dict[str, str]:
    """Set the interval and the measurands; return the values to put back."""
    restore = {}
    current, _ = await read_key(ctx, "MeterValueSampleInterval")
    if current != str(interval):
        reply = await change_key(ctx, "MeterValueSampleInterval", str(interval))
        if reply.status == "Accepted" and current is not None:
            restore["MeterValueSampleInterval"] = current
        elif reply.status != "Accepted":
            ctx.check(
                "8.b",
                False,
                f"The meter interval cannot be set: ChangeConfiguration "
                f"MeterValueSampleInterval={interval} answered {reply.describe()} (it is "
                f"{current})",
                evidence=reply.frames,
                key="8.b#set",
            )
    measurands, _ = await read_key(ctx, "MeterValuesSampledData")
    configured = [m.strip() for m in (measurands or "").split(",") if m.strip()]
    missing = [m for m in UNITS if m not in configured]
    if measurands is not None and missing:
        reply = await change_key(ctx, "MeterValuesSampledData", ",".join(configured + missing))
        if reply.status == "Accepted":
            restore["MeterValuesSampledData"] = measurands
    return restore


async def _configure_stop_data(ctx: StepContext, restore: dict[str, str]) -> str:
    """StopTxnSampledData with the energy register, so that StopTransaction carries sampled
    Transaction.Begin/End values. Returns why the station cannot send them ('' when it can)."""
    current, reply = await read_key(ctx, "StopTxnSampledData")
    if current is None:
        return f"it does not list StopTxnSampledData (GetConfiguration {reply.describe()})"
    configured = [m.strip() for m in current.split(",") if m.strip()]
    if ENERGY in configured:
        return ""
    wanted = ",".join([*configured, ENERGY])
    changed = await change_key(ctx, "StopTxnSampledData", wanted)
    if changed.status != "Accepted":
        return f"ChangeConfiguration StopTxnSampledData={wanted} answered {changed.describe()}"
    restore["StopTxnSampledData"] = current
    await ctx.note(f"StopTxnSampledData was {current!r}: set to {wanted!r} for the step (8.a).")
    return ""


def _evaluate(ctx, session, interval: int, cannot: str, stop_data_set: bool) -> None:
    since, tx, start, stop = session.since, session.transaction_id, session.start, session.stop
    meter_frames = ctx.frames("MeterValues", {"transactionId": tx}, since=since)
    rows = [(f, value) for f in meter_frames for value in f.payload.get("meterValue") or []]
    if stop is not None:
        rows += [(stop, value) for value in stop.payload.get("transactionData") or []]
    ctx.attach("meter_series", _series(rows))
    _check_start_and_stop(ctx, rows, start, stop, cannot, stop_data_set)
    periodic = [(f, v) for f, v in rows if f.action == "MeterValues" and _periodic([v])]
    _check_interval(ctx, periodic, interval)
    _check_measurands(ctx, periodic)
    if ctx.criteria_passed():
        ends = "the meterStart/meterStop registers" if cannot else "Transaction.Begin and End"
        ctx.summary(f"Ok, meter values every {interval} s with V, A, W and Wh; {ends} received")


def _check_start_and_stop(
    ctx, rows, start: Frame, stop: Frame | None, cannot: str, stop_data_set: bool
) -> None:
    """Sampled Begin/End values; the registers when the station cannot send those."""
    for edge, frame in (("Begin", start), ("End", stop)):
        context = f"Transaction.{edge}"
        found = [
            (f, v)
            for f, v in rows
            if any(s.get("context") == context for s in v.get("sampledValue") or [])
        ]
        where = sorted({f"{f.action} at {f.timestamp:%H:%M:%S}" for f, _ in found})
        what = "start" if edge == "Begin" else "stop"
        field = "meterStart" if edge == "Begin" else "meterStop"
        register = frame.payload.get(field) if frame is not None else None
        evidence = [frame, *[f for f, _ in found]]
        if found:
            ok, detail = True, f"Meter values at the {what} ({context}): {', '.join(where)}"
        elif frame is None:
            ok, detail = False, f"No StopTransaction, so no meter values at the {what}"
        elif not isinstance(register, int | float):
            ok, detail = False, f"No {context} values and no {field} register in {frame.action}"
        else:
            ok = True
            why = f"the station cannot send {context} values: {cannot}" if cannot else (
                f"no {context} values arrived although StopTxnSampledData asks for them"
            )  # fmt: skip
            detail = f"The {what} reading is the {field} register ({register} Wh); {why}"
            if not cannot:
                ctx.finding("8.a", False, f"StopTxnSampledData includes {ENERGY}, yet no "
                            f"{context} values at the {what} of the transaction",
                            reference="OCPP 1.6 §9.1 StopTxnSampledData", evidence=[frame],
                            key=f"8.a#{what}-sampled")  # fmt: skip
        if stop_data_set:
            detail += " (StopTxnSampledData set by the step to include the register, restored)"
        ctx.check("8.a", ok, detail, evidence=evidence, key=f"8.a#{what}")


def _check_interval(ctx, periodic, interval: int) -> None:
    tolerance = interval * ctx.params.meter_tolerance
    times = sorted(t for t in (_when(v) for _, v in periodic) if t is not None)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    bad = [g for g in gaps if abs(g - interval) > tolerance]
    note = "" if interval >= 30 else " (rehearsal interval; certification uses at least 30 s)"
    if len(times) < 2:
        detail = (
            f"Only {len(times)} periodic sample(s) arrived: no interval to measure "
            f"(MeterValueSampleInterval {interval} s)"
        )
    else:
        shown = ", ".join(f"{g:.1f}" for g in gaps)
        detail = (
            f"{len(times)} periodic samples {shown} s apart; interval {interval} s "
            f"± {tolerance:g} s{note}"
        )
    ctx.check("8.b", len(times) >= 2 and not bad, detail, evidence=_unique(f for f, _ in periodic))


def _check_measurands(ctx, periodic) -> None:
    if not periodic:
        ctx.check("8.c", False, "No periodic meter values to read voltage, current and power from")
        return
    problems = []
    for name, units in UNITS.items():
        samples = [
            [s for s in v.get("sampledValue") or [] if s.get("measurand", ENERGY) == name]
            for _, v in periodic
        ]
        absent = sum(not found for found in samples)
        if absent:
            problems.append(f"{name} missing in {absent} of {len(samples)} samples")
        default = "Wh" if name == ENERGY else None
        wrong = {s.get("unit", default) for found in samples for s in found} - set(units)
        if wrong:
            problems.append(
                f"{name} unit {', '.join(map(str, sorted(wrong, key=str)))}"
                f" (expected {'/'.join(units)})"
            )
    detail = f"{len(periodic)} periodic samples: " + (
        "; ".join(problems)
        if problems
        else "Voltage (V), Current.Import (A), Power.Active.Import (W), energy (Wh) in each"
    )
    ctx.check("8.c", not problems, detail, evidence=_unique(f for f, _ in periodic))


def _periodic(meter_values) -> bool:
    return any(
        s.get("context", PERIODIC) == PERIODIC
        for v in meter_values
        for s in v.get("sampledValue") or []
    )


def _when(meter_value: dict) -> datetime | None:
    try:
        return datetime.fromisoformat(str(meter_value["timestamp"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None


def _unique(frames) -> list[Frame]:
    return list({f.seq: f for f in frames}.values())


def _series(rows) -> list[dict]:
    return [
        {
            "timestamp": v.get("timestamp"),
            "measurand": s.get("measurand", ENERGY),
            "phase": s.get("phase"),
            "unit": s.get("unit", "Wh" if s.get("measurand", ENERGY) == ENERGY else None),
            "value": s.get("value"),
            "context": s.get("context", PERIODIC),
        }
        for _, v in rows
        for s in v.get("sampledValue") or []
    ]
