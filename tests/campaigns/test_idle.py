"""Each step starts from an idle station and leaves it idle (campaigns/engine/idle.py): a busy
station is brought back or the step is "precondition not met"; whatever a step started is
stopped and whatever setting it changed is put back, whatever its verdict."""

from types import SimpleNamespace

from campaigns.engine import charging
from campaigns.engine.context import StepContext
from campaigns.engine.idle import OpenTransaction, StationState
from campaigns.engine.params import LabParameters
from campaigns.engine.prompts import Answer
from campaigns.engine.results import Outcome
from campaigns.engine.runner import run_step
from campaigns.engine.verdict import Proposed
from tests.campaigns.charging_lab import ScriptedCharger
from tests.campaigns.conftest import STATION


class BusyCharger(ScriptedCharger):
    """A charger CertLab last heard charging transaction 41 on connector 1 (``stuck``: its
    cable stays in whatever happens) and that answers configuration calls."""

    def __init__(self, *, stuck=False, answer=None):
        super().__init__()
        self.connectors = {1: "Charging"}
        self.transactions = [OpenTransaction(41, 1, "CERTLAB-OK")]
        self.stuck = stuck
        self.config = {"MeterValueSampleInterval": "60"}
        self.on("RemoteStopTransaction", self._stop_remotely)
        self.on("GetConfiguration", self._get)
        self.on("ChangeConfiguration", self._change)
        self.operator.ask = self.ask
        self.offer_answer = answer or Answer("Done")
        self.asked: list[str] = []

    async def station_state(self):
        return StationState(dict(self.connectors), list(self.transactions))

    def _stop_remotely(self, payload):
        self.transactions, self.running = [], None
        self.connectors[1] = "Preparing" if self.stuck else "Available"
        self.station_call(
            "StopTransaction",
            {
                "transactionId": payload["transactionId"],
                "meterStop": 1,
                "reason": "Remote",
                "timestamp": "2026-01-01T00:00:00Z",
            },
            0.01,
        )
        return {"status": "Accepted"}

    def _get(self, payload):
        return {"configurationKey": [{"key": k, "readonly": False, "value": v}
                                     for k, v in self.config.items()]}  # fmt: skip

    def _change(self, payload):
        self.config[payload["key"]] = payload["value"]
        return {"status": "Accepted"}

    async def ask(self, prompt):
        self.asked.append(prompt.text)
        if self.offer_answer.done and not self.stuck:
            self.connectors[1] = "Available"
        return self.offer_answer


def _step(run, criteria=("6.a", "6.b")):
    return SimpleNamespace(__name__="scripted_step", CRITERIA=criteria, NUMBER=6, run=run)


def _ctx(charger):
    params = LabParameters.fast(
        answer_prompts_on_simulator=False, status_window=0.5, transaction_window=0.5
    )
    return StepContext(port=charger, station=STATION, params=params, prompts=charger)


async def _passes(ctx):
    ctx.check("6.a", True, "fine")
    ctx.check("6.b", True, "fine")


async def test_a_transaction_left_running_is_stopped_before_the_step():
    charger = BusyCharger()
    run = await run_step(_step(_passes), _ctx(charger), time_limit=10)
    assert run.proposed == Proposed.OK
    assert ("RemoteStopTransaction", {"transactionId": 41}) in charger.calls
    assert charger.asked == []


async def test_a_station_that_stays_busy_is_precondition_not_met_after_the_offer():
    charger = BusyCharger(stuck=True, answer=Answer("Cannot do"))
    ran = []

    async def run(ctx):
        ran.append(True)

    ctx = _ctx(charger)
    result = await run_step(_step(run), ctx, time_limit=10)
    assert ran == []
    assert result.outcomes == {"6.a": Outcome.NOT_OBSERVED, "6.b": Outcome.NOT_OBSERVED}
    assert result.result_text == "Incomplete: Precondition not met: connector 1 is Preparing."
    assert charger.asked[0].startswith(
        "Before this step the station must be idle, but connector 1 is Preparing."
    )


async def test_a_station_brought_back_by_the_operator_runs_the_step():
    charger = BusyCharger()
    charger.transactions = []
    charger.connectors = {1: "Finishing"}
    result = await run_step(_step(_passes), _ctx(charger), time_limit=10)
    assert result.proposed == Proposed.OK
    assert len(charger.asked) == 1


async def test_whatever_the_verdict_a_transaction_the_step_caused_is_stopped():
    charger = BusyCharger()
    charger.transactions, charger.connectors = [], {1: "Available"}

    async def starts_and_fails(ctx):
        await charging.remote_start(ctx, 1, "CERTLAB-OK")
        ctx.check("6.a", False, "something wrong")

    result = await run_step(_step(starts_and_fails), _ctx(charger), time_limit=10)
    assert result.proposed == Proposed.FAILED
    assert ("RemoteStopTransaction", {"transactionId": 41}) in charger.calls
    assert charger.running is None


async def test_a_crashing_step_still_leaves_the_station_idle():
    charger = BusyCharger()
    charger.transactions, charger.connectors = [], {1: "Available"}

    async def starts_and_crashes(ctx):
        await charging.remote_start(ctx, 1, "CERTLAB-OK")
        raise RuntimeError("bug")

    await run_step(_step(starts_and_crashes), _ctx(charger), time_limit=10)
    assert ("RemoteStopTransaction", {"transactionId": 41}) in charger.calls


async def test_a_setting_the_step_changed_is_put_back():
    charger = BusyCharger()
    charger.transactions, charger.connectors = [], {1: "Available"}

    async def changes(ctx):
        await charging.change_key(ctx, "MeterValueSampleInterval", "5")
        ctx.check("6.a", True, "fine")

    await run_step(_step(changes), _ctx(charger), time_limit=10)
    assert charger.config["MeterValueSampleInterval"] == "60"
    changes_made = [p for a, p in charger.calls if a == "ChangeConfiguration"]
    assert changes_made == [
        {"key": "MeterValueSampleInterval", "value": "5"},
        {"key": "MeterValueSampleInterval", "value": "60"},
    ]


async def test_a_setting_the_step_restored_itself_is_left_alone():
    charger = BusyCharger()
    charger.transactions, charger.connectors = [], {1: "Available"}

    async def changes_and_restores(ctx):
        before, _ = await charging.read_key(ctx, "MeterValueSampleInterval")
        await charging.change_key(ctx, "MeterValueSampleInterval", "5")
        await charging.change_key(ctx, "MeterValueSampleInterval", before)

    await run_step(_step(changes_and_restores), _ctx(charger), time_limit=10)
    changes_made = [p["value"] for a, p in charger.calls if a == "ChangeConfiguration"]
    assert changes_made == ["5", "60"]


async def test_an_aborted_step_still_stops_its_transaction_and_restores_settings_unasked():
    import asyncio

    charger = BusyCharger()
    charger.transactions, charger.connectors = [], {1: "Available"}
    started = asyncio.Event()

    async def starts_then_waits(ctx):
        await charging.change_key(ctx, "MeterValueSampleInterval", "5")
        await charging.remote_start(ctx, 1, "CERTLAB-OK")
        started.set()
        await asyncio.Event().wait()  # until QA press Abort

    running = asyncio.create_task(run_step(_step(starts_then_waits), _ctx(charger),
                                           time_limit=60))  # fmt: skip
    await asyncio.wait_for(started.wait(), 30)
    asked_before = list(charger.asked)
    running.cancel()  # what Abort does to the attempt's coroutine
    result = await asyncio.wait_for(running, 60)
    assert result.ending == "aborted"
    assert ("RemoteStopTransaction", {"transactionId": 41}) in charger.calls
    assert charger.config["MeterValueSampleInterval"] == "60"
    assert charger.asked == asked_before  # an abort asks nobody to do anything


async def test_a_start_left_waiting_for_a_cable_is_given_its_connection_timeout():
    """A step that ends (here: out of time) with a remote start Accepted and no cable leaves the
    connector Preparing with no transaction: the clean-up waits for the station to give up."""
    charger = BusyCharger()
    charger.transactions, charger.connectors = [], {1: "Available"}
    charger.config["ConnectionTimeOut"] = "1"

    def start_without_cable(payload):
        charger.status(1, "Preparing", 0.01)
        charger.status(1, "Available", 1.0)  # its ConnectionTimeOut passes
        return {"status": "Accepted"}

    charger.on("RemoteStartTransaction", start_without_cable)

    async def starts_and_hangs(ctx):
        await ctx.call("RemoteStartTransaction", {"connectorId": 1, "idTag": "CERTLAB-OK"})
        await ctx.collect("StatusNotification", during=0.2)
        raise TimeoutError  # as the runner's time limit would

    ctx = _ctx(charger)
    await run_step(_step(starts_and_hangs), ctx, time_limit=10)
    assert ("GetConfiguration", {"key": ["ConnectionTimeOut"]}) in charger.calls
    assert "waiting up to 1 s (its ConnectionTimeOut) for it to become Available" in " ".join(
        ctx.notes
    )
    assert charging.last_status(ctx, 1) == "Available"
    assert "Clean-up: connector 1 is still Preparing." not in ctx.notes


async def test_a_setting_whose_value_was_never_reported_is_said_to_stay_changed():
    charger = BusyCharger()
    charger.transactions, charger.connectors = [], {1: "Available"}

    async def changes(ctx):
        await charging.change_key(ctx, "HeartbeatInterval", "5")  # not in the station's list
        ctx.check("6.a", True, "fine")

    ctx = _ctx(charger)
    await run_step(_step(changes), ctx, time_limit=10)
    assert (
        "Clean-up: HeartbeatInterval cannot be put back: the station did not report its value "
        "before the step." in ctx.notes
    )
