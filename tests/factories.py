"""The test factories (no factory_boy): sensible defaults, keyword overrides. Teams, people, users,
repositories, snapshots, survey rounds and responses."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.utils import timezone
from django.utils.text import slugify

from metrics.core.models import Identity, Person, Repository, Team, TeamMembership
from metrics.ingestion.metric_definitions import DEFINITION_VERSION
from metrics.ingestion.models import AIImpactEstimate, MetricSnapshot, SurveyResponse, SurveyRound
from metrics.web.models import UserProfile
from metrics.web.services import user_role_set

Membership = tuple[Team, dt.datetime | None, dt.datetime | None]

_seq = itertools.count(1)


def make_team(*, name: str | None = None, slug: str | None = None, parent: Team | None = None) -> Team:
    name = name or f"Team {next(_seq)}"
    return Team.objects.create(name=name, slug=slug or slugify(name), parent=parent)


def make_team_tree() -> dict[str, Team]:
    """Product (Checkout, Search) and Platform: the team tree most database tests stand on."""
    product = make_team(name="Product", slug="product")
    return {
        "product": product,
        "checkout": make_team(name="Checkout", slug="checkout", parent=product),
        "search": make_team(name="Search", slug="search", parent=product),
        "platform": make_team(name="Platform", slug="platform"),
    }


def make_repository(
    *, full_name: str | None = None, team: Team | None = None, host: str = "git"
) -> Repository:
    return Repository.objects.create(full_name=full_name or f"acme/repo-{next(_seq)}", team=team, host=host)


def make_snapshot(
    *,
    metric: str,
    value: float | None,
    period_start: dt.date,
    n: int = 1,
    period: str = "week",
    team: Team | None = None,
    repository: Repository | None = None,
    scope: str | None = None,
    definition_version: str = DEFINITION_VERSION,
) -> MetricSnapshot:
    """One snapshot; ``scope`` follows from the foreign key given (neither -> organization)."""
    if scope is None:
        scope = "team" if team is not None else "repository" if repository is not None else "organization"
    return MetricSnapshot.objects.create(
        scope=scope,
        team=team,
        repository=repository,
        period=period,
        period_start=period_start,
        metric=metric,
        value=value,
        n=n,
        definition_version=definition_version,
    )


def make_series(
    *,
    metric: str,
    values: Iterable[float | None],
    start: dt.date,
    period: str = "week",
    n: int = 10,
    team: Team | None = None,
    repository: Repository | None = None,
) -> list[MetricSnapshot]:
    """Consecutive weekly (7-day steps) or monthly (first of month) snapshots of one metric."""
    snapshots = []
    for i, value in enumerate(values):
        if period == "week":
            period_start = start + dt.timedelta(weeks=i)
        else:
            month = start.month - 1 + i
            period_start = dt.date(start.year + month // 12, month % 12 + 1, 1)
        snapshots.append(
            make_snapshot(
                metric=metric,
                value=value,
                period_start=period_start,
                n=n,
                period=period,
                team=team,
                repository=repository,
            )
        )
    return snapshots


def make_person(
    name: str = "",
    email: str = "",
    *memberships: Membership,
    team: Team | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    is_bot: bool = False,
) -> Person:
    """A person known by ``email``, member of each (team, start, end) of ``memberships`` and of ``team``
    (from ``start`` to ``end``); named after the e-mail's local part unless named."""
    assert email, "a person needs an e-mail"
    person = Person.objects.create(display_name=name or email.split("@")[0], is_bot=is_bot)
    Identity.objects.create(person=person, kind="email", value=email, key=f"email:{email.lower()}")
    if team is not None:
        memberships = (*memberships, (team, start, end))
    for member_of, since, until in memberships:
        TeamMembership.objects.create(person=person, team=member_of, start=since, end=until)
    return person


def make_team_members(
    team: Team, n: int, *, prefix: str = "", start: dt.datetime | None = None
) -> list[Person]:
    prefix = prefix or team.slug
    return [make_person(email=f"{prefix}{i}@example.com", team=team, start=start) for i in range(n)]


def make_user(
    username: str = "",
    role: str = "",
    teams: tuple[Team, ...] = (),
    *,
    email: str = "",
    manager: bool = False,
    superuser: bool = False,
    password: str | None = None,
) -> AbstractUser:
    """A user with a Sextant ``role`` (of ``teams``, for a manager); ``manager``: a manager of every top
    team, so of every team. No usable password unless given: the tests log in with ``force_login``."""
    model = get_user_model()
    username = username or f"user{next(_seq)}"
    email = email or f"{username}@example.com"
    if superuser:
        return model.objects.create_superuser(username=username, email=email, password=password)
    user = model.objects.create_user(username=username, email=email, password=password)
    if manager:  # straight to the profile: a test may make a manager before there is any team
        profile = UserProfile.objects.create(user=user, role=UserProfile.Role.MANAGER)
        profile.teams.set(Team.objects.filter(parent=None))
    elif role:
        user_role_set(user=user, role=role, team_ids=[t.pk for t in teams])
    return user


def make_round(
    *,
    teams: list[Team],
    name: str = "",
    opened_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
    open_days: float = 14,
) -> SurveyRound:
    opened_at = opened_at or timezone.now() - dt.timedelta(days=1)
    survey_round = SurveyRound.objects.create(
        name=name or f"Round {next(_seq)}",
        opened_at=opened_at,
        closes_at=closes_at if closes_at is not None else opened_at + dt.timedelta(days=open_days),
    )
    survey_round.teams.set(teams)
    return survey_round


def make_response(
    *,
    survey_round: SurveyRound,
    team: Team | None,
    person: Person | None = None,
    overall: int | None = 4,
    ease: int | None = 3,
    hours: float | None = None,
    tool: str = "",
    frequency: str = "",
    free_text: str = "",
    submitted_at: dt.datetime | None = None,
) -> SurveyResponse:
    return SurveyResponse.objects.create(
        survey_round=survey_round,
        person=person,
        team=team,
        submitted_at=submitted_at or survey_round.opened_at + dt.timedelta(hours=1),
        overall_satisfaction=overall,
        ease_of_shipping=ease,
        ai_hours_saved_per_week=hours,
        ai_tool=tool,
        ai_frequency=frequency,
        free_text=free_text,
        source="csv",
        external_id=f"test-{next(_seq)}",
    )


ESTIMATE = {
    "scope": "organization",
    "outcome": "cycle_time",
    "method": "adjusted",
    "rule": "any",
    "unit": "percent_change",
    "status": "ok",
    "n": 400,
    "n_treated": 100,
    "n_clusters": 30,
    "definition_version": "1.1",
}


def make_estimate(**fields: Any) -> AIImpactEstimate:
    """An AI-impact estimate row: an adjusted cycle-time estimate of the organization on 400 PRs unless
    ``fields`` say otherwise (``estimate``/``ci_low``/``ci_high`` null unless given)."""
    return AIImpactEstimate.objects.create(**{**ESTIMATE, **fields})
