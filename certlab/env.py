"""Fail-loud parsing of settings from the environment.

Every reader names the variable in its error, so a bad value stops start-up with a message a
lab administrator can act on instead of a stack trace deep inside Django or Celery.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Env:
    """Typed access to a mapping of environment variables (``os.environ`` by default)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def _raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def is_set(self, name: str) -> bool:
        return self._raw(name) is not None

    def str(self, name: str, default: str | None = None) -> str | None:
        raw = self._raw(name)
        return default if raw is None else raw

    def bool(self, name: str, default: bool) -> bool:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ImproperlyConfigured(
            f"{name} must be true or false (1/0, yes/no, on/off), got {raw!r}"
        )

    def int(
        self, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {value}")
        return value

    def port(self, name: str, default: int) -> int:
        return self.int(name, default, minimum=1, maximum=65535)

    def port_range(self, name: str, default: tuple[int, int]) -> tuple[int, int]:
        raw = self._raw(name)
        if raw is None:
            return default
        low, sep, high = raw.partition("-")
        try:
            first, last = int(low), int(high)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must be a port range like 30000-30049, got {raw!r}"
            ) from None
        if not sep or not (1 <= first <= last <= 65535):
            raise ImproperlyConfigured(f"{name} must be a port range like 30000-30049, got {raw!r}")
        return first, last

    def list(self, name: str, default: list[str]) -> list[str]:
        raw = self._raw(name)
        if raw is None:
            return list(default)
        return [item.strip() for item in raw.split(",") if item.strip()]

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw not in choices:
            raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return raw

    def path(self, name: str, default: Path) -> Path:
        raw = self._raw(name)
        return default if raw is None else Path(raw).expanduser().resolve()

    def database(self, name: str, default_sqlite: Path) -> dict:
        """A Django DATABASES entry from a URL: postgres[ql]://user:pass@host:port/db or sqlite:///path."""
        raw = self._raw(name)
        if raw is None:
            return _sqlite(default_sqlite)
        url = urlsplit(raw)
        if url.scheme == "sqlite":
            path = unquote(url.path)
            if not path or path == "/":
                raise ImproperlyConfigured(f"{name} must name a file: sqlite:////abs/path.sqlite3")
            return _sqlite(Path(path))
        if url.scheme not in {"postgres", "postgresql", "pgsql"}:
            raise ImproperlyConfigured(
                f"{name} must start with postgres:// or sqlite:///, got scheme {url.scheme!r}"
            )
        database = unquote(url.path.lstrip("/"))
        if not database:
            raise ImproperlyConfigured(f"{name} must name a database: postgres://host/dbname")
        try:
            port = url.port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has an invalid port") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": database,
            "USER": unquote(url.username or ""),
            "PASSWORD": unquote(url.password or ""),
            "HOST": url.hostname or "",
            "PORT": str(port or ""),
            # The ASGI process writes frames from one database thread: a persistent connection
            # is the difference between ~30 and ~650 writes/s (ARCHITECTURE.md, rule 5).
            "CONN_MAX_AGE": None,
            "CONN_HEALTH_CHECKS": True,
        }

    def redis_url(self, name: str, default: str) -> str:
        raw = self._raw(name) or default
        url = urlsplit(raw)
        if url.scheme not in {"redis", "rediss", "unix"}:
            raise ImproperlyConfigured(
                f"{name} must start with redis://, rediss:// or unix://, got {raw!r}"
            )
        try:
            url.port  # noqa: B018 - parsing raises on a bad port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has an invalid port: {raw!r}") from None
        return raw


def _sqlite(path: Path) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # The ASGI server and the worker write at the same time: WAL, immediate transactions
        # and a busy timeout keep them from failing with "database is locked".
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
