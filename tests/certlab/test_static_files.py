"""Static files: collected again when anything they come from changed, and lean when collected."""

import os
from types import SimpleNamespace

from django.apps import apps

from certlab.run import static_is_current


def _lab(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "site.css").write_text("body{}")
    (tmp_path / "requirements.txt").write_text("Django==5.2\n")
    (tmp_path / "collected").mkdir()
    manifest = tmp_path / "collected" / "staticfiles.json"
    manifest.write_text("{}")
    return SimpleNamespace(BASE_DIR=tmp_path, STATIC_ROOT=tmp_path / "collected",
                           STATICFILES_DIRS=[tmp_path / "static"]), manifest  # fmt: skip


def _touch_later(path, than):
    later = than.stat().st_mtime + 10
    os.utime(path, (later, later))


def test_static_files_are_current_until_a_source_or_the_requirements_change(tmp_path):
    settings, manifest = _lab(tmp_path)
    assert static_is_current(settings)
    _touch_later(tmp_path / "requirements.txt", manifest)  # a new package may ship static files
    assert not static_is_current(settings)
    settings, manifest = _lab(tmp_path / "again")
    _touch_later(tmp_path / "again" / "static" / "site.css", manifest)
    assert not static_is_current(settings)


def test_the_unused_redoc_bundle_is_never_collected():
    assert "redoc" in apps.get_app_config("staticfiles").ignore_patterns
