"""Security headers (CSP and friends) and login throttling."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

# Plotly's HTML embeds inline scripts and styles; everything else must come from this server.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


def _client_ip(request: HttpRequest) -> str:
    # Behind a proxy the operator sets SECURE_PROXY_SSL_HEADER; REMOTE_ADDR is then the proxy, so the
    # username part of the key still limits guessing against one account.
    return str(request.META.get("REMOTE_ADDR", "unknown"))


class ThrottledLoginView(auth_views.LoginView):
    """The login page, refusing further attempts after LOGIN_MAX_FAILURES failures in the window."""

    def _keys(self, request: HttpRequest) -> list[str]:
        username = str(request.POST.get("username", "")).strip().lower()[:150]
        return [f"login-fail:ip:{_client_ip(request)}", f"login-fail:user:{username}"]

    def _blocked(self, request: HttpRequest) -> bool:
        limit = settings.LOGIN_MAX_FAILURES
        return any((cache.get(key) or 0) >= limit for key in self._keys(request))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self._blocked(request):
            minutes = settings.LOGIN_FAILURE_WINDOW_SECONDS // 60
            response = HttpResponse(
                f"Too many failed sign-in attempts. Try again in {minutes} minutes.", status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(settings.LOGIN_FAILURE_WINDOW_SECONDS)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        for key in self._keys(self.request):
            cache.add(key, 0, settings.LOGIN_FAILURE_WINDOW_SECONDS)
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, settings.LOGIN_FAILURE_WINDOW_SECONDS)
        return super().form_invalid(form)
