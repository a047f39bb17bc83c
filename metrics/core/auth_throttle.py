"""The one throttle of every way to sign in: the login page, /admin/login/, HTTP Basic and bearer tokens on
the API, password-reset requests.

Failures are counted per (account, client address) and per client address, never per account alone: an
outsider failing on someone's account locks that account only for the outsider's own address, and an
address failing on many accounts (spraying made-up names) is blocked as a whole.  So nobody can lock
someone else out from another address.  Behind the documented proxy (``BEHIND_PROXY``) the client address
is the one the proxy appended to ``X-Forwarded-For``, not the proxy's own.

The check runs in :class:`ThrottledModelBackend` (``AUTHENTICATION_BACKENDS``), which every password check
goes through, before the password is even hashed; a refused attempt marks the request and
:class:`AuthThrottleMiddleware` turns whatever the page or the API answered into a 429.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse

BLOCKED_ATTR = "_sextant_auth_blocked"


def client_address(request: Any) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind the proxy the entry the proxy appended to
    ``X-Forwarded-For`` (entries to its left come from the client and can be forged)."""
    meta = request.META
    if getattr(settings, "BEHIND_PROXY", False):
        hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        trusted = max(1, int(getattr(settings, "TRUSTED_PROXY_COUNT", 1)))
        if len(hops) >= trusted:
            return hops[-trusted][:64]
    return str(meta.get("REMOTE_ADDR") or "unknown")[:64]


def _account(value: str) -> str:
    # Hashed: the key stays short and no typed-in name (or a password typed as the name) is stored.
    return hashlib.sha256(value.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]


def _count(key: str) -> int:
    return int(cache.get(key) or 0)


def _bump(key: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    cache.add(key, 0, window)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)


def _keys(kind: str, address: str, account: str | None) -> tuple[str, str | None]:
    pair = None if account is None else f"auth-fail:{kind}:pair:{_account(account)}:{address}"
    return f"auth-fail:{kind}:addr:{address}", pair


def is_blocked(request: Any, account: str | None, *, kind: str = "login") -> bool:
    address_key, pair_key = _keys(kind, client_address(request), account)
    limits = limits_for(kind)
    if _count(address_key) >= limits[0]:
        return True
    return pair_key is not None and _count(pair_key) >= limits[1]


def record(request: Any, account: str | None, *, kind: str = "login") -> None:
    """Count one failure (one request, for password resets) of ``account`` from the request's address."""
    for key in _keys(kind, client_address(request), account):
        if key is not None:
            _bump(key)


def forgive(request: Any, account: str) -> None:
    """A successful sign-in clears the failures of that account from that address."""
    _address_key, pair_key = _keys("login", client_address(request), account)
    if pair_key is not None:
        cache.delete(pair_key)


def limits_for(kind: str) -> tuple[int, int]:
    """(per address, per account and address)."""
    if kind == "reset":
        return settings.PASSWORD_RESET_MAX_PER_ADDRESS, settings.PASSWORD_RESET_MAX_PER_ACCOUNT
    return settings.LOGIN_MAX_FAILURES_PER_ADDRESS, settings.LOGIN_MAX_FAILURES


def mark_blocked(request: Any) -> None:
    # A DRF Request wraps the HttpRequest the middleware sees.
    setattr(getattr(request, "_request", request), BLOCKED_ATTR, True)


class ThrottledModelBackend(ModelBackend):
    """Django's username/password check behind the throttle: every password sign-in goes through here."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None:  # management commands, shell: no address to throttle on
            return super().authenticate(request, username=username, password=password, **kwargs)
        if username is None and kwargs.get("username") is None:
            return None  # not a password sign-in (single sign-on's code and state): nothing to count
        account = str(username if username is not None else kwargs.get("username", ""))[:150]
        if is_blocked(request, account):
            mark_blocked(request)
            raise PermissionDenied("too many failed sign-in attempts")  # stops authenticate() here
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            record(request, account)
        else:
            forgive(request, account)
        return user


def too_many(request: HttpRequest, what: str = "failed sign-in attempts") -> HttpResponse:
    seconds = settings.LOGIN_FAILURE_WINDOW_SECONDS
    message = f"Too many {what}. Try again in {max(1, seconds // 60)} minutes."
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(seconds)
    return response


class AuthThrottleMiddleware:
    """Whatever a refused sign-in would have answered (the form again, DRF's 401/403) becomes a 429."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, BLOCKED_ATTR, False):
            return too_many(request)
        return response
