from django.contrib.staticfiles.apps import StaticFilesConfig


class CertLabStaticFilesConfig(StaticFilesConfig):
    """Static files without the ReDoc bundle drf-spectacular-sidecar ships beside Swagger UI (no
    page serves it: 5 of the sidecar's 9 MB with its source map). Compressing it and the source
    maps made every collectstatic, the tests' included, take over a minute of CPU."""

    ignore_patterns = [*StaticFilesConfig.ignore_patterns, "redoc"]
