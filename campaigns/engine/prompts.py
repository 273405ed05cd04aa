"""The operator: what a prompt asks (its text, choices, timed actions, the local action behind
it), the answer it gets, and the simulator doing that action itself (its DataTransfer remote
control). What an answer means for the criteria is campaigns/engine/blocks.py's."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

SIMULATOR_VENDOR_ID = "CertLab.Simulator"  # the simulator's DataTransfer remote control


@dataclass(frozen=True)
class SimulatorAction:
    """A local action the built-in simulator can perform itself ("plug_in", connector_id=1)."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, **kwargs: Any) -> SimulatorAction:
        return cls(name, kwargs)

    def data_transfer(self) -> dict[str, str]:
        """The DataTransfer.req payload that has the simulator do this (its remote control)."""
        return {"vendorId": SIMULATOR_VENDOR_ID, "messageId": self.name,
                "data": json.dumps(self.kwargs)}  # fmt: skip

    @property
    def answer_value(self) -> str:
        """What an operator would have typed into the prompt: the tag used, the error made."""
        return str(self.kwargs.get("id_tag", self.kwargs.get("error_code", "")))


@dataclass(frozen=True)
class TimedAction:
    """One action of a prompt with several, in order, each with its own time: "Cut the
    network" (30 s), "Leave it offline" (60 s), "Stop the transaction" (60 s)…"""

    text: str
    seconds: float


@dataclass(frozen=True)
class PromptSpec:
    text: str
    choices: tuple[str, ...]
    input_label: str = ""
    timeout: float = 300
    simulator: SimulatorAction | None = None  # set on the built-in simulator only
    # The manual part itself ("present_tag", connector_id=1, id_tag=…), on every station: a
    # script doing a real charger's local actions reads it from the prompt (the API).
    action: SimulatorAction | None = None
    steps: tuple[TimedAction, ...] = ()  # timed actions, each shown with its own countdown


@dataclass(frozen=True)
class Answer:
    """The operator's answer. ``ctx.prompt`` adds the prompt's text and where in the frame
    history it was shown (``asked``) and answered (``answered``): frames before ``asked`` were
    not caused by the action; see campaigns/engine/blocks.py for what a "not done" means."""

    choice: str | None
    value: str = ""
    timed_out: bool = False
    text: str = ""
    asked: int = 0
    answered: int = 0
    timeout: float = 0
    not_applicable: str = ""  # not asked: why the station's declaration rules the action out

    @property
    def done(self) -> bool:
        return self.choice == "Done"

    @property
    def why_not(self) -> str:
        """Why the action did not happen, for a "not observed" result ('' when it did)."""
        if self.done:
            return ""
        asked = f"“{self.text.rstrip('.')}”" if self.text else "the prompt"
        if self.not_applicable:
            return f"{asked} was not asked: not applicable, {self.not_applicable}"
        if self.timed_out or self.choice is None:
            wait = f" after {self.timeout:.0f} s" if self.timeout else ""
            return f"{asked} expired{wait} with no answer"
        return f"the operator answered “{self.choice}” to {asked}"


class PromptChannel(Protocol):
    async def ask(self, prompt: PromptSpec) -> Answer: ...
