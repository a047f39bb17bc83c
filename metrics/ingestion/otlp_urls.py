"""The OTLP/HTTP receiver, mounted at /otlp/: OTEL_EXPORTER_OTLP_ENDPOINT = ``<sextant>/otlp/<source>``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def otlp_export(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """The receiver, imported on the first export: protobuf and the OTLP message classes stay out of every
    other process (workers, management commands, the import's memory)."""
    from metrics.ingestion import otlp_receiver

    return otlp_receiver.otlp_export(request, **kwargs)


urlpatterns = [
    path("<slug:source_name>/v1/metrics", otlp_export, {"signal": "metrics"}, name="otlp-metrics"),
    path("<slug:source_name>/v1/logs", otlp_export, {"signal": "logs"}, name="otlp-logs"),
]
