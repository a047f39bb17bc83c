from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "metrics.api"
    label = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from metrics.api import authentication  # noqa: F401  (registers the OpenAPI bearer scheme)
        from metrics.api.sql import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="sextant-api-sqlite-functions")
