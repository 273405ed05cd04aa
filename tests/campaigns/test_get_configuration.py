"""Step 4 · Get configuration: on the simulator (compliant and its defect) and scripted."""

from dataclasses import replace

import pytest

from campaigns.engine.context import StepContext
from campaigns.engine.params import LabParameters
from campaigns.engine.port import CallRejected
from campaigns.engine.results import Outcome
from campaigns.engine.runner import run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import get_configuration, step_module
from stations.capabilities import Capabilities
from tests.campaigns.conftest import STATION


def _keys(**overrides) -> list[dict]:
    keys = [
        {"key": key, "readonly": access == "R", "value": "1"}
        for key, access in get_configuration.CORE.items()
    ]
    for entry in keys:
        if entry["key"] == "SupportedFeatureProfiles":
            entry["value"] = "Core,RemoteTrigger"
        if entry["key"] == "NumberOfConnectors":
            entry["value"] = str(STATION.connector_count)
        entry.update(overrides.get(entry["key"], {}))
    return keys


def _station(scripted, entries: list[dict], *, hidden=(), unknown_key_list=True):
    def get(payload: dict) -> dict:
        asked = payload.get("key")
        if not asked:
            return {"configurationKey": [e for e in entries if e["key"] not in hidden]}
        known = [e for e in entries if e["key"] in asked]
        unknown = [k for k in asked if k not in {e["key"] for e in known}]
        return {"configurationKey": known, **({"unknownKey": unknown} if unknown_key_list else {})}

    scripted.on("GetConfiguration", get)


async def test_full_list_with_core_keys_passes_and_is_attached(scripted, make_ctx):
    _station(scripted, _keys())
    ctx = make_ctx()
    run = await run_step(step_module(4), ctx, time_limit=10)
    assert run.proposed == Proposed.OK, run.result_text
    assert run.result_text == "Ok, Configuration (21) Full list"
    assert ctx.attachments["configuration"][0] == {
        "key": "AuthorizeRemoteTxRequests",
        "readonly": False,
        "value": "1",
    }
    made_up = scripted.calls[1][1]["key"]
    assert made_up[0].startswith("CertLab.NoSuchKey.")


async def test_key_hidden_from_the_full_list_fails_precisely(scripted, make_ctx):
    _station(scripted, _keys(), hidden=("HeartbeatInterval",))
    ctx = make_ctx()
    run = await run_step(step_module(4), ctx, time_limit=10)
    assert run.outcomes == {"4.a": Outcome.FAILED}
    assert run.result_text == (
        "Failed: Required configuration keys (OCPP 1.6 section 9) missing; known when asked by "
        "name but left out of the full list: HeartbeatInterval"
    )


async def test_made_up_key_not_in_unknown_key_fails(scripted, make_ctx):
    _station(scripted, _keys(), unknown_key_list=False)
    ctx = make_ctx()
    run = await run_step(step_module(4), ctx, time_limit=10)
    assert run.outcomes == {"4.a": Outcome.FAILED}
    check = next(r for r in ctx.results if r.key == "4.a#unknown")
    assert check.detail.endswith("the made-up key is not in unknownKey")


async def test_wrong_readonly_flags_fail(scripted, make_ctx):
    entries = _keys(HeartbeatInterval={"readonly": True}, NumberOfConnectors={"readonly": False})
    _station(scripted, entries)
    ctx = make_ctx()
    run = await run_step(step_module(4), ctx, time_limit=10)
    assert run.outcomes == {"4.a": Outcome.FAILED}
    check = next(r for r in ctx.results if r.key == "4.a#readonly")
    assert check.outcome == Outcome.FAILED
    assert "HeartbeatInterval readonly=True (RW in the specification)" in check.detail
    assert "NumberOfConnectors readonly=False (R in the specification)" in check.detail


async def test_smart_charging_profile_requires_its_keys(scripted, make_ctx):
    entries = _keys(SupportedFeatureProfiles={"value": "Core,SmartCharging"})
    _station(scripted, entries)
    run = await run_step(step_module(4), make_ctx(), time_limit=10)
    assert run.outcomes == {"4.a": Outcome.FAILED}
    assert "not supported at all: ChargeProfileMaxStackLevel" in run.result_text


async def test_not_implemented_fails_with_the_error(scripted, make_ctx):
    scripted.on("GetConfiguration", CallRejected("NotImplemented"))
    run = await run_step(step_module(4), make_ctx(), time_limit=10)
    assert run.result_text == (
        "Failed: GetConfiguration without keys answered CALLERROR NotImplemented: "
        "no configuration keys"
    )


async def test_no_answer_fails(scripted, make_ctx):
    scripted.on("GetConfiguration", None)
    run = await run_step(step_module(4), make_ctx(call_timeout=0.3), time_limit=10)
    assert run.outcomes == {"4.a": Outcome.FAILED}
    assert "no answer in time" in run.result_text


# --- against the declaration ------------------------------------------------------------------
def _declared_ctx(scripted, **capabilities) -> StepContext:
    station = replace(STATION, capabilities=Capabilities(**capabilities))
    return StepContext(port=scripted, station=station, params=LabParameters.fast())


async def test_a_station_reporting_what_it_declared_passes(scripted):
    _station(scripted, _keys())
    ctx = _declared_ctx(scripted, feature_profiles=("Core", "RemoteTrigger"))
    run = await run_step(step_module(4), ctx, time_limit=10)
    assert run.proposed == Proposed.OK, run.result_text
    check = next(r for r in ctx.results if r.key == "4.a#declaration")
    assert check.detail == "SupportedFeatureProfiles and NumberOfConnectors as declared"


async def test_every_difference_from_the_declaration_is_flagged_for_qa(scripted):
    _station(scripted, _keys(NumberOfConnectors={"value": "3"}))
    declared = ("Core", "FirmwareManagement", "SmartCharging")
    ctx = _declared_ctx(scripted, feature_profiles=declared)
    run = await run_step(step_module(4), ctx, time_limit=10)
    check = next(r for r in ctx.results if r.key == "4.a#declaration")
    assert check.outcome == Outcome.FLAGGED
    assert check.detail == (
        "The station reports other than its declaration: declared, not in "
        "SupportedFeatureProfiles: FirmwareManagement, SmartCharging; in "
        "SupportedFeatureProfiles, not declared: RemoteTrigger; NumberOfConnectors is 3, the "
        "model has 2 (the plan was drawn from the declaration: QA to judge)"
    )
    assert run.outcomes == {"4.a": Outcome.NOT_OBSERVED}
    assert run.proposed == Proposed.INCOMPLETE


async def test_undeclared_profiles_compare_only_the_connectors(scripted):
    _station(scripted, _keys())
    ctx = _declared_ctx(scripted)
    run = await run_step(step_module(4), ctx, time_limit=10)
    assert run.proposed == Proposed.OK, run.result_text
    check = next(r for r in ctx.results if r.key == "4.a#declaration")
    assert check.detail == (
        "NumberOfConnectors as declared; no feature profiles declared to compare "
        "SupportedFeatureProfiles with"
    )


@pytest.mark.parametrize("lock", [True, False])
async def test_read_only_unlock_on_ev_side_disconnect_fails_only_with_a_lock(scripted, lock):
    _station(scripted, _keys(UnlockConnectorOnEVSideDisconnect={"readonly": True}))
    ctx = _declared_ctx(scripted, has_connector_lock=lock)
    run = await run_step(step_module(4), ctx, time_limit=10)
    check = next(r for r in ctx.results if r.key == "4.a#readonly")
    if lock:
        assert check.outcome == Outcome.FAILED
        assert "UnlockConnectorOnEVSideDisconnect readonly=True (RW in the specification)" in (
            check.detail
        )
    else:
        assert run.proposed == Proposed.OK, run.result_text
        assert check.detail.endswith(
            "; UnlockConnectorOnEVSideDisconnect may be read-only: the station has no connector "
            "lock (declared)"
        )


# --- on the simulator -------------------------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_get_configuration_passes_on_the_compliant_simulator(lab):
    sim = await lab.start()
    run, ctx = await lab.run(get_configuration.NUMBER)
    assert run.proposed == Proposed.OK, run.result_text
    count = len(sim.configuration.specs)
    assert run.result_text == f"Ok, Configuration ({count}) Full list"
    table = {row["key"]: row for row in ctx.attachments["configuration"]}
    assert table["NumberOfConnectors"] == {
        "key": "NumberOfConnectors",
        "readonly": True,
        "value": "2",
    }


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_missing_keys_fail_4a(lab):
    await lab.start(defects=("get_configuration_missing_keys",))
    run, _ = await lab.run(get_configuration.NUMBER)
    assert run.outcomes == {"4.a": Outcome.FAILED}
    assert "not supported at all: AuthorizeRemoteTxRequests, ConnectionTimeOut, " in (
        run.result_text
    )
    assert "HeartbeatInterval, MeterValueSampleInterval" in run.result_text


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_read_only_unlock_key_fails_4a_on_a_station_with_a_lock(lab):
    await lab.start(defects=("readonly_unlock_on_ev_side_disconnect",))
    run, _ = await lab.run(get_configuration.NUMBER)
    assert run.outcomes == {"4.a": Outcome.FAILED}
    assert run.result_text == (
        "Failed: readonly flags differ from OCPP 1.6 section 9: UnlockConnectorOnEVSideDisconnect "
        "readonly=True (RW in the specification)"
    )


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_read_only_unlock_key_passes_on_a_station_declared_without_a_lock(lab):
    await lab.start(defects=("readonly_unlock_on_ev_side_disconnect",))
    declared = Capabilities(
        connector_count=2,
        has_connector_lock=False,
        feature_profiles=("Core", "FirmwareManagement", "RemoteTrigger", "Reservation"),
    )
    run, ctx = await lab.run(get_configuration.NUMBER, capabilities=declared)
    assert run.proposed == Proposed.OK, run.result_text
    check = next(r for r in ctx.results if r.key == "4.a#declaration")
    assert check.detail == "SupportedFeatureProfiles and NumberOfConnectors as declared"
