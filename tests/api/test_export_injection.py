"""Hostile filter values on every parameter of every list: 400 naming the parameter, never 500."""

from __future__ import annotations

import itertools

import pytest

from metrics.api import views
from metrics.core.models import Team
from metrics.ingestion.models import PullRequest
from tests.api.conftest import Org, TokenClient

VIEWS = {
    "teams": views.TeamListApi,
    "people": views.PersonListApi,
    "repositories": views.RepositoryListApi,
    "pull-requests": views.PullRequestListApi,
    "reviews": views.ReviewListApi,
    "reverts": views.RevertListApi,
    "deployments": views.DeploymentListApi,
    "metrics": views.MetricSnapshotListApi,
    "sync-runs": views.SyncRunListApi,
}
SQL = ["' OR '1'='1", "x'; DROP TABLE ingestion_pullrequest; --", "1 UNION SELECT password FROM auth_user"]
TEXT = [*SQL, "\x00", "a\x00b", "x" * 5000]
DATES = [
    *SQL,
    "2025-13-01",
    "2025-02-30",
    "99999-01-01",
    "0000-01-01",
    "-1",
    "1e309",
    "yesterday",
    "\x00",
    "\uff19\uff19\uff19\uff19-01-01",  # fullwidth digits
    "2025-06-01T25:00:00Z",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
]
BAD: dict[str, list[str]] = {
    "team": [*TEXT, "ümlaut", "💥", "platform/../mobile", "no-such-team"],
    "repository": [*TEXT, "💥/💥", "acme/nope", "../../etc/passwd"],
    "since": DATES,
    "until": DATES,
    "updated_since": DATES,
    "state": [*SQL, "MERGED", "\x00"],
    "period": [*SQL, "year"],
    "scope": [*SQL, "person", "galaxy"],
    "status": [*SQL, "done"],
    "metric": [*TEXT, "happiness"],
    "is_bot": [*SQL, "maybe", "2"],
    "ai_assisted": [*SQL, "perhaps"],
    "is_production": [*SQL, "yes please"],
    "environment": ["\x00", "x" * 101],
    "kind": ["\x00", "x" * 21],
}
CASES = [
    (endpoint, parameter) for endpoint, view in VIEWS.items() for parameter in view.filter_class().fields
]


def test_every_filter_parameter_is_attacked() -> None:
    assert {parameter for _, parameter in CASES} == set(BAD)
    assert sum(len(BAD[parameter]) for _, parameter in CASES) > 300


@pytest.mark.parametrize(("endpoint", "parameter"), CASES)
def test_hostile_filter_is_400_naming_the_parameter(
    org: Org, token_client: TokenClient, endpoint: str, parameter: str
) -> None:
    client = token_client("admin")
    for value, fmt in itertools.product(BAD[parameter], ("json", "csv")):
        response = client.get(f"/api/v1/{endpoint}/", {parameter: value, "format": fmt})
        assert response.status_code == 400, (value, fmt, response.content[:300])
        assert response["Content-Type"] == "application/json"
        assert response.json()["detail"].startswith(f"{parameter}: "), (value, fmt)


def test_nothing_was_dropped_or_changed(org: Org, token_client: TokenClient) -> None:
    client = token_client("admin")
    for value in SQL:
        for parameter in ("team", "repository", "since", "state"):
            client.get("/api/v1/pull-requests/", {parameter: value})
    assert PullRequest.objects.count() == 7 and Team.objects.count() == 3


@pytest.mark.parametrize("value", ["platform", "PLATFORM"])
def test_exact_values_still_work_beside_the_attacks(org: Org, token_client: TokenClient, value: str) -> None:
    response = token_client("admin").get("/api/v1/teams/", {"team": value})
    if value == "platform":
        assert response.status_code == 200 and len(response.json()["results"]) == 2
    else:
        assert response.status_code == 400
        assert response.json()["detail"] == "team: no team with slug 'PLATFORM'"
