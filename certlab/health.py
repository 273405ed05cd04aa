"""What a CertLab process needs to serve, checked for /healthz: the database answers, Redis (the
channel layer, the registry and the broker) answers, and the static files manifest is there
(without it every page is a 500 while the database is fine)."""

from __future__ import annotations

from pathlib import Path

import redis
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.db import connection

REDIS_TIMEOUT = 2.0  # s; a health check must answer, not wait on a dead Redis
# One file every page links: when the manifest lacks it, every page fails.
PAGE_STYLESHEET = "css/certlab.css"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()


def _static_files() -> None:
    # The manifest storage raises ValueError for a file it has no entry for (never collected);
    # a plain storage (DEBUG, unit tests) just builds the URL.
    staticfiles_storage.url(PAGE_STYLESHEET)
    hashed = getattr(staticfiles_storage, "hashed_files", None)
    if hashed is None:
        return
    # Collected before a release added files: the pages that link those would fail.
    missing = [name for name in _own_static_files() if name not in hashed]
    if missing:
        raise ValueError(f"{len(missing)} static files not collected, e.g. {missing[0]}")


def _own_static_files() -> list[str]:
    names = []
    for directory in settings.STATICFILES_DIRS:
        root = Path(directory)
        names += [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    return names


CHECKS = {"database": _database, "redis": _redis, "static_files": _static_files}


def check_health() -> dict[str, str]:
    """Each check's outcome: "ok" or what went wrong, in a line."""
    outcomes = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:  # whatever breaks, the answer names it
            outcomes[name] = f"{type(error).__name__}: {error}".strip()[:300]
        else:
            outcomes[name] = "ok"
    return outcomes
