from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from metrics.core.models import Repository, Team
from metrics.ingestion.metric_definitions import DEFINITION_VERSION
from tests.factories import make_repository, make_snapshot, make_team

URL = "/api/v1/metrics/"
Data = tuple[Team, Team, Repository]
W1 = dt.date(2025, 6, 2)
W2 = dt.date(2025, 6, 9)


@pytest.fixture
def data() -> Data:
    platform = make_team(name="Platform", slug="platform")
    mobile = make_team(name="Mobile", slug="mobile")
    api = make_repository(full_name="acme/api", team=platform)
    make_snapshot(team=platform, metric="cycle_time_p50", value=12.5, n=8, period_start=W1)
    make_snapshot(team=platform, metric="cycle_time_p50", value=None, n=0, period_start=W2)
    make_snapshot(team=platform, metric="revert_rate", value=0.125, n=8, period_start=W1)
    make_snapshot(team=mobile, metric="cycle_time_p50", value=3.0, n=2, period_start=W1)
    make_snapshot(repository=api, metric="merged_prs", value=8.0, n=8, period_start=W1)
    make_snapshot(metric="merged_prs", value=10.0, n=10, period_start=dt.date(2025, 6, 1), period="month")
    return platform, mobile, api


def results(client: Client, query: str = "") -> list[dict]:
    response = client.get(URL + query)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_anonymous_is_forbidden(client: Client) -> None:
    assert client.get(URL).status_code == 403


@pytest.mark.django_db
def test_basic_auth_works(client: Client) -> None:
    get_user_model().objects.create_user(username="bi", password="bi-pass-123")
    token = base64.b64encode(b"bi:bi-pass-123").decode()
    response = client.get(URL, HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.django_db
def test_returns_exact_values_and_fields(admin_client: Client, data: Data) -> None:
    rows = results(admin_client, "?team=platform&metric=cycle_time_p50")
    assert rows == [
        {
            "team": "platform",
            "repository": None,
            "scope": "team",
            "period": "week",
            "period_start": "2025-06-02",
            "metric": "cycle_time_p50",
            "value": 12.5,
            "n": 8,
            "definition_version": DEFINITION_VERSION,
            "provisional": False,
        },
        {
            "team": "platform",
            "repository": None,
            "scope": "team",
            "period": "week",
            "period_start": "2025-06-09",
            "metric": "cycle_time_p50",
            "value": None,
            "n": 0,
            "definition_version": DEFINITION_VERSION,
            "provisional": False,
        },
    ]


@pytest.mark.django_db
def test_repository_and_organization_rows(admin_client: Client, data: Data) -> None:
    (repo_row,) = results(admin_client, "?repository=acme/api")
    assert repo_row["repository"] == "acme/api" and repo_row["team"] is None
    assert repo_row["scope"] == "repository" and repo_row["value"] == 8.0
    (org_row,) = results(admin_client, "?period=month")
    assert org_row["scope"] == "organization" and org_row["team"] is None and org_row["repository"] is None
    assert org_row["value"] == 10.0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", 6),
        ("?metric=cycle_time_p50", 3),
        ("?period=week", 5),
        ("?since=2025-06-09", 1),
        ("?until=2025-06-02", 5),
        ("?since=2025-06-02&until=2025-06-02", 4),
        ("?team=mobile", 1),
        ("?scope=repository", 1),
        ("?team=platform&metric=revert_rate&period=week&since=2025-06-01&until=2025-06-30", 1),
    ],
)
def test_filters(admin_client: Client, data: Data, query: str, expected: int) -> None:
    response = admin_client.get(URL + query)
    assert response.status_code == 200
    assert response.json()["count"] == expected


@pytest.mark.django_db
def test_limit_offset_pagination(admin_client: Client, data: Data) -> None:
    first = admin_client.get(URL + "?limit=2").json()
    second = admin_client.get(URL + "?limit=2&offset=2").json()
    assert first["count"] == 6 and len(first["results"]) == 2 and "offset=2" in first["next"]
    assert not {str(r) for r in first["results"]} & {str(r) for r in second["results"]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("?since=2025-13-01", "since"),
        ("?until=yesterday", "until"),
        ("?period=year", "period"),
        ("?scope=galaxy", "scope"),
        ("?team=nope", "team"),
        ("?repository=acme/nope", "repository"),
        ("?metric=happiness", "metric"),
        ("?since=2025-06-09&until=2025-06-01", "until"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(
    admin_client: Client, data: Data, query: str, parameter: str
) -> None:
    response = admin_client.get(URL + query)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["detail"]
    assert body["detail"].startswith(f"{parameter}: "), body
