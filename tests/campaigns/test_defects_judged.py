"""The steps that must judge what real chargers do, each on the simulator with its defect switch
(simulator/defects.py) through the real endpoint: a connector still Finishing after a stop, a
station that ends transactions by itself, a live MeterValues ahead of the offline queue."""

import asyncio

import pytest

from campaigns.engine.prompts import Answer
from campaigns.engine.results import Outcome
from campaigns.engine.verdict import Proposed
from tests.campaigns.charging_lab import prepare_tags

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


class Operator:
    """Does each local action on the simulator, except the stops at the station (7.b, 7.c):
    those it cannot do, and it answers only once the station has ended the transaction by
    itself (the false pass of issue 13)."""

    def __init__(self, simulator):
        self.simulator = simulator

    async def ask(self, spec):
        local_stop = "Stop the charging" in spec.text or "while it charges" in spec.text
        if local_stop:
            for _ in range(100):
                if self.simulator.connectors[1].transaction is None:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(2)  # its StopTransaction on its way through CertLab to the step
            return Answer("Cannot do")
        if spec.simulator is not None:
            action = getattr(self.simulator, spec.simulator.name)
            await action(**spec.simulator.kwargs)
            return Answer("Done")
        return Answer("Cannot do")


async def test_step_7_waits_for_available_on_a_station_that_rejects_while_finishing(lab):
    await prepare_tags()
    simulator = await lab.start(defects=("finishing_rejects_remote_start",))
    run, ctx = await lab.run(7)
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
    starts = [f for f in ctx.frames("RemoteStartTransaction", direction="out")]
    assert len(starts) == 3
    idle = simulator.connectors[1]
    assert (idle.transaction, idle.status) == (None, "Available")


async def test_step_7_never_passes_a_local_stop_the_station_made_by_itself(lab):
    await prepare_tags()
    simulator = await lab.start(defects=("stops_transactions_by_itself",))
    simulator.timing.auto_stop_after = 2.0
    run, ctx = await lab.run(7, prompts=Operator(simulator), answer_prompts_on_simulator=False)
    assert run.outcomes["7.b"] == Outcome.NOT_OBSERVED, [r.detail for r in ctx.results]
    assert run.outcomes["7.c"] == Outcome.NOT_OBSERVED
    assert run.proposed != Proposed.OK
    refused = next(r for r in ctx.results if r.key == "7.b#not-done")
    assert "While it was open the station sent " in refused.detail
    assert "StopTransaction at " in refused.detail and "reason Local" in refused.detail
    assert simulator.connectors[1].transaction is None


async def test_step_14_passes_when_a_live_sample_goes_ahead_of_the_queue(lab):
    await prepare_tags()
    simulator = await lab.start(defects=("live_meter_values_first",))
    run, ctx = await lab.run(14)
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
    replay = ctx.attachments["offline_replay"]
    assert replay[-1]["action"] == "StopTransaction"
    assert simulator.connectors[1].status == "Available"
