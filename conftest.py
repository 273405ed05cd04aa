"""Test-run defaults: the suite runs against PostgreSQL and the machine's Redis unless told
otherwise. Set before pytest-django reads the settings."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/certlab")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault("CERTLAB_DATA_DIR", os.path.join(os.path.dirname(__file__), "var", "test"))
