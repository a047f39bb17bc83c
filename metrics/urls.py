from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView

from metrics.core.password_reset import ThrottledPasswordResetView, when_enabled
from metrics.core.views import healthz
from metrics.web import sso


@csrf_exempt
def mcp_endpoint(request: HttpRequest) -> HttpResponse:
    """The read-only MCP server (metrics/api/mcp.py), imported on the first call: the SDK and its
    dependencies stay out of the processes that never serve it (workers, management commands)."""
    from metrics.api.mcp import mcp_endpoint as serve

    return serve(request)


# Without password sign-in, the admin's own login form could never succeed: send it to the login page.
_admin_login = (
    []
    if settings.LOCAL_LOGIN_ENABLED
    else [path("admin/login/", RedirectView.as_view(url="/accounts/login/", query_string=True))]
)

urlpatterns = [
    *_admin_login,
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    # Sign-in is throttled in the authentication backend (metrics/core/auth_throttle.py), for every path.
    path("accounts/login/", sso.LoginView.as_view(), name="login"),
    # Single sign-on (OpenID Connect, metrics/web/sso.py): 404 unless OIDC_DISCOVERY_URL is set.
    path("accounts/", include(sso.urlpatterns)),
    path(
        "accounts/password_reset/", when_enabled(ThrottledPasswordResetView.as_view()), name="password_reset"
    ),
    path(
        "accounts/password_reset/done/",
        when_enabled(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        when_enabled(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        when_enabled(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("metrics.api.urls")),
    path("mcp", mcp_endpoint, name="mcp"),  # the read-only MCP server (metrics/api/mcp.py)
    path("webhooks/", include("metrics.ingestion.urls")),
    path("otlp/", include("metrics.ingestion.otlp_urls")),
    path("reports/", include("metrics.reports.urls")),
    path("", include("metrics.web.urls")),
]
