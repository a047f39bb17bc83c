"""The OTLP/HTTP receiver, mounted at /otlp/: OTEL_EXPORTER_OTLP_ENDPOINT = ``<sextant>/otlp/<source>``."""

from __future__ import annotations

from django.urls import path

from metrics.ingestion import otlp_receiver

urlpatterns = [
    path(
        "<slug:source_name>/v1/metrics", otlp_receiver.otlp_export, {"signal": "metrics"}, name="otlp-metrics"
    ),
    path("<slug:source_name>/v1/logs", otlp_receiver.otlp_export, {"signal": "logs"}, name="otlp-logs"),
]
