"""API token services: create (the raw token is returned once and never stored), find, revoke.

A token reads ``sxt_<prefix>_<secret>``: ``prefix`` (8 hex characters, stored and shown in the admin)
finds the row, ``sha256`` of the whole token is compared in constant time.  The secret is 32 random
bytes, so a plain (unsalted) sha256 is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from metrics.api.models import ApiToken
from metrics.core.models import Team

TOKEN_PREFIX = "sxt_"  # noqa: S105 (a marker, not a secret)
# last_used_at is written at most once per this interval, so reads do not turn into writes.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


class TokenError(ValueError):
    """Bad input to a token service (unknown team, bad role, empty name)."""


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _new_raw_token() -> tuple[str, str]:
    prefix = secrets.token_hex(4)
    return prefix, f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def api_token_issue(*, token: ApiToken) -> str:
    """Give an unsaved token a fresh secret; returns the raw token (the only time it exists)."""
    prefix, raw = _new_raw_token()
    while ApiToken.objects.filter(prefix=prefix).exists():  # 2**32 prefixes: a clash is rare, not impossible
        prefix, raw = _new_raw_token()
    token.prefix, token.token_hash = prefix, token_hash(raw)
    return raw


@transaction.atomic
def api_token_create(
    *, name: str, role: str, team_slugs: Iterable[str] = (), created_by_id: int | None = None
) -> tuple[ApiToken, str]:
    """Create a token; no ``team_slugs`` means every team.  Returns (token, raw token)."""
    name = name.strip()
    if not name:
        raise TokenError("name must not be empty")
    if role not in ApiToken.Role.values:
        raise TokenError(f"role {role!r} is not one of {', '.join(ApiToken.Role.values)}")
    slugs = list(dict.fromkeys(team_slugs))
    teams = list(Team.objects.filter(slug__in=slugs))
    missing = sorted(set(slugs) - {t.slug for t in teams})
    if missing:
        raise TokenError(f"no team with slug {', '.join(repr(s) for s in missing)}")
    token = ApiToken(name=name, role=role, all_teams=not slugs, created_by_id=created_by_id)
    raw = api_token_issue(token=token)
    token.save()
    token.teams.set(teams)
    return token, raw


def api_token_find(*, raw: str) -> ApiToken | None:
    """The token whose hash matches ``raw`` (revoked or not), else None."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    prefix, sep, _secret = raw[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(prefix) != 8:
        return None
    token = ApiToken.objects.filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.token_hash, token_hash(raw)):
        return None
    return token


def api_token_touch(*, token: ApiToken) -> None:
    """Record use, at most once per ``LAST_USED_RESOLUTION`` (a conditional update, no read-modify-write)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def api_token_revoke(*, tokens: Iterable[ApiToken] | None = None, ids: Iterable[int] = ()) -> int:
    """Revoke tokens (already revoked ones keep their first revocation time); returns how many."""
    pks = [t.pk for t in tokens or ()] + list(ids)
    return ApiToken.objects.filter(pk__in=pks, revoked_at__isnull=True).update(revoked_at=timezone.now())
