from __future__ import annotations

from django.urls import path

from metrics.api.views import MetricSnapshotListApi

app_name = "api"

urlpatterns = [
    path("metrics/", MetricSnapshotListApi.as_view(), name="metrics"),
]
