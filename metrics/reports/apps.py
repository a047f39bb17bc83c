from __future__ import annotations

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "metrics.reports"
    label = "reports"
    verbose_name = "Executive reports"
