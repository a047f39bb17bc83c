"""The one access object: roles from the Sextant profile (never is_staff), team scope, and a privacy
floor no caller can lower."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.test import override_settings

from metrics.api.tokens import api_token_create
from metrics.core import access
from metrics.ingestion.surveys import survey_round_results
from metrics.web.models import UserProfile
from tests.factories import make_response, make_round, make_team

pytestmark = pytest.mark.django_db


def user(name: str, role: str = "", *, staff: bool = False, teams: tuple = ()) -> object:
    made = get_user_model().objects.create_user(username=name, is_staff=staff)
    if role:
        UserProfile.objects.create(user=made, role=role).teams.set(teams)
    return made


def test_is_staff_decides_nothing() -> None:
    staff = access.for_user(user("s", staff=True))
    assert (staff.role, staff.sees_money, staff.sees_any_people, staff.sees_settings) == (
        "viewer",
        False,
        False,
        False,
    )
    assert access.for_user(user("v", "viewer", staff=True)).role == "viewer"
    assert access.for_user(AnonymousUser()) == access.Access.anonymous()
    root = get_user_model().objects.create_superuser(username="root")
    assert access.for_user(root).is_admin and access.for_user(root).sees_all_people


def test_manager_scope_is_their_teams_and_below() -> None:
    top, other = make_team(slug="top"), make_team(slug="other")
    child = make_team(slug="child", parent=top)
    grandchild = make_team(slug="grandchild", parent=child)
    manager = access.for_user(user("m", "manager", teams=(child,)))
    assert manager.people_team_ids == {child.pk, grandchild.pk}
    assert manager.survey_team_ids == {child.pk, grandchild.pk}
    assert manager.may_open_survey_for([grandchild.pk]) and not manager.may_open_survey_for([top.pk])
    assert manager.sees_money and manager.reads_reports and not manager.edits_report_schedules
    assert not manager.sees_people_of(other.pk)


def test_tokens_carry_their_role_and_scope() -> None:
    top = make_team(slug="top")
    child = make_team(slug="child", parent=top)
    token, _ = api_token_create(name="m", role="manager", team_slugs=["top"])
    scoped = access.for_token(token)
    assert scoped.team_ids == scoped.people_team_ids == {top.pk, child.pk}
    viewer, _ = api_token_create(name="v", role="viewer")
    assert access.for_token(viewer) == access.Access(role="viewer", team_ids=None)
    assert not access.for_token(viewer).sees_money


@override_settings(MIN_GROUP_SIZE=5)
def test_no_caller_can_lower_the_survey_floor() -> None:
    team = make_team(slug="tiny")
    survey_round = make_round(teams=[team])
    for _ in range(3):
        make_response(survey_round=survey_round, team=team)
    results = survey_round_results(survey_round=survey_round, min_size=1)
    assert results.min_size == 5
    assert set(results.groups["hidden"]) != {""}  # three respondents stay hidden
