"""``python manage.py simulate``: run the built-in OCPP 1.6 charge point(s)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulator import runner
from simulator.control import HELP
from simulator.defects import describe_defects, parse_defects


class Command(BaseCommand):
    help = "Run a simulated OCPP 1.6-J charge point. Commands on stdin:\n" + HELP

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", required=True, help="ws://host:port/ocpp/<id>")
        parser.add_argument("--password", help="HTTP basic auth password (security profile 1)")
        parser.add_argument("--connectors", type=int, default=2)
        parser.add_argument("--vendor", default="CertLab")
        parser.add_argument("--model", default="SimCharger")
        parser.add_argument("--serial", default="SIM-0001")
        parser.add_argument("--iccid", default="8931000000000000001")
        parser.add_argument("--imsi", default="204080000000001")
        parser.add_argument("--firmware", default="1.0.0")
        parser.add_argument("--meter-type", default="SimMeter 3P")
        parser.add_argument("--meter-serial", default="MTR-0001")
        parser.add_argument("--defects", default="", help="comma-separated; 'help' lists them")
        parser.add_argument("--count", type=int, default=1, help="stations: <id>-1..<id>-N")
        parser.add_argument(
            "--state-dir",
            default=str(Path(tempfile.gettempdir()) / "certlab-simulator"),
            help="where configuration and queued messages persist",
        )
        parser.add_argument("--fast", action="store_true", help="short delays (demo, tests)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["defects"] == "help":
            self.stdout.write(describe_defects())
            return
        try:
            defects = parse_defects(options["defects"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        if options["connectors"] < 1 or options["count"] < 1:
            raise CommandError("--connectors and --count must be at least 1")
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        sims = runner.build(
            options["url"],
            options["count"],
            password=options["password"],
            connectors=options["connectors"],
            vendor=options["vendor"],
            model=options["model"],
            serial=options["serial"],
            iccid=options["iccid"],
            imsi=options["imsi"],
            firmware=options["firmware"],
            meter_type=options["meter_type"],
            meter_serial=options["meter_serial"],
            defects=defects,
            state_dir=options["state_dir"],
            fast=options["fast"],
        )
        # Ctrl-C and SIGTERM (which cancels the run) are the normal ways to stop.
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
            asyncio.run(runner.run(sims, out=self.stdout, handle_signals=True))
