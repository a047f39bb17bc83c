"""``Authorization: Bearer <token>`` for BI tools, beside session (browsable API) and basic auth."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from metrics.api.models import ApiToken
from metrics.api.tokens import api_token_find, api_token_touch
from metrics.core import auth_throttle


class TokenUser:
    """The ``request.user`` of a token request: authenticated, but no Django account behind it."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, token: ApiToken) -> None:
        self.token = token
        self.username = f"token:{token.prefix}"

    def __str__(self) -> str:
        return f"API token {self.token.name!r}"

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[TokenUser, ApiToken] | None:
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # not ours: session or basic auth may apply
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: expected Bearer <token>.")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid API token.") from exc
        # Token guesses count against the client address in the one sign-in throttle.
        if auth_throttle.is_blocked(request, None):
            auth_throttle.mark_blocked(request)
            raise exceptions.AuthenticationFailed("Too many failed sign-in attempts.")
        token = api_token_find(raw=raw)
        if token is None:
            auth_throttle.record(request, None)
            raise exceptions.AuthenticationFailed("Invalid API token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("API token revoked.")
        api_token_touch(token=token)
        return TokenUser(token), token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API token: sxt_<prefix>_<secret>"}
