"""Step 5 · Set configuration: on the simulator (compliant and its defect) and scripted."""

import pytest

from campaigns.engine.port import CallRejected
from campaigns.engine.results import Outcome
from campaigns.engine.runner import Ending, run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import change_configuration, step_module

ORIGINAL = {"HeartbeatInterval": "300", "MeterValueSampleInterval": "60"}


def _station(scripted, *, answer=None, invalid="Rejected", forget=()):
    """A station holding two integer keys; ``forget`` keys accept changes but keep their value."""
    values = dict(ORIGINAL)

    def get(payload: dict) -> dict:
        keys = payload.get("key") or list(values)
        return {
            "configurationKey": [
                {"key": k, "readonly": False, "value": values[k]} for k in keys if k in values
            ]
        }

    def change(payload: dict) -> dict:
        key, value = payload["key"], payload["value"]
        if answer:
            return {"status": answer}
        if not value.isdigit():
            if invalid == "Accepted":
                values[key] = value
            return {"status": invalid}
        if key not in forget:
            values[key] = value
        return {"status": "Accepted"}

    scripted.on("GetConfiguration", get)
    scripted.on("ChangeConfiguration", change)
    return values


async def test_accepted_and_read_back_passes_and_restores(scripted, make_ctx):
    values = _station(scripted)
    ctx = make_ctx()
    run = await run_step(step_module(5), ctx, time_limit=10)
    assert run.proposed == Proposed.OK, run.result_text
    assert run.result_text == "Ok, heartbeat interval and meter value sample interval edited"
    changes = [p for a, p in scripted.calls if a == "ChangeConfiguration"]
    assert changes[:3] == [
        {"key": "HeartbeatInterval", "value": "2"},
        {"key": "MeterValueSampleInterval", "value": "1"},
        {"key": "HeartbeatInterval", "value": "abc"},
    ]
    assert values == ORIGINAL


async def test_value_already_set_is_changed_to_another(scripted, make_ctx):
    _station(scripted)
    run = await run_step(step_module(5), make_ctx(heartbeat_interval=300), time_limit=10)
    assert run.proposed == Proposed.OK, run.result_text
    assert ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "301"}) in scripted.calls


async def test_not_supported_fails_5a(scripted, make_ctx):
    _station(scripted, answer="NotSupported")
    run = await run_step(step_module(5), make_ctx(), time_limit=10)
    assert run.outcomes == {"5.a": Outcome.FAILED}
    assert (
        run.result_text == "Failed: ChangeConfiguration HeartbeatInterval=2 answered NotSupported"
    )


async def test_not_implemented_fails_5a(scripted, make_ctx):
    _station(scripted)
    scripted.on("ChangeConfiguration", CallRejected("NotImplemented"))
    run = await run_step(step_module(5), make_ctx(), time_limit=10)
    assert run.result_text == (
        "Failed: ChangeConfiguration HeartbeatInterval=2 answered CALLERROR NotImplemented"
    )


async def test_accepted_but_not_read_back_fails(scripted, make_ctx):
    _station(scripted, forget=("MeterValueSampleInterval",))
    ctx = make_ctx()
    run = await run_step(step_module(5), ctx, time_limit=10)
    assert run.outcomes == {"5.a": Outcome.FAILED}
    assert run.result_text == (
        "Failed: GetConfiguration reads MeterValueSampleInterval back as '60', not '1' "
        "(configurationKey (1 item))"
    )


async def test_invalid_value_accepted_fails_and_is_restored(scripted, make_ctx):
    values = _station(scripted, invalid="Accepted")
    ctx = make_ctx()
    run = await run_step(step_module(5), ctx, time_limit=10)
    assert run.outcomes == {"5.a": Outcome.FAILED}
    check = next(r for r in ctx.results if r.key == "5.a#invalid")
    assert check.detail == (
        "The station accepts an invalid value: ChangeConfiguration HeartbeatInterval='abc' (not "
        "an integer) answered Accepted, Rejected expected (TC_040_2); HeartbeatInterval then "
        "reads back as 'abc'; put back to '2' at once (Accepted)"
    )
    assert values == ORIGINAL


async def test_invalid_value_accepted_counts_the_heartbeat_storm_and_puts_it_back_at_once(
    scripted, make_ctx
):
    values = _station(scripted, invalid="Accepted")
    change = scripted.replies["ChangeConfiguration"][0]

    def storm(payload: dict) -> dict:
        if payload["value"] == "abc":
            for _ in range(5):
                scripted.emit("Heartbeat", {})
        return change(payload)

    scripted.on("ChangeConfiguration", storm)
    ctx = make_ctx()
    await run_step(step_module(5), ctx, time_limit=10)
    check = next(r for r in ctx.results if r.key == "5.a#invalid")
    assert check.outcome == Outcome.FAILED
    assert "put back to '2' at once (Accepted); meanwhile 5 Heartbeats in " in check.detail
    changes = [p for a, p in scripted.calls if a == "ChangeConfiguration"]
    assert changes[2:4] == [
        {"key": "HeartbeatInterval", "value": "abc"},
        {"key": "HeartbeatInterval", "value": "2"},
    ]
    assert values == ORIGINAL


async def test_no_answer_fails_then_station_gone_ends_offline(scripted, make_ctx):
    _station(scripted)
    scripted.on("ChangeConfiguration", None)
    scripted.disconnect(0.5)
    run = await run_step(step_module(5), make_ctx(call_timeout=0.3), time_limit=10)
    assert run.ending == Ending.STATION_OFFLINE
    assert run.outcomes == {"5.a": Outcome.FAILED}
    assert "HeartbeatInterval=2 answered no answer in time" in run.result_text


# --- on the simulator -------------------------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_a_station_accepting_any_value_fails_5a_precisely(lab):
    sim = await lab.start(defects=("accept_any_configuration_value",))
    run, ctx = await lab.run(change_configuration.NUMBER)
    assert run.outcomes == {"5.a": Outcome.FAILED}
    check = next(r for r in ctx.results if r.key == "5.a#invalid")
    assert check.detail.startswith(
        "The station accepts an invalid value: ChangeConfiguration HeartbeatInterval='abc' (not "
        "an integer) answered Accepted, Rejected expected (TC_040_2); HeartbeatInterval then "
        "reads back as 'abc'"
    )
    assert sim.configuration.get("HeartbeatInterval") != "abc"  # put back
    passed = [r.key for r in ctx.results if r.outcome == Outcome.PASSED]
    assert "5.a#HeartbeatInterval-readback" in passed  # valid values still work


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_change_configuration_passes_on_the_compliant_simulator(lab):
    sim = await lab.start()
    before = sim.configuration.get("MeterValueSampleInterval")
    run, ctx = await lab.run(change_configuration.NUMBER)
    assert run.proposed == Proposed.OK, run.result_text
    assert sim.configuration.get("MeterValueSampleInterval") == before
    invalid = next(r for r in ctx.results if r.key == "5.a#invalid")
    assert invalid.outcome == Outcome.PASSED
    assert "answered Rejected, as it should (TC_040_2)" in invalid.detail


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_change_configuration_not_supported_fails_5a(lab):
    await lab.start(defects=("change_configuration_not_supported",))
    run, _ = await lab.run(change_configuration.NUMBER)
    assert run.outcomes == {"5.a": Outcome.FAILED}
    assert (
        run.result_text == "Failed: ChangeConfiguration HeartbeatInterval=2 answered NotSupported"
    )
