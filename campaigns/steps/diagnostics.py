"""13 · Remotely initiate and get diagnostics reports.

GetDiagnostics with a time window (the last hour) and CertLab's FTP location (OCTT TC_045_1):
the answer must name a file, DiagnosticsStatusNotification must say Uploading then Uploaded
(either may come before the answer; the context listens from the start), and the FTP server must
really hold that file, not empty, with its hash recorded. The file is attached as evidence.
Whether its content is useful is QA's to judge.

No connector should change its status for a diagnostics upload, so a connector rarely reports
one here; any StatusNotification the station sends during the step is judged by the OCPP 1.6
state machine (section 4.9) from the connector's status before: an allowed transition passes, an
unexpected one is flagged for QA, a forbidden one fails. 13.a is about the upload only, so this
is a finding beside it (OCPP 1.6 §4.9), recorded only when there were statuses to judge.
"""

import asyncio
import re
from datetime import UTC, datetime, timedelta

from campaigns.engine.connector_states import check_statuses, status_before
from campaigns.engine.context import StepContext

NUMBER = 13
CRITERIA = ("13.a",)

WINDOW = timedelta(hours=1)
DONE = ("Uploaded", "UploadFailed")


async def run(ctx: StepContext) -> None:
    since = ctx.mark()
    await _diagnostics(ctx)
    _check_statuses(ctx, since)


def _check_statuses(ctx: StepContext, since: int) -> None:
    """Whatever connector reported a status during the step, judged by section 4.9."""
    frames = ctx.frames("StatusNotification", since=since)
    connectors = sorted({f.payload.get("connectorId") for f in frames
                         if isinstance(f.payload, dict)} - {None}, key=str)  # fmt: skip
    for connector in connectors:
        if not isinstance(connector, int):
            continue
        check_statuses(
            ctx,
            "13.a",
            frames,
            connector_id=connector,
            start=status_before(ctx, connector, since),
            key=f"13.a#status-{connector}",
            what="StatusNotifications during the diagnostics upload",
            finding="OCPP 1.6 §4.9",
        )


async def _diagnostics(ctx: StepContext) -> None:
    if ctx.files is None:
        ctx.check("13.a", None, "Not observed: CertLab's file services are not available here.")
        return
    # The location may need the database (the station's FTP account): off the event loop.
    location = await asyncio.to_thread(ctx.files.diagnostics_location)
    await ctx.ensure_connected()
    now = datetime.now(UTC)
    window = {"startTime": _iso(now - WINDOW), "stopTime": _iso(now)}
    start = ctx.mark()
    reply = await ctx.call("GetDiagnostics", {"location": location, **window})
    file_name = (reply.payload or {}).get("fileName") if reply.ok else None
    asked = f"GetDiagnostics ({window['startTime']} to {window['stopTime']}, {_hidden(location)})"
    if not file_name:
        why = reply.describe() if not reply.ok else "no fileName: nothing to upload"
        ctx.check("13.a", False, f"{asked} answered {why}.", evidence=reply.frames, key="13.a#file")
        return
    ctx.check(
        "13.a",
        True,
        f"{asked} answered fileName {file_name}.",
        evidence=reply.frames,
        key="13.a#file",
    )

    timeout = ctx.params.diagnostics_timeout
    end = await ctx.expect(
        "DiagnosticsStatusNotification", lambda p: p["status"] in DONE, since=start, within=timeout
    )
    statuses = ctx.frames("DiagnosticsStatusNotification", since=start)
    sequence = [f.payload.get("status") for f in statuses]
    ctx.attach("diagnostics_statuses", sequence)
    said = ", ".join(sequence) or "nothing"
    uploaded = end is not None and end.payload["status"] == "Uploaded"
    in_order = (
        "Uploading" in sequence
        and end is not None
        and (sequence.index("Uploading") < sequence.index(end.payload["status"]))
    )
    if end is None:
        detail = f"No DiagnosticsStatusNotification Uploaded within {timeout} s (received: {said})."
    elif not uploaded:
        detail = (
            f"DiagnosticsStatusNotification {said}: the station reports that the upload "
            "to CertLab's FTP server failed."
        )
    elif not in_order:
        detail = f"DiagnosticsStatusNotification: {said}: no Uploading before Uploaded."
    else:
        detail = f"DiagnosticsStatusNotification: {said}."
    if end is not None and (refused := await _refused(ctx, file_name, since=now)):
        # The station's UploadFailed (or a lost file) was CertLab's FTP server's doing.
        ctx.lab_side("13.a", f"CertLab's FTP server refused the upload ({refused})",
                     key="13.a#status")  # fmt: skip
        return
    ctx.check("13.a", uploaded and in_order, detail, evidence=statuses, key="13.a#status")
    if not uploaded:
        return

    received = await _received(ctx, file_name, since=now)
    if received is None and (refused := await _refused(ctx, file_name, since=now)):
        ctx.lab_side("13.a", f"CertLab's FTP server could not keep the file ({refused})",
                     key="13.a#file_received")  # fmt: skip
        return
    if received is None:
        ctx.check(
            "13.a",
            False,
            f"The station reported Uploaded, but no complete file "
            f"{file_name} arrived on CertLab's FTP server.",
            evidence=[end],
            key="13.a#file_received",
        )
        return
    ctx.attach("diagnostics_file", received)
    size, digest = received.get("size") or 0, received.get("sha256") or ""
    ok = received.get("file_name") == file_name and size > 0 and bool(digest)
    ctx.check(
        "13.a",
        ok,
        f"CertLab's FTP server received {received.get('file_name')}: "
        f"{size} bytes, sha256 {digest or 'not recorded'}" + ("" if size > 0 else " (empty)") + ".",
        evidence=[end],
        key="13.a#file_received",
    )
    if ok and in_order:
        ctx.summary(f"Ok, {file_name} ({size} bytes) uploaded over FTP")


async def _received(ctx: StepContext, file_name: str, *, since: datetime) -> dict | None:
    """The upload's record; it may land a moment after the station's Uploaded."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.params.status_window
    while True:
        received = await ctx.files.diagnostics_received(file_name, since)
        if received is not None or loop.time() >= deadline:
            return received
        await asyncio.sleep(0.5)


async def _refused(ctx: StepContext, file_name: str, *, since: datetime) -> str | None:
    refused = getattr(ctx.files, "diagnostics_refused", None)
    return await refused(file_name, since) if refused else None


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _hidden(location: str) -> str:
    """The location without its password, for texts a vendor reads."""
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", location)
