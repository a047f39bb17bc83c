from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from metrics.core.security import ThrottledLoginView
from metrics.core.views import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("metrics.api.urls")),
    path("webhooks/", include("metrics.ingestion.urls")),
    path("reports/", include("metrics.reports.urls")),
    path("", include("metrics.web.urls")),
]
