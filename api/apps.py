from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "JSON API and personal API tokens"

    def ready(self) -> None:
        from api import extensions  # noqa: F401 - registers the token scheme with the schema
