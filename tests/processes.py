"""Real processes for end-to-end tests: free ports, start, wait until ready, stop cleanly.

Every process is started in its own session so that stopping it stops its children too, and
every test that starts one stops it (the fixtures use ``with``), so a failing test leaves no
orphans behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def test_database_url() -> str:
    """The URL of the test database, for processes a test starts (they must see its rows)."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    auth = quote(db["USER"], safe="") + (
        f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    )
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


# A helper, not a test: modules that import it by name would otherwise have pytest collect it (and
# pass it whatever it returns).
test_database_url.__test__ = False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, host: str = "127.0.0.1", timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


def _interruptible() -> None:
    """Runs in the child before exec: SIGINT back to its default, so that a Python child gets
    its KeyboardInterrupt from ``stop()``. A shell without job control starts a background
    command with SIGINT ignored (``make test &`` in a script), an ignored signal stays ignored
    across exec, and Python then installs no handler: every child sat out ``stop()``'s 15 s
    before being killed (a fresh-clone run launched that way: the suite 90 s slower, and the
    FTP server's clean exit, which test_e2e checks, never came)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class ManagedProcess:
    """A child process with its output in a log file, stopped with SIGINT; one that has not
    ended after ``stop()``'s timeout gets SIGABRT, which makes a Python child print where each
    of its threads stood into the log (faulthandler, on for every child) before it dies, then
    SIGKILL. A process that hangs on its way out says why."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        log_path: Path,
        env: dict[str, str | None] | None = None,
        cwd: Path = ROOT,
        stdin: int = subprocess.DEVNULL,
    ) -> None:
        self.args = list(args)
        self.stdin = stdin  # a file descriptor: a station's local controls, say
        self.log_path = log_path
        # None removes a variable the test process has (say DATABASE_URL for the embedded mode).
        merged = {"PYTHONFAULTHANDLER": "1", **os.environ, **(env or {})}
        self.env = {name: value for name, value in merged.items() if value is not None}
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> ManagedProcess:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.args,
            cwd=self.cwd,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=self.stdin,
            start_new_session=True,
            preexec_fn=_interruptible,
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"{self.args[:3]} exited early:\n{self.log()[-3000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"{text!r} not in the log after {timeout} s:\n{self.log()[-3000:]}")

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGABRT)  # a Python child: its stacks, logged
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(5)
            except ProcessLookupError:
                pass
        self._log.close()
        return self.proc.returncode


def daphne(
    port: int, *, log_path: Path, env: dict[str, str] | None = None, args: Sequence[str] = ()
) -> ManagedProcess:
    """``args``: more daphne options (say ``--ping-interval``)."""
    return ManagedProcess(
        [
            PYTHON,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            *args,
            "certlab.asgi:application",
        ],
        log_path=log_path,
        env=env,
    )


def celery_worker(*, log_path: Path, env: dict[str, str] | None = None) -> ManagedProcess:
    from certlab.run import WORKER_ARGS

    return ManagedProcess(WORKER_ARGS, log_path=log_path, env=env)
