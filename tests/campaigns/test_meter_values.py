"""Step 8 · meter values: on the simulator (compliant, meter_wrong_interval and
meter_without_voltage_current_power) and against a scripted charger."""

import pytest

from campaigns.engine.context import StepContext
from campaigns.engine.params import LabParameters
from campaigns.engine.results import Outcome
from campaigns.engine.runner import run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import step_module
from tests.campaigns.charging_lab import ScriptedCharger, prepare_tags
from tests.campaigns.conftest import STATION

STEP = step_module(8)
ALL_FOUR = "Energy.Active.Import.Register,Voltage,Current.Import,Power.Active.Import"


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_meter_values_pass_on_the_compliant_simulator(lab):
    await prepare_tags()
    simulator = await lab.start()
    run, ctx = await lab.run(8)
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
    series = ctx.attachments["meter_series"]
    assert {s["measurand"] for s in series} >= {
        "Voltage",
        "Current.Import",
        "Power.Active.Import",
        "Energy.Active.Import.Register",
    }
    assert {s["context"] for s in series} >= {
        "Transaction.Begin",
        "Sample.Periodic",
        "Transaction.End",
    }
    assert set(series[0]) == {"timestamp", "measurand", "phase", "unit", "value", "context"}
    assert simulator.configuration.get("MeterValueSampleInterval") == "60"  # restored


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_stop_txn_sampled_data_shipped_empty_is_set_by_the_step_and_restored(lab):
    await prepare_tags()
    simulator = await lab.start(defects=("stop_txn_sampled_data_empty",))
    run, ctx = await lab.run(8)
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
    details = {r.key: r.detail for r in ctx.results}
    assert details["8.a#start"].startswith("Meter values at the start (Transaction.Begin): "
                                           "StopTransaction at")  # fmt: skip
    assert "StopTxnSampledData set by the step" in details["8.a#stop"]
    assert "set for the step and restored: " in run.result_text
    assert "StopTxnSampledData" in run.result_text
    assert simulator.configuration.get("StopTxnSampledData") == ""  # restored


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_meter_wrong_interval_fails_8b(lab):
    await prepare_tags()
    await lab.start(defects=("meter_wrong_interval",))
    run, _ = await lab.run(8)
    assert run.outcomes == {"8.a": Outcome.PASSED, "8.b": Outcome.FAILED, "8.c": Outcome.PASSED}
    assert "periodic samples 2.0 s apart; interval 1 s ± 0.5 s" in run.result_text


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_meter_without_voltage_current_power_fails_8c(lab):
    await prepare_tags()
    await lab.start(defects=("meter_without_voltage_current_power",))
    run, _ = await lab.run(8)
    assert run.outcomes == {"8.a": Outcome.PASSED, "8.b": Outcome.PASSED, "8.c": Outcome.FAILED}
    assert "Voltage missing in 2 of 2 samples; Current.Import missing" in run.result_text


class MeteringCharger(ScriptedCharger):
    """Sends periodic MeterValues once a transaction runs, with the given sampled values."""

    def __init__(self, sampled: list[dict], periodic: int = 2) -> None:
        super().__init__()
        self.sampled, self.periodic = sampled, periodic
        self.on(
            "GetConfiguration",
            {
                "configurationKey": [
                    {"key": "MeterValueSampleInterval", "readonly": False, "value": "1"},
                    {
                        "key": "MeterValuesSampledData",
                        "readonly": False,
                        "value": ALL_FOUR,
                    },
                ]
            },
        )

    def answer(self, action, payload):
        result = super().answer(action, payload)
        if action == "StartTransaction":
            for i in range(self.periodic):
                value = {"timestamp": f"2026-01-01T00:00:0{i + 1}Z", "sampledValue": self.sampled}
                self.station_call(
                    "MeterValues",
                    {
                        "connectorId": 1,
                        "transactionId": result["transactionId"],
                        "meterValue": [value],
                    },
                    0.05,
                )
        return result


def run_against(charger):
    params = LabParameters.fast(
        answer_prompts_on_simulator=False, status_window=0.5, transaction_window=0.5
    )
    ctx = StepContext(port=charger, station=STATION, params=params, prompts=charger.operator)
    return ctx, run_step(STEP, ctx, time_limit=20)


async def test_samples_without_units_fail_8c_and_the_registers_prove_start_and_stop():
    sampled = [
        {"value": "230", "measurand": "Voltage"},
        {"value": "16", "measurand": "Current.Import", "unit": "A"},
        {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "1000"},
    ]
    ctx, running = run_against(MeteringCharger(sampled))
    run = await running
    assert run.outcomes == {"8.a": Outcome.PASSED, "8.b": Outcome.PASSED, "8.c": Outcome.FAILED}
    details = {r.key: r.detail for r in ctx.results}
    assert details["8.c#1"] == "2 periodic samples: Voltage unit None (expected V)"
    assert details["8.a#start"] == (
        "The start reading is the meterStart register (0 Wh); the station cannot send "
        "Transaction.Begin values: it does not list StopTxnSampledData (GetConfiguration "
        + details["8.a#start"].split("(GetConfiguration ")[1]
    )
    assert details["8.a#stop"].startswith("The stop reading is the meterStop register (10 Wh)")


async def test_stop_txn_sampled_data_is_set_and_restored_and_a_station_ignoring_it_is_a_finding():
    sampled = [{"value": "230", "measurand": "Voltage", "unit": "V"}]
    charger = MeteringCharger(sampled)
    charger.on("GetConfiguration", lambda p: {"configurationKey": [
        {"key": "MeterValueSampleInterval", "readonly": False, "value": "1"},
        {"key": "MeterValuesSampledData", "readonly": False, "value": ALL_FOUR},
        {"key": "StopTxnSampledData", "readonly": False, "value": ""},
    ]})  # fmt: skip
    charger.on("ChangeConfiguration", {"status": "Accepted"})
    ctx, running = run_against(charger)
    run = await running
    changes = [p for a, p in charger.calls if a == "ChangeConfiguration"]
    assert changes == [
        {"key": "StopTxnSampledData", "value": "Energy.Active.Import.Register"},
        {"key": "StopTxnSampledData", "value": ""},
    ]
    assert run.outcomes["8.a"] == Outcome.PASSED
    finding = next(r for r in ctx.results if r.key == "8.a#stop-sampled")
    assert (finding.level, finding.outcome) == ("finding", Outcome.FAILED)
    stop = next(r for r in ctx.results if r.key == "8.a#stop")
    assert stop.detail.endswith("(StopTxnSampledData set by the step to include the register, "
                                "restored)")  # fmt: skip
    assert ctx.attachments["settings_restored"] == [
        {"key": "StopTxnSampledData", "restored_to": "", "answer": "Accepted"}
    ]


async def test_no_periodic_samples_fails_8b_and_8c():
    ctx, running = run_against(MeteringCharger([], periodic=0))
    run = await running
    assert run.outcomes["8.b"] == Outcome.FAILED
    assert run.outcomes["8.c"] == Outcome.FAILED
    details = {r.key: r.detail for r in ctx.results}
    assert details["8.b#1"].startswith("Only 0 periodic sample(s) arrived")


async def test_no_transaction_leaves_all_not_observed_and_restores_nothing():
    charger = MeteringCharger([])
    charger.on("RemoteStartTransaction", {"status": "Rejected"})
    _, running = run_against(charger)
    run = await running
    assert set(run.outcomes.values()) == {Outcome.NOT_OBSERVED}


async def test_an_interval_that_cannot_be_set_fails_8b_with_the_answer():
    sampled = [{"value": "230", "measurand": "Voltage", "unit": "V"}]
    charger = MeteringCharger(sampled)
    charger.on(
        "GetConfiguration",
        {
            "configurationKey": [
                {"key": "MeterValueSampleInterval", "readonly": True, "value": "60"}
            ]
        },
    )
    charger.on("ChangeConfiguration", {"status": "Rejected"})
    ctx, running = run_against(charger)
    run = await running
    assert run.outcomes["8.b"] == Outcome.FAILED
    assert next(r.detail for r in ctx.results if r.key == "8.b#set") == (
        "The meter interval cannot be set: ChangeConfiguration MeterValueSampleInterval=1 "
        "answered Rejected (it is 60)"
    )
