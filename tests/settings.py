"""CertLab's settings with the test run's defaults: PostgreSQL and the machine's Redis unless the
environment says otherwise. Processes the tests start use certlab.settings itself.

Under pytest-xdist (``make test`` runs the suite on several workers) each worker is a lab of its
own: pytest-django gives it its own test database (``_gw1``...), and here it gets its own Redis
database (REDIS_URL's number plus the worker's) and data folder. Each worker starts its own daphne,
Celery workers and FTP server; sharing Redis, one worker's Celery would take another's attempts.
"""

import os
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/certlab")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault(
    "CERTLAB_DATA_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test")
)


def _per_worker() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    # Processes a worker starts inherit its environment, already its own: once per worker.
    if not worker or os.environ.get("CERTLAB_TEST_WORKER") == worker:
        return
    number = int(worker.removeprefix("gw"))
    url = urlsplit(os.environ["REDIS_URL"])
    database = int(url.path.strip("/") or 0) + number
    if database > 15:
        raise ImproperlyConfigured(
            f"REDIS_URL {os.environ['REDIS_URL']} leaves no Redis database for xdist {worker}: "
            "use a lower database number or fewer workers"
        )
    os.environ["REDIS_URL"] = urlunsplit(url._replace(path=f"/{database}"))
    os.environ["CERTLAB_DATA_DIR"] = os.path.join(os.environ["CERTLAB_DATA_DIR"], worker)
    os.environ["CERTLAB_TEST_WORKER"] = worker


_per_worker()

from certlab.settings import *  # noqa: E402, F403

# Flushes delete rows instead of truncating tables (tests/postgresql/base.py says why).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"]["ENGINE"] = "tests.postgresql"  # noqa: F405
