"""Who is asking and what they may see: role, team scope, read-only permission, per-token throttle."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework import permissions, throttling
from rest_framework.request import Request

from metrics.api.models import ApiToken
from metrics.core.models import team_subtree

NAME_ROLES = frozenset({ApiToken.Role.ADMIN, ApiToken.Role.MANAGER})
RATE_ENV = "SEXTANT_API_RATE"
DEFAULT_RATE = "600/min"
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")


@dataclass(frozen=True)
class Access:
    """``team_ids`` None = every team; else the token's teams and all their descendants."""

    role: str
    team_ids: frozenset[int] | None

    @property
    def sees_names(self) -> bool:
        return self.role in NAME_ROLES

    @property
    def scoped(self) -> bool:
        return self.team_ids is not None

    def allows_team(self, team_id: int) -> bool:
        return self.team_ids is None or team_id in self.team_ids




def _user_role(user: Any) -> str:
    if getattr(user, "is_superuser", False):
        return ApiToken.Role.ADMIN
    if getattr(user, "is_staff", False):
        return ApiToken.Role.MANAGER
    return ApiToken.Role.VIEWER


def request_access(request: Request) -> Access:
    """The request's access, computed once per request."""
    cached = getattr(request, "_sextant_access", None)
    if cached is not None:
        return cached
    token = request.auth if isinstance(request.auth, ApiToken) else None
    if token is None:
        access = Access(role=_user_role(request.user), team_ids=None)
    elif token.all_teams:
        access = Access(role=token.role, team_ids=None)
    else:
        access = Access(role=token.role, team_ids=team_subtree(set(token.teams.values_list("id", flat=True))))
    request._sextant_access = access
    return access


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
