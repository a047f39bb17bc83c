from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "metrics.core"
    label = "core"
    verbose_name = "Organization"

    def ready(self) -> None:
        from metrics.core import audit

        audit.connect()
