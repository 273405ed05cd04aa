"""The distributed setup for fault tests: two daphne processes, two Celery workers, the FTP
server, PostgreSQL (the test database) and Redis, each a real process this test run started and
stops. Faults are made to these processes only (never to the machine's PostgreSQL or Redis)."""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from tests.processes import PYTHON, ManagedProcess, daphne, free_port, wait_for_port


@dataclass
class Distributed:
    """Daphne A holds the stations (``http_port``, what tests.campaigns.lab.Lab connects to),
    daphne B serves the pages; both workers take attempts."""

    log_dir: Path
    env: dict[str, str]
    http_port: int = field(default_factory=free_port)
    other_port: int = field(default_factory=free_port)
    ftp_port: int = field(default_factory=free_port)
    daphnes: dict[str, ManagedProcess] = field(default_factory=dict)
    workers: dict[str, ManagedProcess] = field(default_factory=dict)
    others: list[ManagedProcess] = field(default_factory=list)
    daphne_args: tuple[str, ...] = ()  # more daphne options (the soak's longer handshake limit)

    @property
    def process_env(self) -> dict[str, str]:
        return {
            **self.env,
            "CERTLAB_PUBLIC_HOST": "127.0.0.1",
            "CERTLAB_PUBLIC_HTTP_PORT": str(self.http_port),
            "CERTLAB_PUBLIC_FTP_PORT": str(self.ftp_port),
        }

    def start_daphne(self, name: str, port: int) -> ManagedProcess:
        process = daphne(
            port,
            log_path=self.log_dir / f"daphne-{name}.log",
            env=self.process_env,
            args=self.daphne_args,
        )
        process.start()
        self.daphnes[name] = process
        wait_for_port(port, timeout=60)
        return process

    def start_worker(self, name: str) -> ManagedProcess:
        from certlab.run import WORKER_ARGS

        process = ManagedProcess(
            [*WORKER_ARGS, f"--hostname={name}@%h"],
            log_path=self.log_dir / f"worker-{name}.log",
            env=self.process_env,
        )
        process.start()
        self.workers[name] = process
        process.wait_for_log("ready.", timeout=90)
        return process

    def start_ftp(self) -> None:
        passive = free_port()
        process = ManagedProcess(
            [PYTHON, "manage.py", "ftpserver", "--host", "127.0.0.1", "--port",
             str(self.ftp_port), "--passive-ports", f"{passive}-{passive}"],
            log_path=self.log_dir / "ftp.log",
            env=self.process_env,
        )  # fmt: skip
        process.start()
        self.others.append(process)
        wait_for_port(self.ftp_port, timeout=60)

    def worker_running(self, task_id: str) -> str:
        """The worker whose log shows it received the task ``task_id`` (not merely some task:
        a message left in the tests' broker by an earlier test may have reached the other)."""
        for name, process in self.workers.items():
            if f"[{task_id}] received" in process.log():
                return name
        raise AssertionError(f"no worker received task {task_id}")

    def kill(self, process: ManagedProcess, sig: int = signal.SIGKILL) -> None:
        os.killpg(process.pid, sig)
        process.proc.wait(30)

    def stop(self) -> None:
        for process in [*self.workers.values(), *self.daphnes.values(), *self.others]:
            with contextlib.suppress(Exception):
                process.stop()


@contextlib.contextmanager
def distributed(
    log_dir: Path, env: dict[str, str], *, workers=("w1", "w2"), ftp=True, daphne_args=()
):
    setup = Distributed(log_dir=log_dir, env=env, daphne_args=tuple(daphne_args))
    try:
        setup.start_daphne("a", setup.http_port)
        setup.start_daphne("b", setup.other_port)
        if ftp:
            setup.start_ftp()
        if workers:
            _purge_broker()
        for name in workers:
            setup.start_worker(name)
        yield setup
    finally:
        setup.stop()


def _purge_broker() -> None:
    """Messages earlier tests queued with no worker to take them (the tests share a Redis db)
    would reach this setup's workers first."""
    from certlab.celery import app

    app.control.purge()
