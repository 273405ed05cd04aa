"""The 16 test functions of the catalogue, one module each, found by the catalogue's step name.

A step module has ``NUMBER``, ``CRITERIA`` (the ids of its acceptance criteria in the catalogue)
and ``async def run(ctx)``; it talks to its context and nothing else.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from campaigns.catalogue import load_catalogue


def step_module(number: int) -> ModuleType:
    function = load_catalogue().function(number)
    module = import_module(f"campaigns.steps.{function.step}")
    if number != module.NUMBER or tuple(module.CRITERIA) != function.criterion_ids:
        raise LookupError(f"step {function.step} does not match catalogue function {number}")
    return module


def all_steps() -> dict[int, ModuleType]:
    return {f.number: step_module(f.number) for f in load_catalogue().functions}
