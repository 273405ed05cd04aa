"""The result text of a step cut short says how it ended once."""

import asyncio
from types import SimpleNamespace

from campaigns.engine.runner import Ending, run_step
from campaigns.engine.verdict import Proposed


async def _aborted(ctx) -> None:
    raise asyncio.CancelledError  # what QA's Abort does to the running step


async def test_an_aborted_step_says_aborted_by_the_operator_once(scripted, make_ctx):
    step = SimpleNamespace(__name__="aborted_step", CRITERIA=("15.a", "15.b"), run=_aborted)
    run = await run_step(step, make_ctx(), time_limit=30)
    assert run.ending == Ending.ABORTED
    assert run.proposed == Proposed.INCOMPLETE
    assert run.result_text == "Aborted by the operator. Incomplete: not observed."
    assert run.result_text.count("Aborted by the operator") == 1
