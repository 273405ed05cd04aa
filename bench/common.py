"""Shared set-up for the endpoint benchmarks: a bench database and Redis db, stations, servers."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/certlab_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
ENV = {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "LOG_LEVEL": "WARNING"}
LOGS = ROOT / "var" / "bench"
PERFORMANCE = ROOT / "docs" / "PERFORMANCE.md"


def use(*, database_url: str, redis_url: str) -> None:
    """Point the bench at a database and Redis db of its own (call before ``setup_django``)."""
    global DATABASE_URL, REDIS_URL
    DATABASE_URL, REDIS_URL = database_url, redis_url
    ENV.update(DATABASE_URL=database_url, REDIS_URL=redis_url)


def setup_django() -> None:
    os.environ.update(ENV)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "certlab.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def migrate() -> None:
    # Create the bench database when it does not exist yet (SQLite creates its file itself:
    # BENCH_DATABASE_URL=sqlite:////path measures the embedded default's database).
    from django.conf import settings
    from django.core.management import call_command

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        call_command("migrate", verbosity=0)
        return
    conn, name = _server()
    with conn:
        if not conn.execute("select 1 from pg_database where datname=%s", [name]).fetchone():
            conn.execute(f'create database "{name}"')
    call_command("migrate", verbosity=0)


def _server():
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ), db["NAME"]


def drop_database() -> None:
    """Drop the bench database (a throwaway one, such as the soak's) once its servers stopped."""
    from django.db import connections

    connections.close_all()
    conn, name = _server()
    with conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def stations(count: int, prefix: str) -> list:
    """``count`` stations named prefix-00000…, created once."""
    from stations.models import ChargerModel, Manufacturer, Station

    maker, _ = Manufacturer.objects.get_or_create(name="Bench maker")
    model, _ = ChargerModel.objects.get_or_create(
        manufacturer=maker, name="Bench", defaults={"current_type": "AC", "max_power_kw": 22}
    )
    wanted = [f"{prefix}-{i:05d}" for i in range(count)]
    have = set(
        Station.objects.filter(charge_point_id__in=wanted).values_list("charge_point_id", flat=True)
    )
    Station.objects.bulk_create(
        Station(charge_point_id=cp, charger_model=model) for cp in wanted if cp not in have
    )
    return list(Station.objects.filter(charge_point_id__in=wanted).order_by("charge_point_id"))


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()


@contextmanager
def process(args: list[str], name: str, env: dict | None = None):
    from tests.processes import ManagedProcess

    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / f"{name}.log").unlink(missing_ok=True)
    proc = ManagedProcess(args, log_path=LOGS / f"{name}.log", env={**ENV, **(env or {})})
    with proc:
        yield proc


def daphne_args(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "daphne",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        # 50 stations connecting at once on a loaded machine take longer than daphne's 5 s
        # handshake limit (each connect waits its turn on the database thread).
        "--websocket_connect_timeout",
        "30",
        "certlab.asgi:application",
    ]


def rss_tree_kb(pid: int) -> int:
    """Resident set size of a process and all its descendants (a worker's pool), in KB."""
    import psutil

    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in family:
        # A pool child may be replaced between the listing and the reading.
        with contextlib.suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return total // 1024


def rss_kb(pid: int) -> int:
    """Resident set size of a process and its children, in KB."""
    out = subprocess.run(
        ["ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sum(int(x) for x in out.split())


def write_figures(name: str, heading: str, lines: list[str]) -> None:
    """Put a bench's figures in docs/PERFORMANCE.md between its markers
    (``<!-- NAME figures -->`` … ``<!-- /NAME figures -->``), replacing what a run wrote there
    before; the first run adds them at the end under ``heading``."""
    start, end = f"<!-- {name} figures -->", f"<!-- /{name} figures -->"
    block = "\n".join([start, *lines, end])
    text = PERFORMANCE.read_text()
    if start in text:
        pattern = re.escape(start) + ".*?" + re.escape(end)
        text = re.sub(pattern, lambda _: block, text, flags=re.S)  # the block is not a pattern
    else:
        text += f"\n## {heading}\n\n{block}\n"
    PERFORMANCE.write_text(text)
