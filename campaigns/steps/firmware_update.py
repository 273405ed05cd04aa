"""12 · Remote Firmware update.

CertLab must hold the manufacturer's update file (12.a). UpdateFirmware with CertLab's link to it
(retrieveDate now) must give FirmwareStatusNotification Downloading followed by Installed,
duplicates tolerated, and the download must be on CertLab's record (12.b); Downloaded and
Installing in between, in that order, are OCTT TC_044_1's rule, a finding. The station must
then reboot by itself (connection dropped, new BootNotification) and report the new
firmwareVersion (12.c). The failure cases TC_044_2/3 (a file that does not exist, a file that
cannot be installed) are left to QA.

Under load CertLab's own part is not held against the station (issue 13): the firmware window
gives back the time the station spent waiting on CertLab's answers, and a DownloadFailed for a
file CertLab's transfer log shows it had not served by then is not observed, CertLab's trouble.
"""

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from campaigns.engine import outages
from campaigns.engine.context import StepContext
from campaigns.engine.frames import Frame
from campaigns.engine.replies import Reboot

NUMBER = 12
CRITERIA = ("12.a", "12.b", "12.c")

EXPECTED = ("Downloading", "Downloaded", "Installing", "Installed")  # OCTT TC_044_1
LAB_EXPECTED = ("Downloading", "Installed")  # 12.b's text
FAILURES = ("DownloadFailed", "InstallationFailed")
# s: CertLab's ordinary answers (milliseconds each) give nothing back (see _given_back).
GIVEN_BACK_MIN = 0.5
T = TypeVar("T")


async def run(ctx: StepContext) -> None:
    # A link may need the database (a signed token, an FTP account): off the event loop.
    offer = await asyncio.to_thread(ctx.files.firmware_location) if ctx.files else None
    if offer is None:
        ctx.check(
            "12.a",
            False,
            "CertLab has no firmware file to offer: upload the "
            "manufacturer's update file for this model and set it as the campaign's "
            "update firmware.",
        )
        return
    location, version = offer
    ctx.check(
        "12.a",
        True,
        f"CertLab offers the manufacturer's firmware {version} at {_hidden(location)}.",
    )

    await ctx.ensure_connected()
    asked_at = datetime.now(UTC)
    start = ctx.mark()
    retrieve = asked_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    reply = await ctx.call("UpdateFirmware", {"location": location, "retrieveDate": retrieve})
    if not reply.ok:
        reason = (
            " (the station does not implement remote firmware update)"
            if reply.error_code == "NotImplemented"
            else ""
        )
        ctx.check(
            "12.b",
            False,
            f"UpdateFirmware answered {reply.describe()}{reason}.",
            evidence=reply.frames,
            key="12.b#statuses",
        )
        ctx.check("12.c", None, "Not observed: no update was started.", key="12.c#reboot")
        return
    await ctx.note(f"UpdateFirmware to {version} answered: waiting for the station to install.")

    timeout = ctx.params.firmware_timeout
    reboot_watch = asyncio.create_task(ctx.wait_reboot(since=start, within=timeout))

    def ended(within: float) -> Awaitable[Frame | None]:
        return ctx.expect(
            "FirmwareStatusNotification",
            lambda p: p["status"] in ("Installed", *FAILURES),
            since=start,
            within=within,
            criteria=("12.b", "12.c"),
        )

    try:
        final, given = await _given_back(ctx, start, await ended(timeout), ended, _is_frame)
        statuses = ctx.frames("FirmwareStatusNotification", since=start)
        failed_download = final is not None and final.payload["status"] == "DownloadFailed"
        if failed_download and await _lab_did_not_serve(ctx, asked_at, final):
            _attach_statuses(ctx, statuses)
            ctx.check("12.c", None, "Not observed: the update ended in DownloadFailed, "
                      "so no reboot was due.", key="12.c#reboot")  # fmt: skip
            return
        _check_statuses(ctx, statuses, final, reply.frames, given)
        downloaded = any(f.payload.get("status") == "Downloaded" for f in statuses)
        await _check_download(ctx, asked_at, downloaded=downloaded)
        if final is not None and final.payload["status"] in FAILURES:
            ctx.check(
                "12.c",
                None,
                f"Not observed: the update ended in "
                f"{final.payload['status']}, so no reboot was due.",
                key="12.c#reboot",
            )
            return
        reboot, given = await _given_back(
            ctx, start, await reboot_watch,
            lambda within: ctx.wait_reboot(since=start, within=within), _is_complete,
        )  # fmt: skip
    finally:
        reboot_watch.cancel()
    _check_reboot(ctx, reboot, version, reply.frames, given)
    if ctx.criteria_passed():
        said = ", ".join(dict.fromkeys(str(f.payload.get("status")) for f in statuses))
        ctx.summary(
            f"Ok, firmware {ctx.station.firmware_version} updated to {version}: {said}, rebooted"
        )


async def _given_back(
    ctx: StepContext,
    start: int,
    result: T,
    wait: Callable[[float], Awaitable[T]],
    done: Callable[[T], bool],
) -> tuple[T, float]:
    """``result`` of the window's wait, or of waiting on while CertLab gives back the time it
    kept the station waiting on its answers meanwhile (issue 13: the firmware window is the
    station's; answers each under the ``late_answer`` mark still add up under load, and the
    station's statuses, its boot and the StatusNotifications before Installed each wait for
    CertLab's answer). At most one more window; returns the result and the seconds given back."""
    timeout = ctx.params.firmware_timeout
    given = 0.0
    while not done(result) and given < timeout:
        more = min(outages.lab_answer_time(ctx, start) - given, timeout - given)
        if more < GIVEN_BACK_MIN:
            break
        given += more
        await ctx.note(f"CertLab kept the station waiting {given:.1f} s on its answers: "
                       "the station gets that time back.")  # fmt: skip
        result = await wait(more)
    return result, given


def _is_frame(frame: Frame | None) -> bool:
    return frame is not None


def _is_complete(reboot: Reboot) -> bool:
    return reboot.complete


def _window(timeout: float, given: float) -> str:
    extra = f" (and {given:.1f} s CertLab kept it waiting on its answers)" if given else ""
    return f"{timeout} s{extra}"


def _check_statuses(
    ctx: StepContext,
    statuses: list[Frame],
    final: Frame | None,
    request: list[Frame],
    given: float = 0.0,
) -> None:
    sequence = [f.payload.get("status") for f in statuses]
    _attach_statuses(ctx, statuses)
    # 12.b's text: Downloading, followed by Installed. The steps between (Downloaded,
    # Installing) and their order are OCTT TC_044_1's: a finding.
    problem = _sequence_problem(sequence, LAB_EXPECTED)
    said = ", ".join(sequence) or "nothing"
    if final is None and not problem:
        problem = f"no Installed within {_window(ctx.params.firmware_timeout, given)}"
    detail = f"FirmwareStatusNotification: {said}" + (f": {problem}." if problem else ".")
    ctx.check("12.b", not problem, detail, evidence=[*request, *statuses], key="12.b#statuses")
    octt = _sequence_problem(sequence, EXPECTED)
    if not problem:
        ctx.finding("12.b", not octt, f"FirmwareStatusNotification: {said}"
                    + (f": {octt}" if octt else f" ({', '.join(EXPECTED)})"),
                    reference="OCTT TC_044_1", evidence=statuses,
                    key="12.b#statuses-octt")  # fmt: skip


def _attach_statuses(ctx: StepContext, statuses: list[Frame]) -> None:
    ctx.attach(
        "firmware_statuses",
        [
            {"status": f.payload.get("status"), "timestamp": f.timestamp.isoformat()}
            for f in statuses
        ],
    )


async def _lab_did_not_serve(ctx: StepContext, since: datetime, failed: Frame) -> bool:
    """Whether the station's DownloadFailed was CertLab's trouble, said as such (issue 13).

    CertLab's transfer log says whether it served the file: a fetch it started but had not got
    out whole before the station gave up (its web server queueing the request under load, a
    slow FTP server) is CertLab's lateness, whatever the station's own timeout. A station that
    had every byte (a complete download finished before its DownloadFailed) failed by itself,
    and so did one that never asked: no fetch on record, even after a while (a request still
    queued in CertLab's server is on record from its arrival: transfers.arrivals)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ctx.params.status_window
    downloads = await ctx.files.firmware_downloads(since)
    while not downloads and loop.time() < deadline:
        await asyncio.sleep(0.2)
        downloads = await ctx.files.firmware_downloads(since)
    if not downloads or any(_served_before(d, failed.timestamp) for d in downloads):
        return False
    ctx.attach("firmware_downloads", downloads)
    late = [d for d in downloads if d.get("complete")]
    # Recorded as it reached CertLab's server, never served: it waited in CertLab's queue.
    queued = [d for d in downloads if "served" in d and not d["served"]]
    if late and late[0].get("finished"):
        what = f"it got the whole file out only at {_clock(late[0]['finished'])}"
    elif queued:
        why = queued[0].get("error") or "still waiting in CertLab's server"
        received = _clock(queued[0]["started"])
        what = f"it received the request at {received} and never sent the file: {why}"
    else:
        what = f"{len(downloads)} fetch(es) started, none served whole"
    ctx.lab_side(
        "12.b",
        f"the station reported DownloadFailed at {failed.timestamp:%H:%M:%S} UTC, and CertLab's "
        f"own transfer log shows it had not served the firmware file by then ({what}): CertLab "
        "not serving the file in time is not held against the station",
        key="12.b#statuses",
    )
    return True


def _served_before(download: dict, moment: datetime) -> bool:
    finished = download.get("finished")  # a whole file with no time: no sign of lateness
    return bool(download.get("complete")) and (
        not finished or datetime.fromisoformat(finished) <= moment
    )


def _clock(stamp: str) -> str:
    return f"{datetime.fromisoformat(stamp):%H:%M:%S} UTC"


def _sequence_problem(sequence: list[str], expected: tuple[str, ...]) -> str:
    """What is wrong with the statuses against ``expected`` in that order (repeats and, for the
    lab's short list, statuses between them are tolerated), or ""."""
    failed = [s for s in sequence if s in FAILURES]
    if failed:
        return f"the station reported {failed[0]}"
    position = -1
    for status in sequence:
        if status not in EXPECTED:
            return f"unexpected status {status}"
        if status not in expected:
            continue
        index = expected.index(status)
        if index < position:
            return f"{status} after {expected[position]}"
        position = index
    missing = [s for s in expected if s not in sequence]
    return f"{', '.join(missing)} missing" if missing else ""


async def _check_download(ctx: StepContext, since: datetime, *, downloaded: bool) -> None:
    # The lab records a download as complete when its last byte has gone out, which can be a
    # moment after a fast station already reported Downloaded: then look again for a while.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (ctx.params.status_window if downloaded else 0)
    downloads = await ctx.files.firmware_downloads(since)
    while not any(d.get("complete") for d in downloads) and loop.time() < deadline:
        await asyncio.sleep(0.2)
        downloads = await ctx.files.firmware_downloads(since)
    ctx.attach("firmware_downloads", downloads)
    complete = [d for d in downloads if d.get("complete")]
    if complete:
        first = complete[0]
        detail = (
            f"CertLab's record: {first.get('file_name')} downloaded completely over "
            f"{first.get('protocol')} ({first.get('bytes')} bytes)."
        )
    elif downloads:
        detail = (
            f"CertLab's record: {len(downloads)} download(s) of the firmware started, "
            "none complete."
        )
    else:
        detail = "CertLab has no record of the station downloading the firmware file."
    ctx.check("12.b", bool(complete), detail, key="12.b#download")


def _check_reboot(
    ctx: StepContext, reboot: Reboot, version: str, request: list[Frame], given: float = 0.0
) -> None:
    timeout = _window(ctx.params.firmware_timeout, given)
    if not reboot.complete:
        what = (
            "dropped its connection but sent no BootNotification"
            if reboot.dropped
            else "did not reboot (no dropped connection, no new BootNotification)"
        )
        ctx.check(
            "12.c",
            False,
            f"Within {timeout} of UpdateFirmware the station {what}.",
            evidence=request,
            key="12.c#reboot",
        )
        return
    ctx.check(
        "12.c",
        True,
        "The station rebooted by itself after the update: connection "
        "dropped, new BootNotification.",
        evidence=[reboot.boot],
        key="12.c#reboot",
    )
    reported = (reboot.boot.payload or {}).get("firmwareVersion")
    if reported == version and reported != ctx.station.firmware_version:
        # What the station runs from now on: the campaign and the station's record follow it.
        ctx.attach(
            "firmware_installed",
            {"before": ctx.station.firmware_version, "after": version,
             "boot": reboot.boot.timestamp.isoformat()},
        )  # fmt: skip
    ctx.check(
        "12.c",
        reported == version,
        f"BootNotification firmwareVersion {reported!r}"
        + ("" if reported == version else f", expected the new {version!r}")
        + ".",
        evidence=[reboot.boot],
        key="12.c#version",
    )


def _hidden(location: str) -> str:
    """The location without a password or a signed token, for texts a vendor reads."""
    location = re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", location)
    return re.sub(r"/files/firmware/[^/]+/", "/files/firmware/…/", location)
