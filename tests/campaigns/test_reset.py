"""Step 9 (Reset): on the simulator through the real endpoint, and scripted for the branches a
simulator cannot show (Rejected, CALLERROR, a boot without a drop, missing StatusNotifications)."""

import pytest

from campaigns.engine.port import CallRejected
from campaigns.engine.results import Outcome
from campaigns.engine.runner import Ending, run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import step_module
from tests.campaigns.conftest import GOOD_BOOT


def _statuses(connectors=(0, 1, 2), delay=0.0):
    return [
        ("StatusNotification", {"connectorId": c, "status": "Available", "errorCode": "NoError"},
         delay)
        for c in connectors
    ]  # fmt: skip


def _rebooting(scripted, *, connectors=(0, 1, 2), drop=True):
    """Reset Accepted, then (optionally) a drop, a reconnect, a boot and StatusNotifications."""

    def accept(payload):
        if drop:
            scripted.disconnect(0.05)
            scripted.reconnect(0.6)
        scripted.emit("BootNotification", GOOD_BOOT, 0.8)
        for action, status, _ in _statuses(connectors):
            scripted.emit(action, status, 0.9)
        return {"status": "Accepted"}

    scripted.on("Reset", accept)


# --- on the simulator ---------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_reset_passes_on_the_compliant_simulator(lab):
    simulator = await lab.start()
    run, ctx = await lab.run(9)
    assert run.proposed == Proposed.OK, run.result_text
    assert run.result_text.startswith("Ok, Hard and Soft reset")
    assert simulator.boots == 3  # the first boot and one per reset
    reboots = [r for r in ctx.results if r.key.endswith("#reboot")]
    assert [e["action"] for e in reboots[0].evidence] == ["Reset", "Reset", "BootNotification"]


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_no_connector_zero_status_after_boot_passes_with_an_octt_finding(lab):
    await lab.start(defects=("no_connector_zero_status_after_boot",))
    run, ctx = await lab.run(9)
    assert run.proposed == Proposed.OK, run.result_text
    findings = [r for r in ctx.results if r.key.endswith("#connector-0")]
    assert [(r.outcome, r.reference) for r in findings] == [
        (Outcome.FAILED, "OCTT TC_001"), (Outcome.FAILED, "OCTT TC_001"),
    ]  # fmt: skip


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_a_process_that_exits_on_reset_and_is_restarted_passes(lab):
    simulator = await lab.start(defects=("exit_on_reset",))
    run, ctx = await lab.run(9)
    assert run.proposed == Proposed.OK, run.result_text
    assert simulator.boots == 3
    assert all(r.outcome == Outcome.PASSED for r in ctx.results), run.result_text


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_reset_without_reboot_fails_both_criteria(lab):
    await lab.start(defects=("no_reboot_after_reset",))
    run, _ = await lab.run(9, reconnect_timeout=3)
    assert run.outcomes == {"9.a": Outcome.FAILED, "9.b": Outcome.FAILED}
    assert run.result_text == (
        "Failed: Reset Hard was Accepted, but within 3 s the station neither dropped its "
        "connection nor sent a BootNotification: no reboot."
    )


# --- scripted -----------------------------------------------------------------------------------


async def test_reset_with_drop_boot_and_statuses_passes(scripted, make_ctx):
    _rebooting(scripted)
    run = await run_step(step_module(9), make_ctx(), time_limit=20)
    assert run.proposed == Proposed.OK, run.result_text
    assert scripted.calls == [("Reset", {"type": "Hard"}), ("Reset", {"type": "Soft"})]


async def test_reset_rejected_fails_that_type_and_tries_the_other(scripted, make_ctx):
    scripted.on("Reset", lambda p: {"status": "Rejected" if p["type"] == "Hard" else "Accepted"})
    run = await run_step(step_module(9), make_ctx(reconnect_timeout=1), time_limit=20)
    assert run.outcomes == {"9.a": Outcome.FAILED, "9.b": Outcome.FAILED}
    assert run.result_text == "Failed: Reset Hard answered Rejected"
    assert [c[1]["type"] for c in scripted.calls] == ["Hard", "Soft"]


async def test_reset_not_implemented_fails_precisely(scripted, make_ctx):
    scripted.on("Reset", CallRejected("NotImplemented"))
    run = await run_step(step_module(9), make_ctx(), time_limit=20)
    assert run.result_text == "Failed: Reset Hard answered CALLERROR NotImplemented"


async def test_boot_without_a_drop_is_no_reboot(scripted, make_ctx):
    _rebooting(scripted, drop=False)
    run = await run_step(step_module(9), make_ctx(), time_limit=20)
    assert run.outcomes == {"9.a": Outcome.FAILED, "9.b": Outcome.FAILED}
    assert "came on the same connection" in run.result_text


async def test_missing_status_for_connector_zero_is_an_octt_finding_not_a_lab_failure(
    scripted, make_ctx
):
    _rebooting(scripted, connectors=(1, 2))
    run = await run_step(step_module(9), make_ctx(status_window=1), time_limit=20)
    assert run.outcomes == {"9.a": Outcome.PASSED, "9.b": Outcome.PASSED}
    assert run.proposed == Proposed.OK
    assert run.result_text.endswith("(2 findings beyond the criteria for QA: OCTT TC_001)")


async def test_in_strict_mode_the_missing_connector_zero_fails(scripted, make_ctx):
    _rebooting(scripted, connectors=(1, 2))
    run = await run_step(step_module(9), make_ctx(status_window=1), time_limit=20, strict=True)
    assert run.proposed == Proposed.FAILED
    assert run.result_text == (
        "Failed: After the Reset Hard boot, no StatusNotification for connector 0 (the Charge "
        "Point itself) within 1 s [OCTT TC_001]"
    )


async def test_missing_status_for_a_connector_fails(scripted, make_ctx):
    _rebooting(scripted, connectors=(0, 1))
    run = await run_step(step_module(9), make_ctx(status_window=1), time_limit=20)
    assert run.outcomes["9.a"] == Outcome.FAILED
    assert "no StatusNotification for connector(s) 2 within 1 s" in run.result_text
    assert "(reported: 1 Available/NoError)" in run.result_text


async def test_station_that_never_returns_ends_offline(scripted, make_ctx):
    def accept(payload):
        scripted.disconnect(0.05)
        return {"status": "Accepted"}

    scripted.on("Reset", accept)
    run = await run_step(step_module(9), make_ctx(reconnect_timeout=1), time_limit=20)
    assert run.ending == Ending.STATION_OFFLINE
    assert run.outcomes == {"9.a": Outcome.FAILED, "9.b": Outcome.NOT_OBSERVED}
    assert "the station dropped its connection but did not come back" in run.result_text


# --- a station declared not to reboot on Reset ---------------------------------------------------


def test_a_station_declared_not_to_reboot_has_step_9_planned_not_applicable(db, qa_user):
    from campaigns import services
    from campaigns.models import Applicability
    from tests.factories import StationFactory

    rebooting = services.campaign_create(station=StationFactory(), owner=qa_user)
    assert rebooting.plan.get(function__number=9).applicability == Applicability.PLANNED
    station = StationFactory(charger_model__reboots_on_reset=False)
    item = services.campaign_create(station=station, owner=qa_user).plan.get(function__number=9)
    assert item.applicability == Applicability.NOT_APPLICABLE
    assert item.reason == (
        "Not applicable: the station does not reboot on Reset "
        f"(declared for the model {station.charger_model})."
    )


async def test_step_9_run_anyway_on_a_station_declared_not_to_reboot_sends_no_reset(scripted):
    from dataclasses import replace

    from campaigns.engine.context import StepContext
    from campaigns.engine.params import LabParameters
    from stations.capabilities import Capabilities
    from tests.campaigns.conftest import STATION

    _rebooting(scripted)  # it would reboot: the declaration alone decides
    station = replace(STATION, capabilities=Capabilities(connector_count=2,
                                                          reboots_on_reset=False))  # fmt: skip
    ctx = StepContext(port=scripted, station=station, params=LabParameters.fast())
    run = await run_step(step_module(9), ctx, time_limit=20)
    assert run.outcomes == {"9.a": Outcome.NOT_APPLICABLE, "9.b": Outcome.NOT_APPLICABLE}
    assert "Reset" not in [action for action, _ in scripted.calls]
    assert ctx.notes[-1] == "No Reset sent: the station does not reboot on Reset (declared)."
    assert run.result_text == (
        "Ok, not applicable: the station does not reboot on Reset (declared); no Reset sent"
    )


async def test_step_9_on_a_station_declared_to_reboot_judges_the_reboot(scripted, make_ctx):
    scripted.on("Reset", {"status": "Accepted"})  # and nothing follows
    run = await run_step(step_module(9), make_ctx(reconnect_timeout=1), time_limit=20)
    assert run.outcomes == {"9.a": Outcome.FAILED, "9.b": Outcome.FAILED}
    assert [action for action, _ in scripted.calls].count("Reset") == 2


async def test_statuses_that_break_the_schema_after_the_boot_fail_naming_the_schema(
    scripted, make_ctx
):
    """connectorId "1" and errorCode "noError" (the simulator's schema_invalid_frames): sent,
    and refused by CertLab, so not "no StatusNotification" but not according to OCPP 1.6."""
    import asyncio
    import json
    from datetime import UTC, datetime

    def broken(connector: int) -> None:
        payload = {"connectorId": str(connector), "errorCode": "noError", "status": "Available"}
        scripted._events.put_nowait({
            "type": "frame.logged", "charge_point_id": scripted.charge_point_id,
            "connection_id": 1, "timestamp": datetime.now(UTC).isoformat(), "direction": "in",
            "message_type": "CALL", "action": "StatusNotification", "unique_id": f"b-{connector}",
            "raw": json.dumps(payload), "payload": payload,
            "error": "PropertyConstraintViolation: StatusNotification errorCode: 'noError' ...",
        })  # fmt: skip

    def accept(payload):
        scripted.disconnect(0.05)
        scripted.reconnect(0.6)
        scripted.emit("BootNotification", GOOD_BOOT, 0.8)
        for connector in (0, 1, 2):
            asyncio.get_running_loop().call_later(0.9, broken, connector)
        return {"status": "Accepted"}

    scripted.on("Reset", accept)
    run = await run_step(step_module(9), make_ctx(status_window=1), time_limit=20)
    assert run.outcomes == {"9.a": Outcome.FAILED, "9.b": Outcome.FAILED}
    assert "StatusNotification for every connector" in run.result_text
    assert (
        "breaking the OCPP 1.6 schema: connector(s) 1, 2 (CertLab answered "
        "PropertyConstraintViolation)" in run.result_text
    )
