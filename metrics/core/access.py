"""Who is asking and what they may see: the one access decision for every surface.

Web views, templates (``{{ access }}``, from ``context_processor``), the API (session users and tokens
alike), surveys and reports all ask an ``Access``; nothing else decides a role.  The rules are the
README's role table:

- ``admin`` (every superuser too): everything, settings, every person's name;
- ``manager``: every team's figures and money; names (people tables, author filter, API names) only of
  the teams in their Sextant profile and every team below them; opens survey rounds for those teams;
- ``executive``: every team's figures, costs and ROI; never a name;
- ``viewer``: every team's figures, without names or money.

The role comes from the Sextant profile (``user.sextant_profile``), never from Django's ``is_staff``:
a user without a profile is a viewer.  An API token carries its own role; a token limited to teams
sees only those teams (and the teams below them) at all (``team_ids``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import SimpleLazyObject

from metrics.core.models import team_subtree

ADMIN, MANAGER, EXECUTIVE, VIEWER = "admin", "manager", "executive", "viewer"
ROLES = (ADMIN, MANAGER, EXECUTIVE, VIEWER)
MONEY_ROLES = frozenset({ADMIN, MANAGER, EXECUTIVE})
_CACHE_ATTRIBUTE = "_sextant_access"


@dataclass(frozen=True)
class Access:
    """``people_team_ids``: whose names may be seen (None: everyone's).  ``team_ids``: the data scope
    (None: every team; an API token limited to teams: those teams and their sub-teams)."""

    role: str
    people_team_ids: frozenset[int] | None = frozenset()
    team_ids: frozenset[int] | None = None
    authenticated: bool = True

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def sees_settings(self) -> bool:
        return self.role == ADMIN

    @property
    def sees_money(self) -> bool:
        """Costs, seat spend, ROI net values."""
        return self.role in MONEY_ROLES

    @property
    def sees_all_people(self) -> bool:
        return self.people_team_ids is None

    @property
    def sees_any_people(self) -> bool:
        return self.people_team_ids is None or bool(self.people_team_ids)

    def sees_people_of(self, team_id: int) -> bool:
        return self.people_team_ids is None or team_id in self.people_team_ids

    def allows_team(self, team_id: int) -> bool:
        return self.team_ids is None or team_id in self.team_ids

    @property
    def sees_delivery(self) -> bool:
        """The delivery page (DORA's keys, deployments, incidents): figures of repositories, never a
        person, so every role that sees figures (the team scope still applies)."""
        return self.authenticated and self.role in ROLES

    @property
    def reads_reports(self) -> bool:
        return self.role in (ADMIN, MANAGER)

    @property
    def edits_report_schedules(self) -> bool:
        return self.role == ADMIN

    @property
    def sends_reports(self) -> bool:
        """Previews a schedule's next report and sends it now (to the schedule's own audience)."""
        return self.role in (ADMIN, MANAGER)

    @property
    def plans_experiments(self) -> bool:
        """Plans, freezes and revises AI rollout experiments and downloads their assignment list (names);
        every role reads their aggregate results."""
        return self.role == ADMIN

    @property
    def manages_surveys(self) -> bool:
        """Opens survey rounds and reads their (floored) free-text comments."""
        return self.role in (ADMIN, MANAGER)

    @property
    def survey_team_ids(self) -> frozenset[int] | None:
        """The teams a round may be opened for (None: every team)."""
        if not self.manages_surveys:
            return frozenset()
        return self.people_team_ids

    def may_open_survey_for(self, team_ids: Iterable[int]) -> bool:
        allowed = self.survey_team_ids
        return self.manages_surveys and (allowed is None or set(team_ids) <= allowed)

    @classmethod
    def anonymous(cls) -> Access:
        return cls(role=VIEWER, authenticated=False)

    @classmethod
    def report_audience(cls) -> Access:
        """Who reads an e-mailed or archived executive report: any recipient address, so no names."""
        return cls(role=EXECUTIVE)


def _profile(user: Any) -> Any:
    # The reverse one-to-one raises RelatedObjectDoesNotExist (an AttributeError) when there is none.
    return getattr(user, "sextant_profile", None)


def for_user(user: Any) -> Access:
    """A signed-in user's access, from their Sextant profile (a superuser is always an admin)."""
    if user is None or not user.is_authenticated:
        return Access.anonymous()
    if getattr(user, "is_superuser", False):
        return Access(role=ADMIN, people_team_ids=None)
    profile = _profile(user)
    role = str(profile.role) if profile is not None and profile.role in ROLES else VIEWER
    if role == ADMIN:
        return Access(role=ADMIN, people_team_ids=None)
    if role == MANAGER:
        own = set(profile.teams.values_list("id", flat=True))
        return Access(role=MANAGER, people_team_ids=team_subtree(own))
    return Access(role=role)


def for_token(token: Any) -> Access:
    """An API token's access: its role, and its teams (with sub-teams) unless it covers all teams.
    Admin and manager tokens see the names of the people within their scope."""
    role = str(token.role) if token.role in ROLES else VIEWER
    scope = None if token.all_teams else team_subtree(set(token.teams.values_list("id", flat=True)))
    people = scope if role in (ADMIN, MANAGER) else frozenset()
    return Access(role=role, people_team_ids=people, team_ids=scope)


def role_for_groups(groups: Iterable[str], role_groups: dict[str, Iterable[str]]) -> str | None:
    """The Sextant role single sign-on grants (``settings.OIDC_ROLE_GROUPS``: role -> identity-provider
    groups): the highest role any of ``groups`` maps to, in ``ROLES`` order; None when none maps (no
    access at all, not even a viewer's)."""
    held = set(groups)
    return next((role for role in ROLES if held & set(role_groups.get(role, ()))), None)


def for_request(request: Any, token: Any = None) -> Access:
    """The request's access, computed once per request (``token``: the API token that signed it)."""
    cached = getattr(request, _CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = for_token(token) if token is not None else for_user(getattr(request, "user", None))
        setattr(request, _CACHE_ATTRIBUTE, cached)
    return cached


def context_processor(request: Any) -> dict[str, Any]:
    """``access`` in every template, computed only if the template asks."""
    return {"access": SimpleLazyObject(lambda: for_request(request))}
