from __future__ import annotations

from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "metrics.ingestion"
    label = "ingestion"
    verbose_name = "Ingested data"
