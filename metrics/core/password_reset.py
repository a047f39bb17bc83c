"""Password reset by e-mail: on only where a mail server is configured (``PASSWORD_RESET_ENABLED``,
default: when ``EMAIL_HOST`` is set), and throttled per client address and per e-mail address, so the
form can neither flood someone's mailbox nor probe many accounts from one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound

from metrics.core import auth_throttle

OFF = (
    "Password reset is off: no mail server is configured (set EMAIL_HOST, or PASSWORD_RESET_ENABLED). "
    "An administrator can set a new password with: python manage.py changepassword <user>"
)


def _off() -> HttpResponse:
    return HttpResponseNotFound(OFF, content_type="text/plain; charset=utf-8")


def when_enabled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """``view``, or a 404 saying why while password reset is off."""

    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.PASSWORD_RESET_ENABLED:
            return _off()
        return view(request, *args, **kwargs)

    return guarded


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """Each request counts (not only failures: every one may send an e-mail)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        email = str(request.POST.get("email", ""))[:254]
        if auth_throttle.is_blocked(request, email, kind="reset"):
            return auth_throttle.too_many(request, what="password-reset requests")
        auth_throttle.record(request, email, kind="reset")
        return super().post(request, *args, **kwargs)
