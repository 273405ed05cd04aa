"""Sampled, transaction and clock-aligned meter values."""

from __future__ import annotations

import itertools

import pytest

from simulator import defects as d

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(30)]

ALL = "Energy.Active.Import.Register,Voltage,Current.Import,Power.Active.Import"
UNITS = {
    "Energy.Active.Import.Register": "Wh",
    "Voltage": "V",
    "Current.Import": "A",
    "Power.Active.Import": "W",
}


def periodic(payload):
    return payload["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Periodic"


async def charging(make_sim, cs, **kwargs):
    sim = await make_sim(**kwargs)
    await sim.plug_in(1)
    await sim.present_tag(1, "TAG1")
    await cs.wait_for("StartTransaction")
    return sim


async def test_sampled_values_every_interval_with_units(cs, make_sim):
    await charging(make_sim, cs, configuration={"MeterValueSampleInterval": "1"})
    frames = await cs.wait_for("MeterValues", periodic, count=3, timeout=5)
    gaps = [b.at - a.at for a, b in itertools.pairwise(frames)]
    assert all(0.8 < gap < 1.4 for gap in gaps), gaps
    payload = frames[-1].payload
    assert payload["transactionId"] == 100 and payload["connectorId"] == 1
    samples = payload["meterValue"][0]["sampledValue"]
    assert {s["measurand"]: s["unit"] for s in samples} == UNITS
    energies = [int(f.payload["meterValue"][0]["sampledValue"][0]["value"]) for f in frames]
    assert energies == sorted(energies) and energies[-1] > energies[0]
    current = next(s for s in samples if s["measurand"] == "Current.Import")
    assert float(current["value"]) > 10  # charging draws current


async def test_transaction_begin_value_after_start(cs, make_sim):
    await charging(make_sim, cs)
    frames = await cs.wait_for("MeterValues")
    assert frames[0].payload["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.Begin"


async def test_per_phase_values_when_configured(cs, make_sim):
    await charging(
        make_sim,
        cs,
        configuration={"MeterValueSampleInterval": "1", "CertLab.MeterValuesPerPhase": "true"},
    )
    frame = (await cs.wait_for("MeterValues", periodic))[0]
    samples = frame.payload["meterValue"][0]["sampledValue"]
    phases = {(s["measurand"], s.get("phase")) for s in samples}
    assert {("Voltage", "L1-N"), ("Voltage", "L3-N"), ("Current.Import", "L2")} <= phases


async def test_wrong_interval_defect(cs, make_sim):
    await charging(
        make_sim,
        cs,
        defects={d.METER_WRONG_INTERVAL},
        configuration={"MeterValueSampleInterval": "1"},
    )
    frames = await cs.wait_for("MeterValues", periodic, count=2, timeout=6)
    assert frames[1].at - frames[0].at > 1.7


async def test_without_voltage_current_power_defect(cs, make_sim):
    await charging(
        make_sim,
        cs,
        defects={d.METER_WITHOUT_VOLTAGE_CURRENT_POWER},
        configuration={"MeterValueSampleInterval": "1"},
    )
    frame = (await cs.wait_for("MeterValues", periodic))[0]
    measurands = {s["measurand"] for s in frame.payload["meterValue"][0]["sampledValue"]}
    assert measurands == {"Energy.Active.Import.Register"}


async def test_clock_aligned_values(cs, make_sim):
    await make_sim(configuration={"ClockAlignedDataInterval": "1"})

    def clock(payload):
        return payload["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Clock"

    frames = await cs.wait_for("MeterValues", clock, count=4, timeout=4)
    assert {f.payload["connectorId"] for f in frames} == {1, 2}
    stamp = frames[0].payload["meterValue"][0]["timestamp"]
    assert stamp[17:19].isdigit() and int(stamp[20:23]) < 200  # just after a whole second
