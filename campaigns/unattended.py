"""Running a campaign's steps one after the other without the pages: start each attempt, answer
its prompts from a table of answers (or leave them to a person or a script), wait for its end,
woken by the attempt's events. ``manage.py run_campaign`` is its command-line face.

The same service calls as the pages make (campaigns.services), so the rules are theirs.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError

from accounts.models import User
from campaigns import selectors, services, watch
from campaigns.engine.params import LabParameters
from campaigns.execution import time_limit
from campaigns.models import Attempt, Campaign, PlanItem, Prompt

SIMULATE = "simulate"  # an answer that has the built-in simulator do the manual part
QUEUE_PATIENCE = 120.0  # s an attempt may wait for a worker before the run gives up on it
WAIT_SLICE = 30.0  # s of one wait; between slices the run checks its own limits


@dataclass(frozen=True)
class PlannedAnswer:
    choice: str
    value: str | None = None  # None: what the prompt's details name (the tag, the error)


def _answer_of(raw: Any, where: str) -> PlannedAnswer:
    if isinstance(raw, str):
        return PlannedAnswer(raw)
    if isinstance(raw, dict) and isinstance(raw.get("choice"), str):
        value = raw.get("value")
        return PlannedAnswer(raw["choice"], None if value is None else str(value))
    raise ValueError(f'{where}: an answer is a choice ("Done") or {{choice, value}}.')


def load_answers(path: Path | None, flags: list[str]) -> dict[str, PlannedAnswer]:
    """Prompt kinds mapped to answers, from a YAML or JSON file and ``kind=choice`` flags (the
    flags win); the kind ``*`` answers any other prompt."""
    answers: dict[str, PlannedAnswer] = {}
    if path is not None:
        text = path.read_text()
        try:
            import yaml

            data = yaml.safe_load(text)
        except ImportError:  # pragma: no cover - PyYAML is a dependency; JSON still works
            data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a mapping of prompt kinds to answers.")
        for kind, raw in data.items():
            answers[str(kind)] = _answer_of(raw, f"{path}: {kind}")
    for flag in flags:
        kind, sep, choice = flag.partition("=")
        if not sep or not kind or not choice:
            raise ValueError(f"--answer {flag!r}: write it as kind=choice, e.g. plug_in=Done.")
        answers[kind] = PlannedAnswer(choice)
    return answers


def parse_steps(text: str) -> list[int]:
    """``1,3,5-8`` as [1, 3, 5, 6, 7, 8]."""
    numbers: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise ValueError(f"--steps {text!r}: numbers and ranges, e.g. 1,3,5-8.")
        low, high = int(match[1]), int(match[2] or match[1])
        numbers.extend(n for n in range(low, high + 1) if n not in numbers)
    return numbers


def steps_to_run(*, campaign: Campaign, numbers: list[int] | None = None) -> list[PlanItem]:
    """The chosen steps in the order given, or else every planned step without a final verdict
    in catalogue order (what "run all remaining steps" runs)."""
    if not numbers:
        return selectors.undecided_steps(campaign=campaign)
    items = {i.function.number: i for i in campaign.plan.select_related("function", "campaign")}
    unknown = [n for n in numbers if n not in items]
    if unknown:
        raise ValueError(f"This campaign has no step {', '.join(map(str, unknown))}.")
    return [items[n] for n in numbers]


@dataclass
class StepOutcome:
    number: int
    title: str
    attempt: Attempt | None
    skipped: str = ""  # why the step did not run
    not_planned: str = ""  # planned not applicable / not supported by the lab: why
    criteria: list[dict] = field(default_factory=list)

    @property
    def proposed_ok(self) -> bool:
        return self.attempt is not None and self.attempt.proposed_verdict == "ok"


def criteria_of(attempt: Attempt) -> list[dict]:
    details: dict[str, list[str]] = {}
    for check in attempt.checks.select_related("criterion"):
        details.setdefault(check.criterion.key, []).append(f"{check.outcome}: {check.detail}")
    return [
        {
            "key": r.criterion.key,
            "text": r.criterion.text,
            "outcome": r.outcome,
            "details": details.get(r.criterion.key, []),
        }
        for r in attempt.criterion_results.select_related("criterion")
    ]


class Run:
    """One run of some of a campaign's steps; ``say`` prints a line for whoever watches."""

    def __init__(
        self,
        *,
        campaign: Campaign,
        user: User,
        answers: dict[str, PlannedAnswer],
        say: Callable[[str], None],
        record_verdicts: bool = False,
        prompt_url: Callable[[Prompt], str] = lambda prompt: "",
    ) -> None:
        self.campaign = campaign
        self.user = user
        self.answers = answers
        self.say = say
        self.record_verdicts = record_verdicts
        self.prompt_url = prompt_url
        self.outcomes: list[StepOutcome] = []
        self.current: Attempt | None = None

    async def steps(self, items: list[PlanItem], on_outcome: Callable[[StepOutcome], None]):
        for item in items:
            outcome = await self.step(item)
            self.outcomes.append(outcome)
            on_outcome(outcome)

    async def step(self, item: PlanItem) -> StepOutcome:
        number, title = item.function.number, item.function.title
        try:
            attempt = await sync_to_async(services.attempt_start)(plan_item=item, user=self.user)
        except ValidationError as error:
            return StepOutcome(number, title, None, skipped=" ".join(error.messages))
        self.current = attempt
        self.say(f"step {number} ({title}): {attempt.ordinal} attempt queued")
        attempt = await self._follow(attempt)
        self.current = None
        if self.record_verdicts and attempt.proposed_verdict in ("ok", "failed"):
            await sync_to_async(services.attempt_record_verdict)(
                attempt=attempt,
                user=self.user,
                verdict=attempt.proposed_verdict,
                result_text=attempt.proposed_text or attempt.get_proposed_verdict_display(),
            )
        criteria = await sync_to_async(criteria_of)(attempt)
        return StepOutcome(number, title, attempt, criteria=criteria)

    async def _follow(self, attempt: Attempt) -> Attempt:
        """Answer the attempt's prompts until it ends, within the step's own limits."""
        loop = asyncio.get_running_loop()
        params = LabParameters.from_dict(attempt.parameters)
        queued_until = loop.time() + QUEUE_PATIENCE
        limit: float | None = None
        after = 0
        while True:
            moment = await watch.next_of_attempt(attempt.pk, after_prompt=after, timeout=WAIT_SLICE)
            current = moment.attempt
            if moment.ended:
                return current
            if moment.prompt is not None:
                after = moment.prompt.pk
                await self._answer(moment.prompt)
            if current.status == "queued" and loop.time() > queued_until:
                self.say("no worker took the attempt: is a Celery worker running? aborting it")
                await sync_to_async(services.attempt_abort)(attempt=current)
                queued_until = float("inf")
            if current.status == "running" and limit is None:
                limit = loop.time() + time_limit(params) + 60
            if limit is not None and loop.time() > limit:
                self.say("the attempt ran past its time limit: aborting it")
                await sync_to_async(services.attempt_abort)(attempt=current)
                limit = float("inf")

    async def _answer(self, prompt: Prompt) -> None:
        label = f"prompt {prompt.pk} [{prompt.kind or 'no kind'}]: {prompt.text}"
        planned = self.answers.get(prompt.kind) or self.answers.get("*")
        if planned is None:
            where = f" at {url}" if (url := self.prompt_url(prompt)) else ""
            self.say(f"{label}\n  waiting for a person or a script to answer it{where}")
            return
        try:
            if planned.choice == SIMULATE:
                await sync_to_async(services.prompt_do_on_simulator)(prompt=prompt, user=self.user)
                self.say(f"{label}\n  done on the simulator")
                return
            value = planned.value
            if value is None:
                value = str(prompt.details.get("id_tag", prompt.details.get("error_code", "")))
            await sync_to_async(services.prompt_answer)(
                prompt=prompt, user=self.user, choice=planned.choice, value=value
            )
            self.say(f"{label}\n  answered {planned.choice}{f' ({value})' if value else ''}")
        except ValidationError as error:  # answered meanwhile, or an answer it does not offer
            self.say(f"{label}\n  not answered: {' '.join(error.messages)}")

    async def abort_current(self) -> None:
        if self.current is not None:
            await sync_to_async(services.attempt_abort)(attempt=self.current)
