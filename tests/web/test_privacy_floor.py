"""Small groups (issue 15, finding 15): a team with fewer active engineers (the n of its
``throughput_per_engineer`` snapshot) than MIN_GROUP_SIZE is one person's figures; roles that may not see
its people get none of them, on the overview, the team page and /api/v1/metrics/ (JSON and CSV).  And PR
and review rows of the API carry no author/reviewer pseudonym for those roles (repository + number lead to
the person on the host)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from metrics.api.tokens import api_token_create
from metrics.core.models import Person, Repository, Team, TeamMembership
from metrics.ingestion.models import PullRequest, Review
from metrics.web.services import user_role_set
from tests.factories import make_snapshot

pytestmark = pytest.mark.django_db
WEEK = dt.date(2025, 6, 2)
SOLO_VALUE, BIG_VALUE, ORG_VALUE = 987.25, 11.5, 13.75


@pytest.fixture
def teams(settings: Any) -> dict[str, Team]:
    settings.MIN_GROUP_SIZE = 5
    cache.clear()
    solo, big = Team.objects.create(name="Solo", slug="solo"), Team.objects.create(name="Big", slug="big")
    alice = Person.objects.create(display_name="Alice Example")
    TeamMembership.objects.create(person=alice, team=solo)
    for team, engineers, value in ((solo, 1, SOLO_VALUE), (big, 6, BIG_VALUE), (None, 7, ORG_VALUE)):
        for period, start in (("week", WEEK), ("month", dt.date(2025, 6, 1))):
            make_snapshot(
                metric="throughput_per_engineer",
                value=2.0,
                n=engineers,
                team=team,
                period=period,
                period_start=start,
            )
            make_snapshot(
                metric="cycle_time_p50",
                value=value,
                n=engineers * 3,
                team=team,
                period=period,
                period_start=start,
            )
    repo = Repository.objects.create(
        full_name="acme/solo", host="github", team=solo, url="https://github.com/acme/solo"
    )
    pr = PullRequest.objects.create(repository=repo, number=7, author=alice, title="t", state="merged")
    Review.objects.create(
        pull_request=pr, reviewer=alice, state="approved", submitted_at=dt.datetime(2025, 6, 3, tzinfo=dt.UTC)
    )
    return {"solo": solo, "big": big}


def web_client(role: str, teams: tuple[Team, ...] = ()) -> Client:
    user = get_user_model().objects.create_user(f"u-{role}-{len(teams)}", password="pw-Long-enough-1")
    user_role_set(user=user, role=role, team_ids=[t.pk for t in teams])
    client = Client()
    client.force_login(user)
    return client


def api(role: str, path: str) -> Any:
    _token, raw = api_token_create(name=f"{role}-{path}", role=role)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(path)
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.json()


@pytest.mark.parametrize("role", ["viewer", "executive"])
def test_web_hides_small_team_figures_from_roles_without_people(teams: dict[str, Team], role: str) -> None:
    client = web_client(role)
    overview = client.get("/?period=week").content.decode()
    solo = client.get("/teams/solo/?period=week").content.decode()
    big = client.get("/teams/big/?period=week").content.decode()
    assert "987" not in overview and "987" not in solo
    assert "11.5" in big or "12" in big  # the large team stays visible (formatted as the page does)


def test_web_shows_small_team_figures_to_admins_and_its_managers(teams: dict[str, Team]) -> None:
    for client in (web_client("admin"), web_client("manager", (teams["solo"],))):
        assert "987" in client.get("/teams/solo/?period=week").content.decode()
        assert "987" in client.get("/?period=week").content.decode()


def test_api_metrics_hide_small_groups_from_pseudonymous_roles(teams: dict[str, Team]) -> None:
    viewer = api("viewer", "/api/v1/metrics/?period=week")
    assert {(r["team"], r["value"]) for r in viewer["results"] if r["metric"] == "cycle_time_p50"} == {
        ("big", BIG_VALUE),
        (None, ORG_VALUE),
    }
    assert "987.25" not in api("executive", "/api/v1/metrics/?period=week&format=csv")
    assert "987.25" in api("admin", "/api/v1/metrics/?period=week&format=csv")
    assert "987.25" in api("manager", "/api/v1/metrics/?period=week&format=csv")


def test_api_pr_and_review_rows_carry_no_person_for_pseudonymous_roles(teams: dict[str, Team]) -> None:
    for role in ("viewer", "executive"):
        (pr,) = api(role, "/api/v1/pull-requests/")["results"]
        (review,) = api(role, "/api/v1/reviews/")["results"]
        assert pr["author"] is None and review["reviewer"] is None
        assert "person-" not in api(role, "/api/v1/pull-requests/?format=csv")
    (pr,) = api("admin", "/api/v1/pull-requests/")["results"]
    assert pr["author"].startswith("person-")
