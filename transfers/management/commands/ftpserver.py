"""``manage.py ftpserver``: CertLab's FTP server for stations, as its own process."""

from __future__ import annotations

import argparse
import ipaddress
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from transfers.ftp_server import build_server


def _port_range(value: str) -> tuple[int, int]:
    low, _, high = value.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port range like 30000-30049, not {value!r}") from None
    if not 1 <= first <= last <= 65535:
        raise argparse.ArgumentTypeError(f"a port range like 30000-30049, not {value!r}")
    return first, last


class Command(BaseCommand):
    help = "Run the FTP server stations upload diagnostics to and download firmware from."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--host", default=settings.CERTLAB_FTP_HOST, help="listen address (CERTLAB_FTP_HOST)"
        )
        parser.add_argument(
            "--port",
            type=int,
            default=settings.CERTLAB_FTP_PORT,
            help="listen port, 0 for any free one (CERTLAB_FTP_PORT)",
        )
        parser.add_argument(
            "--passive-ports",
            type=_port_range,
            default=settings.CERTLAB_FTP_PASSIVE_PORTS,
            help="passive data ports, e.g. 30000-30049 (CERTLAB_FTP_PASSIVE_PORTS)",
        )
        parser.add_argument(
            "--auth-failed-delay",
            type=float,
            default=3.0,
            help="seconds before answering a failed login (slows password guessing)",
        )

    def handle(self, *args, **options) -> None:
        masquerade = settings.CERTLAB_FTP_MASQUERADE_ADDRESS
        if masquerade:
            try:
                ipaddress.ip_address(masquerade)
            except ValueError:
                raise CommandError(
                    f"CERTLAB_FTP_MASQUERADE_ADDRESS must be an IP address, got {masquerade!r}"
                ) from None
        server = build_server(
            host=options["host"],
            port=options["port"],
            passive_ports=options["passive_ports"],
            root=settings.CERTLAB_FTP_ROOT,
            max_upload_bytes=settings.CERTLAB_FTP_MAX_UPLOAD_BYTES,
            min_free_bytes=settings.CERTLAB_FTP_MIN_FREE_BYTES,
            masquerade_address=masquerade,
            auth_failed_delay=options["auth_failed_delay"],
        )
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        host, port = server.address[:2]
        low, high = options["passive_ports"]
        self.stdout.write(
            f"CertLab FTP server listening on {host}:{port}, passive ports {low}-{high}, "
            f"spool {settings.CERTLAB_FTP_ROOT}"
        )
        self.stdout.flush()
        server.serve_forever(handle_exit=True)


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(0)
