"""Database helpers for the survey tests: people with accounts, teams, rounds and responses."""

from __future__ import annotations

import datetime as dt
import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from metrics.core.models import Identity, Person, Team, TeamMembership
from metrics.ingestion.models import SurveyResponse, SurveyRound
from metrics.web.models import UserProfile
from tests.factories import make_team

_seq = itertools.count(1)
PASSWORD = "a-long-test-password"


def make_person(
    *,
    email: str,
    team: Team | None = None,
    name: str = "",
    is_bot: bool = False,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> Person:
    person = Person.objects.create(display_name=name or email.split("@")[0], is_bot=is_bot)
    Identity.objects.create(person=person, kind="email", value=email, key=f"email:{email.lower()}")
    if team is not None:
        TeamMembership.objects.create(person=person, team=team, start=start, end=end)
    return person


def make_user(
    *, email: str, username: str = "", manager: bool = False, superuser: bool = False
) -> AbstractBaseUser:
    model = get_user_model()
    username = username or f"user{next(_seq)}"
    if superuser:
        return model.objects.create_superuser(username=username, email=email, password=PASSWORD)
    user = model.objects.create_user(username=username, email=email, password=PASSWORD)
    if manager:  # a manager (Sextant role) of every top team present, so of every team
        profile = UserProfile.objects.create(user=user, role=UserProfile.Role.MANAGER)
        profile.teams.set(Team.objects.filter(parent=None))
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


def make_team_members(
    team: Team, n: int, *, prefix: str = "", start: dt.datetime | None = None
) -> list[Person]:
    prefix = prefix or team.slug
    return [make_person(email=f"{prefix}{i}@example.com", team=team, start=start) for i in range(n)]


__all__ = [
    "PASSWORD",
    "make_person",
    "make_response",
    "make_round",
    "make_team",
    "make_team_members",
    "make_user",
]
