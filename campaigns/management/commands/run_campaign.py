"""``manage.py run_campaign``: run a campaign's steps against a connected station from the
command line, unattended (answers from a file or flags) or half-attended (prompts left to a
person in the browser, or a script, while the command waits)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from campaigns import services
from campaigns.engine.params import LabParameters, out_of_bounds
from campaigns.junit import write_junit
from campaigns.models import Campaign
from campaigns.unattended import Run, StepOutcome, load_answers, parse_steps, steps_to_run
from stations.models import Station

ROW = "{:>3}  {:<34} {:<16} {:<11} {}"


class Command(BaseCommand):
    help = (
        "Run a campaign's steps against a connected station (a Celery worker must be running). "
        "Exit code 0 only when every step run proposes Ok."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--campaign", type=int, help="continue this campaign (its id)")
        which.add_argument("--station", help="create a campaign for this charge point id")
        parser.add_argument(
            "--user",
            help="the QA user the run acts as (default: the "
            "campaign's owner; needed with --station)",
        )
        parser.add_argument("--rehearsal", action="store_true", help="new campaign: fast mode")
        parser.add_argument("--strict", action="store_true", help="new campaign: strict mode")
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="new campaign: a lab parameter, e.g. prompt_timeout=60",
        )
        parser.add_argument(
            "--steps",
            default="",
            help="e.g. 1,3,5-8 (default: every planned step without a final verdict, in order)",
        )
        parser.add_argument("--answers", type=Path, help="YAML or JSON: prompt kind -> answer")
        parser.add_argument(
            "--answer",
            action="append",
            default=[],
            metavar="KIND=CHOICE",
            help="e.g. plug_in=Done, power_cycle=simulate, '*=Cannot do'",
        )
        parser.add_argument(
            "--record-verdicts",
            action="store_true",
            help="record each proposed Ok/Failed as the final verdict",
        )
        parser.add_argument("--junit", type=Path, help="write JUnit XML here")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            answers = load_answers(options["answers"], options["answer"])
            numbers = parse_steps(options["steps"])
        except (OSError, ValueError) as error:
            raise CommandError(str(error), returncode=2) from None
        campaign, user = self._campaign(options)
        try:
            items = steps_to_run(campaign=campaign, numbers=numbers)
        except ValueError as error:
            raise CommandError(str(error), returncode=2) from None
        self.stdout.write(f"Campaign #{campaign.pk}: {campaign} — {len(items)} step(s) to run")
        self.stdout.write(ROW.format("#", "step", "status", "proposed", "result"))
        run = Run(
            campaign=campaign,
            user=user,
            answers=answers,
            say=self._say,
            record_verdicts=options["record_verdicts"],
            prompt_url=self._prompt_url,
        )
        try:
            async_to_sync(self._drive)(run, items)
        finally:
            if options["junit"]:
                write_junit(
                    options["junit"], name=f"CertLab campaign {campaign.pk}", outcomes=run.outcomes
                )
        ran = [o for o in run.outcomes if o.attempt is not None]
        ok = (
            bool(run.outcomes) and len(ran) == len(run.outcomes) and all(o.proposed_ok for o in ran)
        )
        self.stdout.write(
            f"{sum(o.proposed_ok for o in ran)} of {len(run.outcomes)} step(s) proposed Ok."
        )
        if not ok:
            raise CommandError("Not every step proposed Ok.", returncode=1)

    async def _drive(self, run: Run, items) -> None:
        try:
            await run.steps(items, self._row)
        except (asyncio.CancelledError, KeyboardInterrupt):
            await run.abort_current()
            self._say("interrupted: the running attempt was asked to abort")
            raise

    def _row(self, outcome: StepOutcome) -> None:
        attempt = outcome.attempt
        if attempt is None:
            self.stdout.write(
                ROW.format(outcome.number, outcome.title[:34], "not run", "", outcome.skipped)
            )
            return
        proposed = attempt.get_proposed_verdict_display() or "-"
        line = ROW.format(
            outcome.number, outcome.title[:34], attempt.status, proposed, attempt.proposed_text
        )
        self.stdout.write(self.style.SUCCESS(line) if outcome.proposed_ok else line)
        self.stdout.flush()

    def _say(self, text: str) -> None:
        self.stdout.write("     " + text.replace("\n", "\n     "))
        self.stdout.flush()

    def _prompt_url(self, prompt) -> str:
        base = f"http://{settings.CERTLAB_PUBLIC_HOST}:{settings.CERTLAB_PUBLIC_HTTP_PORT}"
        return base + prompt.attempt.get_absolute_url()

    def _campaign(self, options: dict) -> tuple[Campaign, User]:
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None or not user.is_qa:
                raise CommandError(f"{options['user']!r} is not an active QA user.", returncode=2)
        if options["campaign"] is not None:
            campaign = (
                Campaign.objects.select_related("station", "owner")
                .filter(pk=options["campaign"])
                .first()
            )
            if campaign is None:
                raise CommandError(f"No campaign {options['campaign']}.", returncode=2)
            return campaign, user or campaign.owner
        station = Station.objects.filter(charge_point_id=options["station"]).first()
        if station is None:
            raise CommandError(f"No station {options['station']!r} in the catalogue.", returncode=2)
        if user is None:
            raise CommandError("Say which QA user runs the campaign: --user.", returncode=2)
        try:
            parameters = LabParameters.for_mode(
                rehearsal=options["rehearsal"], **_parameters(options["param"])
            )
            campaign = services.campaign_create(
                station=station, owner=user, parameters=parameters, strict=options["strict"]
            )
        except (ValueError, TypeError, ValidationError) as error:
            raise CommandError(str(error), returncode=2) from None
        return campaign, user


def _parameters(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs typed after the parameter's default (a bool, a number, text)."""
    defaults = LabParameters()
    chosen: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not hasattr(defaults, name):
            raise ValueError(f"--param {pair!r}: a lab parameter as name=value.")
        default = getattr(defaults, name)
        if isinstance(default, bool):
            chosen[name] = raw.lower() in ("1", "true", "yes", "on")
        elif isinstance(default, int | float):
            chosen[name] = type(default)(raw)
        else:
            chosen[name] = raw
        if problem := out_of_bounds(name, chosen[name]):  # the form's and the API's bounds
            raise ValueError(f"--param {pair!r}: {problem}")
    return chosen
