"""/api/v1/ai-impact/ and /api/v1/ai-roi/ on the demo organization."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from metrics.api.tokens import api_token_create
from metrics.core.models import Team
from metrics.ingestion.models import AIImpactEstimate, AIRoiMonth

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(small_demo: None) -> None:
    """The small demo, loaded once for the module (tests/conftest.py)."""


def bearer(role: str, teams: list[Team] | None = None) -> dict[str, str]:
    _, raw = api_token_create(name=f"t-{role}", role=role, team_slugs=[t.slug for t in teams or []])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_ai_impact_rows_match_the_table(client: Client, demo: None) -> None:
    response = client.get(
        "/api/v1/ai-impact/?scope=organization&outcome=cycle_time&method=adjusted&rule=any",
        **bearer("executive"),
    )
    assert response.status_code == 200
    [row] = response.json()["results"]
    stored = AIImpactEstimate.objects.get(
        scope="organization", outcome="cycle_time", method="adjusted", rule="any"
    )
    assert (row["estimate"], row["ci_low"], row["ci_high"], row["n"], row["status"]) == (
        stored.estimate,
        stored.ci_low,
        stored.ci_high,
        stored.n,
        stored.status,
    )


def test_team_scoped_token_sees_only_its_teams(client: Client, demo: None) -> None:
    team = Team.objects.filter(parent__isnull=False).order_by("slug").first()
    assert team is not None
    rows = client.get("/api/v1/ai-impact/?page_size=1000", **bearer("viewer", [team])).json()["results"]
    assert rows and {r["team"] for r in rows} == {team.slug} and {r["scope"] for r in rows} == {"team"}
    roi = client.get("/api/v1/ai-roi/?page_size=1000", **bearer("viewer", [team])).json()["results"]
    assert all(r["team"] == team.slug for r in roi)


def test_ai_roi_csv_and_bad_filters(client: Client, demo: None) -> None:
    headers = bearer("admin")
    response = client.get("/api/v1/ai-roi/?format=csv", **headers)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == AIRoiMonth.objects.count() > 0
    assert {"month", "tool", "team", "measured_hours_low", "reported_net_high"} <= set(rows[0])
    bad = client.get("/api/v1/ai-roi/?since=yesterday", **headers)
    assert bad.status_code == 400 and bad.json()["detail"].startswith("since")
    assert client.get("/api/v1/ai-impact/?method=guess", **headers).status_code == 400
