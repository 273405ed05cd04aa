"""1 · Boot notification.

Waits a while for a BootNotification; a plain reconnect sends none (OCPP-NOTES), so the step then
asks for one with TriggerMessage and, failing that, has the operator reboot the station. The boot
must carry the required and the certification's fields, and they must match the station record.
A station declared without a modem has no ICCID: the iccid is then not asked for (and one sent
all the same is pointed out, as the declaration is wrong).
"""

from campaigns.engine.context import StepContext
from campaigns.engine.prompts import SimulatorAction

NUMBER = 1
CRITERIA = ("1.a",)

REQUIRED = ("chargePointVendor", "chargePointModel")
CERTIFIED = ("chargePointSerialNumber", "iccid", "firmwareVersion")


async def run(ctx: StepContext) -> None:
    start = ctx.mark()
    boot = await ctx.expect("BootNotification", within=ctx.params.boot_window, since=start)
    if boot is None:
        await ctx.note("No BootNotification yet: asking for one with TriggerMessage.")
        reply = await ctx.call("TriggerMessage", {"requestedMessage": "BootNotification"})
        await ctx.note(f"TriggerMessage BootNotification answered {reply.describe()}.")
        boot = await ctx.expect("BootNotification", within=ctx.params.status_window, since=start)
    if boot is None:
        answer = await ctx.prompt(
            "Reboot the station (switch it off and on) so that it sends a BootNotification.",
            simulator=SimulatorAction.of("power_cycle"),
            needed_by=("1.a",),  # no reboot: a missing boot proves nothing
        )
        if answer.done:
            boot = await ctx.expect(
                "BootNotification", within=ctx.params.reconnect_timeout, since=start
            )
    if boot is None:
        ctx.check("1.a", False, "No BootNotification was received, not even after a trigger or "
                  "a reboot.")  # fmt: skip
        return

    payload = boot.payload if isinstance(boot.payload, dict) else {}
    no_modem = ctx.lacks("1.a/iccid")
    fields = tuple(f for f in (*REQUIRED, *CERTIFIED) if not (no_modem and f == "iccid"))
    missing = [name for name in fields if not _present(payload, name)]
    if missing:
        detail = "BootNotification lacks " + ", ".join(missing)
    else:
        detail = "BootNotification carries " + ", ".join(f"{n}={payload[n]}" for n in fields)
    if no_modem:
        detail += f"; iccid not required: {no_modem}" + (
            f", yet the boot carries iccid={payload['iccid']}" if _present(payload, "iccid") else ""
        )
    ctx.check("1.a", not missing, detail, evidence=[boot], key="1.a#fields")
    mismatches = _mismatches(ctx, payload)
    if mismatches:
        detail = "Differs from the station record: " + "; ".join(mismatches)
    else:
        detail = "Matches the station record (vendor, model, serial number, ICCID, firmware)."
    ctx.check("1.a", not mismatches, detail, evidence=[boot], key="1.a#record")
    if not missing and not mismatches:
        ctx.summary(f"Ok, {payload['chargePointModel']} firmware {payload['firmwareVersion']}")


def _present(payload: dict, name: str) -> bool:
    return bool(str(payload.get(name, "") or "").strip())


def _mismatches(ctx: StepContext, payload: dict) -> list[str]:
    station = ctx.station
    expected = {
        "chargePointVendor": station.vendor,
        "chargePointModel": station.model,
        "chargePointSerialNumber": station.serial_number,
        "iccid": "" if ctx.lacks("1.a/iccid") else station.iccid,
        "firmwareVersion": station.firmware_version,
    }
    problems = []
    for field, want in expected.items():
        got = str(payload.get(field, "") or "")
        if not want or not got:
            continue  # absent on either side: the fields check says so
        if field == "chargePointVendor":
            same = want.casefold() in got.casefold() or got.casefold() in want.casefold()
        else:
            same = want.strip().casefold() == got.strip().casefold()
        if not same:
            problems.append(f"{field} is {got!r}, the record says {want!r}")
    return problems
