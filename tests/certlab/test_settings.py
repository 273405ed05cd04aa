import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from certlab.env import Env

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "name,value,reader",
    [
        ("DEBUG", "maybe", lambda e: e.bool("DEBUG", False)),
        ("CERTLAB_HTTP_PORT", "eighty", lambda e: e.port("CERTLAB_HTTP_PORT", 8000)),
        ("CERTLAB_HTTP_PORT", "70000", lambda e: e.port("CERTLAB_HTTP_PORT", 8000)),
        ("CERTLAB_FTP_PASSIVE_PORTS", "30010-30000", lambda e: e.port_range("X", (1, 2))),
        ("DATABASE_URL", "mysql://db/x", lambda e: e.database("DATABASE_URL", Path("/tmp/x"))),
        ("DATABASE_URL", "postgres://host", lambda e: e.database("DATABASE_URL", Path("/x"))),
        ("DATABASE_URL", "postgres://h:port/db", lambda e: e.database("DATABASE_URL", Path("/"))),
        ("REDIS_URL", "http://localhost:6379", lambda e: e.redis_url("REDIS_URL", "redis://x")),
        ("LEVEL", "loud", lambda e: e.choice("LEVEL", "INFO", ("INFO", "DEBUG"))),
    ],
)
def test_bad_values_fail_naming_the_variable(name, value, reader):
    env = Env({name: value, "X": value})
    with pytest.raises(ImproperlyConfigured) as error:
        reader(env)
    assert name in str(error.value) or "X" in str(error.value)


def test_unset_values_give_the_embedded_defaults(tmp_path):
    env = Env({})
    assert env.bool("DEBUG", False) is False
    assert env.port("CERTLAB_HTTP_PORT", 8000) == 8000
    database = env.database("DATABASE_URL", tmp_path / "db.sqlite3")
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]


def test_postgres_url_gives_a_persistent_connection():
    env = Env({"DATABASE_URL": "postgresql://lab:s%40cret@db.example:6543/certlab"})
    database = env.database("DATABASE_URL", Path("/unused"))
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == (
        "db.example",
        "6543",
        "certlab",
    )
    assert (database["USER"], database["PASSWORD"]) == ("lab", "s@cret")
    assert database["CONN_MAX_AGE"] is None


def test_lists_and_ranges_parse():
    env = Env({"ALLOWED_HOSTS": " lab.example , 10.0.0.5 ,", "P": "30000-30009"})
    assert env.list("ALLOWED_HOSTS", []) == ["lab.example", "10.0.0.5"]
    assert env.port_range("P", (1, 2)) == (30000, 30009)


def _manage(*args: str, **variables: str) -> subprocess.CompletedProcess:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CERTLAB_", "DEBUG", "DJANGO_SETTINGS_MODULE"))
    }
    environ.update(variables)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_start_up_stops_with_a_message_naming_the_bad_variable(tmp_path):
    result = _manage("check", CERTLAB_DATA_DIR=str(tmp_path), CERTLAB_FTP_PORT="ftp")
    assert result.returncode != 0
    assert "CertLab cannot start: CERTLAB_FTP_PORT must be a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_deploy_is_clean_with_a_production_environment(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        CERTLAB_DATA_DIR=str(tmp_path),
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="certlab.lab.example",
        CERTLAB_HTTPS="true",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/certlab",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_short_secret_key_is_refused(tmp_path):
    result = _manage("check", CERTLAB_DATA_DIR=str(tmp_path), SECRET_KEY="too-short")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
