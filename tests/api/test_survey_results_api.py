"""/api/v1/survey-results/: floor applied, subtraction case included, scoped tokens, CSV, bad input."""

from __future__ import annotations

import pytest
from django.test import Client

from metrics.api.tokens import api_token_create
from metrics.core.models import Team
from tests.factories import make_response, make_round, make_team_members

pytestmark = pytest.mark.django_db


def bearer(role: str, teams: list[Team] | None = None) -> dict[str, str]:
    _, raw = api_token_create(name=f"t-{role}", role=role, team_slugs=[t.slug for t in teams or []])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def survey() -> tuple[int, Team, Team, Team]:
    parent = Team.objects.create(name="Product", slug="product")
    big = Team.objects.create(name="Checkout", slug="checkout", parent=parent)
    small = Team.objects.create(name="Search", slug="search", parent=parent)
    survey_round = make_round(teams=[parent])
    for team, n, score in ((big, 5, 4), (small, 2, 1)):
        for person in make_team_members(team, n):
            make_response(survey_round=survey_round, team=team, person=person, overall=score)
    return survey_round.pk, parent, big, small


def test_floor_applied_including_subtraction(client: Client, survey: tuple[int, Team, Team, Team]) -> None:
    round_id, parent, big, small = survey
    body = client.get(f"/api/v1/survey-results/?round={round_id}", **bearer("executive")).json()
    by_team = {}
    for row in body["results"]:
        by_team.setdefault(row["team"], []).append(row)
    parent_rows = by_team[parent.name]
    overall = next(r for r in parent_rows if r["question"] == "overall_satisfaction")
    assert overall["n"] == 7 and overall["mean"] == pytest.approx((5 * 4 + 2 * 1) / 7)
    # Checkout (5) beside Product (7) would reveal Search's 2 answers by subtraction: hidden too.
    assert {r["hidden"] for r in by_team[big.name]} == {"subtraction"}
    assert {r["hidden"] for r in by_team[small.name]} == {"small"}
    assert all(
        r["mean"] is None and r["respondents"] is None for r in by_team[big.name] + by_team[small.name]
    )
    assert body["min_group_size"] == 5


def test_scoped_token_csv_and_bad_round(client: Client, survey: tuple[int, Team, Team, Team]) -> None:
    round_id, _, big, _ = survey
    rows = client.get(f"/api/v1/survey-results/?round={round_id}", **bearer("viewer", [big])).json()[
        "results"
    ]
    assert {r["team"] for r in rows} == {big.name}
    csv_text = client.get(
        f"/api/v1/survey-results/?round={round_id}&format=csv", **bearer("admin")
    ).content.decode()
    assert csv_text.splitlines()[0].startswith("round_id,round,group,team,hidden")
    assert client.get("/api/v1/survey-results/?round=abc", **bearer("admin")).status_code == 400
    assert client.get("/api/v1/survey-results/?round=999999", **bearer("admin")).status_code == 404
    assert client.get(f"/api/v1/survey-results/?round={round_id}").status_code == 403
