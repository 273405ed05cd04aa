"""CertLab's settings with the test run's defaults: PostgreSQL and the machine's Redis unless the
environment says otherwise. Processes the tests start use certlab.settings itself."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/certlab")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault(
    "CERTLAB_DATA_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test")
)

from certlab.settings import *  # noqa: F403

# Flushes delete rows instead of truncating tables (tests/postgresql/base.py says why).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"]["ENGINE"] = "tests.postgresql"  # noqa: F405
