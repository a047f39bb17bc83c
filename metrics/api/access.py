"""Who is asking and what they may see: role, team scope, read-only permission, per-token throttle."""

from __future__ import annotations

import os
import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework import permissions, throttling
from rest_framework.request import Request

from metrics.api.models import ApiToken
from metrics.core import access as core_access
from metrics.core.access import Access
from metrics.core.models import team_subtree  # noqa: F401 - re-exported for the API selectors

RATE_ENV = "SEXTANT_API_RATE"
DEFAULT_RATE = "600/min"
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")


def request_access(request: Request) -> Access:
    """The request's access (``metrics.core.access``): the token's for a token, else the signed-in user's
    Sextant role, exactly as on the web pages (never Django's ``is_staff``)."""
    cached = getattr(request, "_sextant_api_access", None)
    if cached is None:
        token = request.auth if isinstance(request.auth, ApiToken) else None
        cached = core_access.for_token(token) if token is not None else core_access.for_user(request.user)
        request._sextant_api_access = cached
    return cached


class ReadOnlyApiAccess(permissions.BasePermission):
    """Authenticated, and only GET/HEAD/OPTIONS: the export never changes anything."""

    message = "The API is read-only: only GET, HEAD and OPTIONS are allowed."

    def has_permission(self, request: Request, view: Any) -> bool:
        # Unauthenticated requests get DRF's "credentials were not provided" rather than this message.
        authenticated = bool(request.user and request.user.is_authenticated)
        return authenticated and request.method in permissions.SAFE_METHODS


def api_rate() -> str:
    """The per-token rate from ``SEXTANT_API_RATE`` (e.g. ``600/min``, ``20/s``), read on each request."""
    rate = os.environ.get(RATE_ENV, "").strip() or DEFAULT_RATE
    match = _RATE.match(rate)
    if not match or int(match.group(1)) < 1:
        raise ImproperlyConfigured(
            f"{RATE_ENV} must look like '600/min' (number/s|min|hour|day), got {rate!r}"
        )
    return f"{match.group(1)}/{match.group(2)}"


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """One bucket per API token (else per user, else per client address)."""

    scope = "sextant_api"

    def get_rate(self) -> str:
        return api_rate()

    def get_cache_key(self, request: Request, view: Any) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"addr-{self.get_ident(request)}"
        return f"throttle_{self.scope}_{ident}"
