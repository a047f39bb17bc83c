"""What the logged-in user may see: their role and the teams whose people they may see.

Every page asks ``request_access(request)`` once; queries that touch a person (PR authors, the people
table, the author filter) go through ``person_visible_q``/``people_visible`` so that a manager sees the
people of their own teams (and the teams below them) and nobody else's, by any URL or parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from metrics.core.models import TeamMembership, team_subtree
from metrics.web.models import UserProfile

Role = UserProfile.Role
MANAGER_GROUP = "manager"  # the surveys pages recognise managers by this Django group


@dataclass(frozen=True)
class Access:
    """``people_team_ids``: None = every team's people (admin); else the teams whose people are visible."""

    role: str
    people_team_ids: frozenset[int] | None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def sees_any_people(self) -> bool:
        return self.people_team_ids is None or bool(self.people_team_ids)

    @property
    def sees_money(self) -> bool:
        return self.role != Role.VIEWER

    def sees_people_of(self, team_id: int) -> bool:
        return self.people_team_ids is None or team_id in self.people_team_ids




def user_role(user: AbstractBaseUser | AnonymousUser) -> str:
    if not user.is_authenticated:
        return Role.VIEWER
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    profile = UserProfile.objects.filter(user_id=user.pk).first()
    if profile is not None:
        return str(profile.role)
    if user.groups.filter(name=MANAGER_GROUP).exists():  # type: ignore[union-attr]
        return Role.MANAGER
    return Role.VIEWER


def user_access(user: AbstractBaseUser | AnonymousUser) -> Access:
    role = user_role(user)
    if role == Role.ADMIN:
        return Access(role=role, people_team_ids=None)
    if role == Role.MANAGER:
        own = UserProfile.teams.through.objects.filter(userprofile__user_id=user.pk).values_list(
            "team_id", flat=True
        )
        return Access(role=role, people_team_ids=team_subtree(own))
    return Access(role=role, people_team_ids=frozenset())


def request_access(request: HttpRequest) -> Access:
    """The request's access, computed once per request."""
    cached = getattr(request, "_sextant_web_access", None)
    if cached is None:
        cached = user_access(request.user)
        request._sextant_web_access = cached  # type: ignore[attr-defined]
    return cached


def membership_at_q(team_ids: Iterable[int], at: str = "pr_time") -> Exists:
    """A PR queryset condition: its author was in one of ``team_ids`` at ``at`` (an annotation name)."""
    return Exists(
        TeamMembership.objects.filter(
            Q(start__isnull=True) | Q(start__lte=OuterRef(at)),
            Q(end__isnull=True) | Q(end__gt=OuterRef(at)),
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
