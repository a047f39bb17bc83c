"""Web helpers around the one access object (``metrics.core.access``): role checks for views, and the
query conditions that hide people.

Every page asks ``request_access(request)`` once; queries that touch a person (PR authors, the people
table, the author filter) go through ``person_visible_q``/``people_visible`` so that a manager sees the
people of their own teams (and the teams below them) and nobody else's, by any URL or parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from metrics.core import access as core_access
from metrics.core.access import Access
from metrics.core.models import TeamMembership, team_subtree  # noqa: F401 - re-exported for web modules
from metrics.web.models import UserProfile

Role = UserProfile.Role
MANAGER_GROUP = "manager"  # kept in step with the role by services.user_role_set (Django admin use)


def user_role(user: AbstractBaseUser | AnonymousUser) -> str:
    return core_access.for_user(user).role


def request_access(request: HttpRequest) -> Access:
    """The request's access (``metrics.core.access``), computed once per request."""
    return core_access.for_request(request)


def membership_at_q(team_ids: Iterable[int], at: str = "pr_time") -> Exists:
    """A PR queryset condition: its author was in one of ``team_ids`` at ``at`` (an annotation name)."""
    return Exists(
        TeamMembership.objects.filter(
            TeamMembership.at_q(OuterRef(at)),
            person_id=OuterRef("author_id"),
            team_id__in=list(team_ids),
        )
    )


def pr_time() -> Coalesce:
    """When a PR counts for a team: its merge, else its opening (open and closed PRs)."""
    return Coalesce(F("merged_at"), F("created_at"))


def people_visible(access: Access) -> Q:
    """A Person queryset condition: people whose names this user may see."""
    if access.people_team_ids is None:
        return Q()
    return Q(memberships__team_id__in=list(access.people_team_ids))


def role_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Login required, then one of ``roles`` (else a 403 page that says who may open it)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request_access(request).role not in roles:
                message = f"This page is for {' and '.join(r + 's' for r in roles)} only."
                return render(
                    request, "dashboards/error.html", {"title": "Not allowed", "message": message}, status=403
                )
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator
