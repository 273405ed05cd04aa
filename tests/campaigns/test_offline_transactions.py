"""Step 14 · past (offline) transactions: on the simulator (compliant and
offline_transactions_lost) and against a scripted charger whose outages are scripted."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.engine.context import StepContext
from campaigns.engine.params import LabParameters
from campaigns.engine.prompts import Answer
from campaigns.engine.results import Outcome
from campaigns.engine.runner import Ending, run_step
from campaigns.engine.verdict import Proposed
from campaigns.steps import step_module
from tests.campaigns.charging_lab import ScriptedCharger, prepare_tags
from tests.campaigns.conftest import STATION

STEP = step_module(14)


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_offline_transactions_pass_on_the_compliant_simulator(lab):
    await prepare_tags()
    simulator = await lab.start()
    run, ctx = await lab.run(14)
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
    replay = ctx.attachments["offline_replay"]
    assert [r["action"] for r in replay][-1] == "StopTransaction"
    assert sum(r["sampled_offline"] for r in replay) >= 1
    assert len({r["transactionId"] for r in replay}) == 1  # all for the one transaction
    assert simulator.configuration.get("MeterValueSampleInterval") == "60"  # restored
    assert simulator.connectors[1].status == "Available"


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_offline_transactions_lost_fails_14a_saying_what_is_missing(lab):
    await prepare_tags()
    await lab.start(defects=("offline_transactions_lost",))
    run, ctx = await lab.run(14)
    assert run.outcomes == {"14.a": Outcome.FAILED}
    details = {r.key: r.detail for r in ctx.results}
    assert "the samples of the outage are lost" in details["14.a#meter-values"]
    assert details["14.a#stop"].startswith("No StopTransaction for transaction ")


def stamp(seconds_ago: float) -> str:
    when = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class OfflineCharger(ScriptedCharger):
    """Goes offline when asked to cut the network and, once back, replays ``queued``
    (a function of the running transaction id giving (action, payload) pairs)."""

    def __init__(self, queued=None, *, drops=True, comes_back=True) -> None:
        super().__init__()
        self.queued, self.drops, self.comes_back = queued, drops, comes_back
        self.on(
            "GetConfiguration",
            {
                "configurationKey": [
                    {"key": "MeterValueSampleInterval", "readonly": False, "value": "1"}
                ]
            },
        )
        self.operator.ask = self.ask

    async def ask(self, prompt):
        if "Cut the station's network" in prompt.text and self.drops:
            tx = self.running
            self.connected = False
            self.loop_later(1.2, self._back, tx)
        return Answer("Done")

    def loop_later(self, delay, fn, *args):
        import asyncio

        asyncio.get_running_loop().call_later(delay, fn, *args)

    def _back(self, tx):
        if not self.comes_back:
            return
        self.connected = True
        self.connection_id += 1
        for i, (action, payload) in enumerate(self.queued(tx) if self.queued else []):
            self.station_call(action, payload, 0.01 * (i + 1))
            if action == "StopTransaction":
                self.running = None


def meter(tx, seconds_ago):
    return (
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [{"timestamp": stamp(seconds_ago), "sampledValue": [{"value": "5"}]}],
        },
    )


def stop(tx, seconds_ago, reason="Local"):
    return (
        "StopTransaction",
        {"transactionId": tx, "meterStop": 9, "reason": reason, "timestamp": stamp(seconds_ago)},
    )


def run_against(charger):
    params = LabParameters.fast(
        answer_prompts_on_simulator=False,
        status_window=1,
        transaction_window=0.5,
        meter_interval=0.2,
        reconnect_timeout=2,
    )
    ctx = StepContext(port=charger, station=STATION, params=params, prompts=charger.operator)
    return ctx, run_step(STEP, ctx, time_limit=30)


async def test_a_faithful_replay_passes():
    ctx, running = run_against(OfflineCharger(lambda tx: [meter(tx, 0.9), stop(tx, 0.7)]))
    run = await running
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
    assert run.result_text.startswith("Ok, after reconnect: 1 MeterValues and the StopTransaction")


async def test_a_stop_with_another_transaction_id_fails_the_mapping():
    ctx, running = run_against(OfflineCharger(lambda tx: [meter(tx, 0.9), stop(-1, 0.7)]))
    run = await running
    assert run.outcomes == {"14.a": Outcome.FAILED}
    details = {r.key: r.detail for r in ctx.results}
    assert details["14.a#stop"] == (
        "No StopTransaction for transaction 41 arrived after the reconnect "
        "(StopTransaction for -1 instead)"
    )
    assert (
        "not mapped to transaction 41: StopTransaction with transactionId -1"
        in (details["14.a#order"])
    )


async def test_a_replay_out_of_time_order_fails():
    ctx, running = run_against(
        OfflineCharger(lambda tx: [meter(tx, 0.8), meter(tx, 1.0), stop(tx, 0.7)])
    )
    run = await running
    order = next(r for r in ctx.results if r.key == "14.a#order")
    assert order.outcome == Outcome.FAILED
    assert "out of time order: MeterValues stamped" in order.detail
    assert run.proposed == Proposed.FAILED


async def test_a_station_that_never_drops_leaves_14a_not_observed():
    charger = OfflineCharger(drops=False)
    _, running = run_against(charger)
    run = await running
    assert run.outcomes == {"14.a": Outcome.NOT_OBSERVED}
    assert "connection never dropped" in run.result_text
    assert ("RemoteStopTransaction", {"transactionId": 41}) in charger.calls  # clean-up


async def test_a_station_that_stays_connected_for_the_second_outage_is_not_called_lost():
    # The first outage queues a sample but no stop; the power cycle asked for next is answered
    # Done, yet the connection never drops: the stop is not observed, never "did not come back".
    charger = OfflineCharger(lambda tx: [meter(tx, 0.9)])
    ctx, running = run_against(charger)
    run = await running
    results = {r.key: r for r in ctx.results}
    assert "14.a#outage" not in results, results["14.a#outage"].detail
    assert results["14.a#stop"].outcome == Outcome.NOT_OBSERVED
    assert "never dropped when it was asked off the network again" in results["14.a#stop"].detail
    assert run.proposed != Proposed.FAILED, run.result_text


async def test_a_station_that_does_not_come_back_ends_the_step_offline():
    _, running = run_against(OfflineCharger(comes_back=False))
    run = await running
    assert run.ending == Ending.STATION_OFFLINE
    assert run.outcomes == {"14.a": Outcome.NOT_OBSERVED}
    assert run.result_text.startswith(
        "The station went offline during the step (SCRIPTED-1 has been disconnected for 2 s)"
    )


async def test_a_station_back_with_nothing_to_send_is_back_not_lost():
    # Nothing queued, no status changed: the station is silent on its new connection until its
    # next Heartbeat. It came back; what it did not replay is the finding, not the outage.
    class SilentCharger(OfflineCharger):
        async def ask(self, prompt):  # the second outage is not what this test is about
            return await super().ask(prompt) if "Cut" in prompt.text else Answer("Cannot do")

    charger = SilentCharger(lambda tx: [])
    ctx, running = run_against(charger)
    await running
    details = {r.key: r.detail for r in ctx.results}
    assert "14.a#outage" not in details, details
    assert "No StopTransaction for transaction 41 arrived after" in details["14.a#stop"]
    assert ("GetConfiguration", {"key": ["HeartbeatInterval"]}) in charger.calls


async def test_the_outage_prompt_gives_each_action_its_own_time():
    charger = OfflineCharger(lambda tx: [meter(tx, 0.9), stop(tx, 0.7)])
    asked = []
    answer = charger.ask

    async def ask(prompt):
        asked.append(prompt)
        return await answer(prompt)

    charger.operator.ask = ask
    ctx, running = run_against(charger)
    await running
    outage = asked[0]
    assert [step.seconds for step in outage.steps] == [30, ctx.params.offline_seconds, 30, 30]
    assert outage.steps[0].text.startswith("Take it off the network")
    assert "present the tag CERTLAB-OK again" in outage.steps[2].text
    assert outage.steps[3].text == "Restore the network, then answer Done."
    # the operator has the actions' time on top of the prompt's own
    assert outage.timeout == ctx.params.prompt_timeout + 90 + ctx.params.offline_seconds


class StatusesBack(OfflineCharger):
    """Replays its queue, then reports ``back`` (the connector's statuses once reconnected)."""

    def __init__(self, back) -> None:
        super().__init__(lambda tx: [meter(tx, 0.9), stop(tx, 0.7)])
        self.back = back

    def _back(self, tx):
        super()._back(tx)
        for i, status in enumerate(self.back):
            self.status(1, status, 0.1 + 0.01 * i)


def _status_finding(ctx):
    return next(r for r in ctx.results if r.key == "14.a#status")


async def test_the_statuses_across_the_outage_are_judged_by_the_state_machine():
    ctx, running = run_against(StatusesBack(["Finishing", "Available"]))
    run = await running
    assert run.proposed == Proposed.OK, [r.detail for r in ctx.results]
    finding = _status_finding(ctx)
    assert (finding.outcome, finding.reference) == (Outcome.PASSED, "OCPP 1.6 §4.9")
    assert finding.detail == (
        "StatusNotifications of transaction 41 across the outage: Connector 1: Preparing → "
        "Charging → Finishing → Available; every transition allowed by OCPP 1.6 (section 4.9)"
    )


async def test_a_forbidden_status_after_the_outage_is_a_failed_finding_not_a_failed_14a():
    ctx, running = run_against(StatusesBack(["Reserved", "Available"]))
    run = await running
    finding = _status_finding(ctx)
    assert finding.outcome == Outcome.FAILED
    assert "Charging → Reserved (C7, an empty cell)" in finding.detail
    assert run.outcomes == {"14.a": Outcome.PASSED}  # the lab's criterion: the queue
    assert "1 finding beyond the criteria for QA: OCPP 1.6 §4.9" in run.result_text


async def test_an_unreported_finishing_after_the_outage_is_flagged_for_qa():
    ctx, running = run_against(StatusesBack(["Preparing", "Available"]))
    await running
    assert _status_finding(ctx).outcome == Outcome.PASSED
    flagged = next(r for r in ctx.results if r.key == "14.a#status-unexpected")
    assert flagged.outcome == Outcome.FLAGGED
    assert "Charging → Preparing (C2, an empty cell)" in flagged.detail


async def test_a_stop_the_station_makes_live_after_the_reconnect_is_not_taken_as_queued():
    """The station ends the transaction by itself just after it is back (reason Local, stamped
    after the outage): nothing says it was stopped offline, so 14.a's stop is not observed."""
    charger = OfflineCharger(lambda tx: [meter(tx, 0.9)])
    original = charger._back

    def back_then_stop(tx):
        original(tx)
        charger.station_call("StopTransaction", {"transactionId": tx, "meterStop": 9,
                                                 "reason": "Local", "timestamp": stamp(-0.2)},
                             0.3)  # fmt: skip
        charger.running = None

    charger._back = back_then_stop
    ctx, running = run_against(charger)
    run = await running
    assert run.outcomes == {"14.a": Outcome.NOT_OBSERVED}, [r.detail for r in ctx.results]
    stop_check = next(r for r in ctx.results if r.key == "14.a#stop")
    assert stop_check.detail.startswith("Unexpected, QA to judge: StopTransaction 41 (reason")
    assert "ended the transaction after the reconnect, not while the station was offline" in (
        stop_check.detail
    )


async def test_a_transaction_ended_before_the_outage_leaves_nothing_to_judge():
    back = ("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"})
    charger = OfflineCharger(lambda tx: [back])  # nothing queued: only its status once back
    original_ask = charger.ask

    async def stop_first(prompt):
        if "Cut the station's network" in prompt.text and charger.running is not None:
            charger.stop("Local")  # by itself, before the network is cut
            await asyncio.sleep(0.3)
        return await original_ask(prompt)

    charger.operator.ask = stop_first
    ctx, running = run_against(charger)
    run = await running
    assert run.outcomes == {"14.a": Outcome.NOT_OBSERVED}, [r.detail for r in ctx.results]
    outage = next(r for r in ctx.results if r.key == "14.a#outage")
    assert "ended before the network was cut, so nothing of it could be queued" in outage.detail
    assert not [r for r in ctx.results if r.outcome == Outcome.FAILED]
