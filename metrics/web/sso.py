"""Single sign-on with OpenID Connect, on mozilla-django-oidc (authorization code flow with PKCE and nonce).

- The provider's endpoints come from its discovery document (``OIDC_DISCOVERY_URL``), fetched when first
  needed and kept for an hour, so Sextant starts even while the provider is down.
- The ID token is checked by the library (signature against the provider's JWKS, expiry, nonce) and here
  for its issuer and audience too, which the library leaves out.
- The role: the provider's groups claim (``OIDC_GROUPS_CLAIM``) through ``settings.OIDC_ROLE_GROUPS``,
  decided by ``metrics.core.access.role_for_groups`` (the one home of who may see what); a manager's
  teams through ``OIDC_TEAM_GROUPS``.  Each sign-in sets the profile again (``services.user_role_set``),
  so the identity provider stays the source of truth.  Nobody without a mapped group gets an account or a
  session: they land on a page saying why.
- Just-in-time accounts: the first sign-in creates the user (no usable password), matched afterwards by
  e-mail address; an unverified e-mail (``email_verified: false``) is refused.
- ``LOCAL_LOGIN_ENABLED=false`` drops the password backend altogether (settings.py): the login page
  shows the single sign-on button only.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from metrics.core.access import MANAGER, role_for_groups
from metrics.core.models import Team
from metrics.web.services import user_role_set

logger = logging.getLogger(__name__)
DISCOVERY_PATH = "/.well-known/openid-configuration"
DISCOVERY_TTL_SECONDS = 3600
DENIED_KEY = "sextant_sso_denied"
_discovered: dict[str, tuple[float, dict[str, Any]]] = {}


class ProviderUnavailable(RuntimeError):
    """The discovery document could not be read: the message says why (no secret in it)."""


def discovery_url() -> str:
    url = settings.OIDC_DISCOVERY_URL.rstrip("/")
    return url if url.endswith(DISCOVERY_PATH) else url + DISCOVERY_PATH


def discovery() -> dict[str, Any]:
    """The provider's metadata (issuer and endpoints), cached per process for an hour."""
    url = discovery_url()
    cached = _discovered.get(url)
    if cached is not None and time.monotonic() - cached[0] < DISCOVERY_TTL_SECONDS:
        return cached[1]
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(
            f"the identity provider's discovery document {url} could not be read"
        ) from exc
    needed = ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
    missing = [key for key in needed if not isinstance(document.get(key), str)]
    if missing:
        raise ProviderUnavailable(f"the discovery document {url} has no {', '.join(missing)}")
    _discovered[url] = (time.monotonic(), document)
    return document


def _claim(claims: dict[str, Any], name: str) -> list[str]:
    """A claim as a list of strings; ``name`` may be a dotted path (``realm_access.roles``)."""
    value: Any = claims
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def grant(claims: dict[str, Any]) -> tuple[str, list[Team]]:
    """The role and teams ``claims`` give, or ``PermissionError`` saying why there is no access."""
    if not claims.get("email"):
        raise PermissionError("the identity provider sent no e-mail address for your account")
    if claims.get("email_verified") is False:
        raise PermissionError("your e-mail address is not verified at the identity provider")
    groups = _claim(claims, settings.OIDC_GROUPS_CLAIM)
    role = role_for_groups(groups, settings.OIDC_ROLE_GROUPS)
    if role is None:
        raise PermissionError("none of your groups at the identity provider is given a Sextant role")
    slugs = {settings.OIDC_TEAM_GROUPS[g] for g in groups if g in settings.OIDC_TEAM_GROUPS}
    teams = list(Team.objects.filter(slug__in=slugs).order_by("slug"))
    unknown = slugs - {t.slug for t in teams}
    if unknown:
        logger.warning("OIDC_TEAM_GROUPS names teams that do not exist: %s", ", ".join(sorted(unknown)))
    if role == MANAGER and not teams:
        raise PermissionError("your groups make you a manager, but none of them is mapped to a team")
    return role, teams


class SextantOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend with discovered endpoints, issuer/audience checks and the mapping."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # no network here: endpoints when used
        self.UserModel = get_user_model()

    OIDC_RP_IDP_SIGN_KEY = None

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return discovery()["token_endpoint"]

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return discovery()["userinfo_endpoint"]

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return discovery()["jwks_uri"]

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:
        return settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:
        return settings.OIDC_RP_CLIENT_SECRET

    @property
    def OIDC_RP_SIGN_ALGO(self) -> str:
        return settings.OIDC_RP_SIGN_ALGO

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        if not settings.OIDC_ENABLED or request is None or "code" not in request.GET:
            return None  # a password sign-in, or single sign-on is off
        return super().authenticate(request, **kwargs)

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        try:
            payload = super().verify_token(token, **kwargs)
        except jwt.InvalidTokenError as exc:  # expired, not yet valid, malformed: the library lets these out
            raise SuspiciousOperation(f"ID token rejected: {type(exc).__name__}") from exc
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if payload.get("iss") != discovery()["issuer"] or settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token issuer or audience does not match")
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        try:
            self._grant = grant(claims)
        except PermissionError as exc:
            self.request.session[DENIED_KEY] = str(exc)
            return False
        return True

    def get_username(self, claims: dict[str, Any]) -> str:
        """``preferred_username``, else the e-mail address, whichever is free; else the library's hash."""
        for wanted in (claims.get("preferred_username"), claims.get("email")):
            name = str(wanted or "").strip()[:150]
            if name and not self.UserModel.objects.filter(username__iexact=name).exists():
                return name
        return super().get_username(claims)

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = self.UserModel.objects.create_user(self.get_username(claims), email=claims["email"])
        return self.update_user(user, claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        if not user.is_active:
            self.request.session[DENIED_KEY] = "your Sextant account is deactivated"
            raise SuspiciousOperation("inactive user")
        user.first_name = str(claims.get("given_name") or user.first_name)[:150]
        user.last_name = str(claims.get("family_name") or user.last_name)[:150]
        user.save(update_fields=["first_name", "last_name"])
        role, teams = self._grant
        user_role_set(user=user, role=role, team_ids=[t.id for t in teams])
        return user


def _enabled(request: HttpRequest) -> None:
    if not settings.OIDC_ENABLED:
        raise Http404("single sign-on is not configured")


class SignOnStart(OIDCAuthenticationRequestView):
    """Redirect to the provider's authorization endpoint (found by discovery)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponse:
        _enabled(request)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = discovery()["authorization_endpoint"]
        except ProviderUnavailable as exc:
            logger.warning("single sign-on: %s", exc)
            return _denied(request, "the identity provider cannot be reached; try again later", 503)
        return super().get(request)


class SignOnCallback(OIDCAuthenticationCallbackView):
    def get(self, request: HttpRequest) -> HttpResponse:
        _enabled(request)
        try:
            return super().get(request)
        except ProviderUnavailable as exc:
            logger.warning("single sign-on: %s", exc)
            return _denied(request, "the identity provider cannot be reached; try again later", 503)
        except SuspiciousOperation as exc:  # a forged, expired or someone else's ID token
            logger.warning("single sign-on refused: %s", exc)
            return _denied(request, "the identity provider's answer could not be verified", 403)


def _denied(request: HttpRequest, reason: str, status: int = 403) -> HttpResponse:
    return render(request, "registration/sso_denied.html", {"reason": reason}, status=status)


def sso_denied(request: HttpRequest) -> HttpResponse:
    """Where a refused single sign-on lands: no session, and why."""
    _enabled(request)
    reason = request.session.pop(DENIED_KEY, "") or "the identity provider did not confirm your sign-in"
    return _denied(request, reason)


class LoginView(auth_views.LoginView):
    """The login page: the password form (unless LOCAL_LOGIN_ENABLED is off) and the single sign-on button."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sso"] = {
            "enabled": settings.OIDC_ENABLED,
            "name": settings.OIDC_PROVIDER_NAME,
            "local": settings.LOCAL_LOGIN_ENABLED,
        }
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.LOCAL_LOGIN_ENABLED:
            return _denied(request, "password sign-in is turned off here: use single sign-on", 403)
        return super().post(request, *args, **kwargs)


urlpatterns = [
    path("oidc/authenticate/", SignOnStart.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", SignOnCallback.as_view(), name="oidc_authentication_callback"),
    path("sso/denied/", sso_denied, name="sso_denied"),
]
