"""Step 13 (diagnostics): a real upload from the simulator to CertLab's FTP server, and scripted
branches (CALLERROR, no fileName, notifications before the answer, a file that never arrives)."""

import pytest

from campaigns.engine.port import CallRejected
from campaigns.engine.results import Outcome
from campaigns.engine.runner import run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import step_module

FILE = "diag-SCRIPTED-1.log"
LOCATION = "ftp://station7:s3cret@127.0.0.1:2121/diagnostics/"


class FakeFiles:
    def __init__(self, received=None):
        self.received = received
        self.asked = []

    def diagnostics_location(self):
        return LOCATION

    async def diagnostics_received(self, file_name, since):
        self.asked.append(file_name)
        return self.received


RECEIVED = {"id": 1, "file_name": FILE, "size": 2048, "sha256": "ab" * 32,
            "received": "2026-01-01T00:00:00+00:00"}  # fmt: skip


def _ctx(make_ctx, files):
    ctx = make_ctx(diagnostics_timeout=1, status_window=1)
    ctx.files = files
    return ctx


def _notify(*statuses, delay=0.05):
    return [("DiagnosticsStatusNotification", {"status": s}, delay * (i + 1))
            for i, s in enumerate(statuses)]  # fmt: skip


# --- on the simulator ---------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_diagnostics_pass_on_the_compliant_simulator(lab):
    await lab.start()
    run, ctx = await lab.run(13)
    assert run.proposed == Proposed.OK, run.result_text
    received = ctx.attachments["diagnostics_file"]
    assert received["file_name"].startswith("diagnostics-LAB-SIM-01-")
    assert received["size"] > 0 and len(received["sha256"]) == 64
    assert (
        run.result_text
        == f"Ok, {received['file_name']} ({received['size']} bytes) uploaded over FTP"
    )
    assert ctx.attachments["diagnostics_statuses"] == ["Uploading", "Uploaded"]
    request = ctx.frames("GetDiagnostics", direction="out")[0].payload
    assert request["location"].startswith("ftp://") and request["startTime"] < request["stopTime"]


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_diagnostics_upload_failure_fails_13a(lab):
    await lab.start(defects=("diagnostics_upload_fails",))
    run, ctx = await lab.run(13)
    assert run.outcomes == {"13.a": Outcome.FAILED}
    assert run.result_text == (
        "Failed: DiagnosticsStatusNotification Uploading, UploadFailed: the station reports that "
        "the upload to CertLab's FTP server failed."
    )
    assert "diagnostics_file" not in ctx.attachments


# --- scripted -----------------------------------------------------------------------------------


async def test_upload_on_record_passes_and_hides_the_password(scripted, make_ctx):
    scripted.on("GetDiagnostics", {"fileName": FILE}, then=_notify("Uploading", "Uploaded"))
    ctx = _ctx(make_ctx, FakeFiles(RECEIVED))
    run = await run_step(step_module(13), ctx, time_limit=10)
    assert run.proposed == Proposed.OK, run.result_text
    assert "ftp://station7:***@127.0.0.1:2121/diagnostics/" in ctx.results[0].detail
    assert "s3cret" not in " ".join(r.detail for r in ctx.results)
    assert ctx.attachments["diagnostics_file"] == RECEIVED


async def test_notifications_before_the_answer_are_not_missed(scripted, make_ctx):
    def answer(payload):
        for status in ("Uploading", "Uploaded"):  # logged before the CALLRESULT
            scripted._push(
                "in", "CALL", "DiagnosticsStatusNotification", status, {"status": status}
            )
        return {"fileName": FILE}

    scripted.on("GetDiagnostics", answer)
    run = await run_step(step_module(13), _ctx(make_ctx, FakeFiles(RECEIVED)), time_limit=10)
    assert run.proposed == Proposed.OK, run.result_text


async def test_not_implemented_fails_precisely(scripted, make_ctx):
    scripted.on("GetDiagnostics", CallRejected("NotImplemented"))
    run = await run_step(step_module(13), _ctx(make_ctx, FakeFiles()), time_limit=10)
    assert run.outcomes == {"13.a": Outcome.FAILED}
    assert run.result_text.endswith("answered CALLERROR NotImplemented.")


async def test_answer_without_file_name_fails(scripted, make_ctx):
    scripted.on("GetDiagnostics", {})
    run = await run_step(step_module(13), _ctx(make_ctx, FakeFiles()), time_limit=10)
    assert run.result_text.endswith("answered no fileName: nothing to upload.")


async def test_uploaded_without_a_file_on_the_server_fails(scripted, make_ctx):
    scripted.on("GetDiagnostics", {"fileName": FILE}, then=_notify("Uploading", "Uploaded"))
    files = FakeFiles(None)
    run = await run_step(step_module(13), _ctx(make_ctx, files), time_limit=10)
    assert run.result_text == (
        f"Failed: The station reported Uploaded, but no complete file {FILE} arrived on "
        "CertLab's FTP server."
    )
    assert set(files.asked) == {FILE} and len(files.asked) > 1  # waited for the record


async def test_empty_file_fails(scripted, make_ctx):
    scripted.on("GetDiagnostics", {"fileName": FILE}, then=_notify("Uploading", "Uploaded"))
    empty = {**RECEIVED, "size": 0}
    run = await run_step(step_module(13), _ctx(make_ctx, FakeFiles(empty)), time_limit=10)
    assert run.outcomes == {"13.a": Outcome.FAILED}
    assert "0 bytes" in run.result_text and "(empty)" in run.result_text


async def test_uploaded_without_uploading_fails(scripted, make_ctx):
    scripted.on("GetDiagnostics", {"fileName": FILE}, then=_notify("Uploaded"))
    run = await run_step(step_module(13), _ctx(make_ctx, FakeFiles(RECEIVED)), time_limit=10)
    assert run.result_text == (
        "Failed: DiagnosticsStatusNotification: Uploaded: no Uploading before Uploaded."
    )


async def test_no_final_status_fails_after_the_timeout(scripted, make_ctx):
    scripted.on("GetDiagnostics", {"fileName": FILE}, then=_notify("Uploading", "Uploading"))
    run = await run_step(step_module(13), _ctx(make_ctx, FakeFiles(RECEIVED)), time_limit=10)
    assert run.result_text == (
        "Failed: No DiagnosticsStatusNotification Uploaded within 1 s (received: Uploading, "
        "Uploading)."
    )


class RefusingFiles(FakeFiles):
    """CertLab's FTP server refused the upload: its disk was full."""

    async def diagnostics_refused(self, file_name, since):
        return "452 Not enough disk space on the lab side; transfer aborted."


async def test_an_upload_refused_for_certlabs_full_disk_is_not_observed_not_failed(
    scripted, make_ctx
):
    scripted.on("GetDiagnostics", {"fileName": FILE},
                then=_notify("Uploading", "UploadFailed"))  # fmt: skip
    run = await run_step(step_module(13), _ctx(make_ctx, RefusingFiles()), time_limit=10)
    assert run.outcomes == {"13.a": Outcome.NOT_OBSERVED}
    assert run.proposed == Proposed.INCOMPLETE
    assert "CertLab's trouble" in run.result_text and "Not enough disk space" in run.result_text


@pytest.mark.django_db
def test_lab_files_name_certlabs_own_refusal_and_not_the_stations():
    from datetime import UTC, datetime, timedelta

    from campaigns.execution import LabFiles
    from tests.factories import StationFactory
    from transfers import services

    station, now = StationFactory(), datetime.now(UTC)
    files = LabFiles(station=station, update_firmware=None)
    common = {"station": station, "file_name": FILE, "started": now, "remote_address": None}
    services.diagnostics_file_record_failed(size=10, error="the transfer did not finish", **common)
    assert files._diagnostics_refused(FILE, now - timedelta(1)) is None  # the station's doing
    services.diagnostics_file_record_failed(
        size=10, error="452 Not enough disk space on the lab side; transfer aborted.", **common
    )
    assert files._diagnostics_refused(FILE, now - timedelta(1)).startswith("452 Not enough")


@pytest.mark.e2e
@pytest.mark.timeout(300)
async def test_diagnostics_arriving_on_a_full_disk_end_lab_side_and_nothing_hangs(
    lab, settings, tmp_path
):
    """A real FTP server whose disk is full (less free space than it keeps in reserve) refuses
    the simulator's upload: the step ends in time, 13.a not observed with CertLab's reason."""
    from tests.campaigns.lab import child_environment
    from tests.processes import PYTHON, ManagedProcess, free_port, wait_for_port

    port, passive = free_port(), free_port()
    full = ManagedProcess(
        [PYTHON, "manage.py", "ftpserver", "--host", "127.0.0.1", "--port", str(port),
         "--passive-ports", f"{passive}-{passive}"],
        log_path=tmp_path / "ftp-full.log",
        env={**child_environment(), "CERTLAB_FTP_MIN_FREE_BYTES": str(10**18)},
    )  # fmt: skip
    with full:
        wait_for_port(port, timeout=60)
        settings.CERTLAB_PUBLIC_FTP_PORT = port
        await lab.start()
        run, _ = await lab.run(13)
    assert run.outcomes == {"13.a": Outcome.NOT_OBSERVED}, run.result_text
    assert run.proposed == Proposed.INCOMPLETE
    assert "Not enough disk space" in run.result_text
    assert "not enough disk space" in full.log()


async def test_no_status_during_the_upload_records_no_status_finding(scripted, make_ctx):
    scripted.on("GetDiagnostics", {"fileName": FILE}, then=_notify("Uploading", "Uploaded"))
    ctx = _ctx(make_ctx, FakeFiles(RECEIVED))
    await run_step(step_module(13), ctx, time_limit=10)
    assert not [r for r in ctx.results if "#status-" in r.key]


async def test_statuses_during_the_upload_are_judged_by_the_state_machine(scripted, make_ctx):
    def status(connector, value, delay):
        payload = {"connectorId": connector, "errorCode": "NoError", "status": value}
        return ("StatusNotification", payload, delay)

    scripted.on(
        "GetDiagnostics",
        {"fileName": FILE},
        then=[
            *_notify("Uploading", "Uploaded"),
            status(1, "Available", 0.01),
            status(1, "Unavailable", 0.02),  # A8
            status(1, "Available", 0.03),  # H1
            status(0, "Charging", 0.04),  # not a status of the Charge Point
        ],
    )
    ctx = _ctx(make_ctx, FakeFiles(RECEIVED))
    run = await run_step(step_module(13), ctx, time_limit=10)
    found = {r.key: r for r in ctx.results if "#status-" in r.key}
    assert found["13.a#status-1"].outcome == Outcome.PASSED
    assert found["13.a#status-0"].outcome == Outcome.FAILED
    assert "'Charging' is not a status of connector 0" in found["13.a#status-0"].detail
    assert {r.reference for r in found.values()} == {"OCPP 1.6 §4.9"}
    assert run.proposed == Proposed.OK  # 13.a is the upload's
