"""Contract of every /api/v1/ list: columns, exact values, every filter, JSON and CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from metrics.api import columns as cols
from metrics.api.sql import person_pseudonym
from tests.api.conftest import Org, TokenClient

ENDPOINTS = {
    "teams": cols.TEAMS,
    "people": cols.PEOPLE,
    "repositories": cols.REPOSITORIES,
    "pull-requests": cols.PULL_REQUESTS,
    "reviews": cols.REVIEWS,
    "reverts": cols.REVERTS,
    "deployments": cols.DEPLOYMENTS,
    "metrics": cols.METRICS,
    "sync-runs": cols.SYNC_RUNS,
}
COUNTS = {
    "teams": 3,
    "people": 4,
    "repositories": 3,
    "pull-requests": 7,
    "reviews": 2,
    "reverts": 1,
    "deployments": 2,
    "metrics": 6,
    "sync-runs": 1,
}


def rows(client: Client, endpoint: str, query: str = "") -> list[dict]:
    response = client.get(f"/api/v1/{endpoint}/{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["next"] is None, "fixture lists fit in one page"
    return body["results"]


def csv_rows(client: Client, endpoint: str, query: str = "", **headers: str) -> list[dict[str, str]]:
    response = client.get(f"/api/v1/{endpoint}/{query}", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming, "CSV exports stream"
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_endpoint_lists_its_columns(org: Org, token_client: TokenClient, endpoint: str) -> None:
    listed = rows(token_client("admin"), endpoint)
    assert len(listed) == COUNTS[endpoint]
    assert all(list(row) == [c.name for c in ENDPOINTS[endpoint]] for row in listed)


def test_pull_request_values(org: Org, token_client: TokenClient) -> None:
    by_key = {(r["repository"], r["number"]): r for r in rows(token_client("admin"), "pull-requests")}
    api1 = by_key[("acme/api", 1)]
    assert api1 == {
        "id": org.prs["api#1"].id,
        "repository": "acme/api",
        "number": 1,
        "title": "acme/api#1",
        "author": person_pseudonym(org.people["alice"].id),
        "state": "merged",
        "is_draft": False,
        "is_bot": False,
        "created_at": "2025-05-08T21:00:00Z",
        "ready_at": "2025-05-09T00:00:00Z",
        "first_commit_at": "2025-05-08T09:00:00Z",
        "first_review_at": "2025-05-09T06:00:00Z",
        "approved_at": "2025-05-09T12:00:00Z",
        "merged_at": "2025-05-10T00:00:00Z",
        "closed_at": None,
        "updated_at": "2025-05-10T00:00:00Z",
        "additions": 10,
        "deletions": 2,
        "changed_files": 1,
        "commits_count": 1,
        "head_branch": "alice/x",
        "base_branch": "main",
        "ai_assisted": False,
        "ai_tools": [],
        "reverted_at": "2025-05-12T00:00:00Z",
        "revert_of": None,
        "coding_hours": 12.0,
        "pickup_hours": 6.0,
        "review_hours": 18.0,
        "cycle_hours": 39.0,
        "rework_hours": 6.0,
        "merge_wait_hours": 12.0,
    }
    revert = by_key[("acme/api", 3)]
    assert revert["revert_of"] == 1 and revert["ai_tools"] == ["claude"] and revert["ai_assisted"] is True
    negative = by_key[("acme/shared", 2)]  # first commit after opening: span dropped, not clipped
    assert negative["coding_hours"] is None and negative["cycle_hours"] == 0.0
    still_open = by_key[("acme/shared", 3)]
    assert still_open["cycle_hours"] is None and still_open["pickup_hours"] is None
    assert by_key[("acme/app", 1)]["pickup_hours"] == 18.0  # no review: opened -> merged


def test_other_record_values(org: Org, token_client: TokenClient) -> None:
    client = token_client("admin")
    review = next(r for r in rows(client, "reviews") if r["pull_request_number"] == 1)
    assert review == {
        "id": review["id"],
        "pull_request_id": org.prs["api#1"].id,
        "repository": "acme/api",
        "pull_request_number": 1,
        "reviewer": person_pseudonym(org.people["bob"].id),
        "state": "approved",
        "submitted_at": "2025-05-09T06:00:00Z",
    }
    (revert,) = rows(client, "reverts")
    assert revert["reverted_pr_number"] == 1 and revert["reverting_pr_number"] == 3
    assert revert["reverted_at"] == "2025-05-12T00:00:00Z" and revert["restored_at"] is None
    teams = {t["slug"]: t for t in rows(client, "teams")}
    assert teams["platform-api"]["parent"] == "platform" and teams["platform"]["parent"] is None
    repos = {r["full_name"]: r["team"] for r in rows(client, "repositories")}
    assert repos == {"acme/api": "platform-api", "acme/app": "mobile", "acme/shared": None}
    (run,) = rows(client, "sync-runs")
    assert run["counts"] == {"prs": 3} and run["status"] == "succeeded"
    production = rows(client, "deployments", "?is_production=true")
    assert [(d["external_id"], d["finished_at"]) for d in production] == [("d1", "2025-05-11T01:00:00Z")]


@pytest.mark.parametrize(
    ("endpoint", "query", "expected"),
    [
        ("pull-requests", "?since=2025-06-01", {"api#2", "shared#1", "shared#2"}),
        ("pull-requests", "?until=2025-05-12", {"api#1", "api#3"}),
        (
            "pull-requests",
            "?since=2025-05-10T00:00:01Z&until=2025-05-15T00:00:00%2B00:00",
            {"api#3", "app#1"},
        ),
        ("pull-requests", "?since=2025-05-10T02:00:00%2B02:00&until=2025-05-10", {"api#1"}),
        ("pull-requests", "?updated_since=2025-07-01", {"shared#1", "shared#2", "shared#3"}),
        (
            "pull-requests",
            "?updated_since=2025-05-11T12:00:00",
            {"api#1", "api#2", "api#3", "app#1", "shared#1", "shared#2", "shared#3"},
        ),
        ("pull-requests", "?state=open", {"shared#3"}),
        ("pull-requests", "?ai_assisted=true", {"shared#1", "api#3"}),
        ("pull-requests", "?is_bot=true", {"api#2"}),
        ("pull-requests", "?repository=acme/shared&is_bot=false", {"shared#1", "shared#2", "shared#3"}),
        ("pull-requests", "?team=mobile&repository=acme/shared", {"shared#2", "shared#3"}),
        ("pull-requests", "?team=platform", {"api#1", "api#2", "api#3", "shared#1"}),
        ("pull-requests", "?team=platform-api", {"api#1", "api#2", "api#3", "shared#1"}),
    ],
)
def test_pull_request_filters(
    org: Org, token_client: TokenClient, endpoint: str, query: str, expected: set[str]
) -> None:
    names = {pr.id: key for key, pr in org.prs.items()}
    assert {names[r["id"]] for r in rows(token_client("admin"), endpoint, query)} == expected


@pytest.mark.parametrize(
    ("endpoint", "query", "count"),
    [
        ("reviews", "?since=2025-05-10", 1),
        ("reviews", "?repository=acme/app", 1),
        ("reviews", "?updated_since=2025-05-15", 1),
        ("reviews", "?team=platform", 1),
        ("reviews", "?until=2025-05-09", 1),
        ("reverts", "?since=2025-05-13", 0),
        ("reverts", "?team=mobile", 0),
        ("reverts", "?team=platform", 1),
        ("reverts", "?updated_since=2025-05-12", 1),
        ("reverts", "?repository=acme/app", 0),
        ("deployments", "?environment=staging", 1),
        ("deployments", "?since=2025-05-12", 1),
        ("deployments", "?team=platform", 1),
        ("deployments", "?updated_since=2025-05-11T00:30:00Z", 2),
        ("deployments", "?updated_since=2025-05-11T01:30:00Z", 1),
        ("deployments", "?repository=acme/shared", 0),
        ("sync-runs", "?status=succeeded", 1),
        ("sync-runs", "?status=failed", 0),
        ("sync-runs", "?kind=git", 1),
        ("sync-runs", "?until=2000-01-01", 0),
        ("sync-runs", "?updated_since=2000-01-01", 1),
        ("metrics", "?updated_since=2000-01-01", 6),
        ("metrics", "?updated_since=2100-01-01", 0),
        ("metrics", "?scope=repository&repository=acme/app", 1),
        ("metrics", "?team=platform-api", 1),
        ("people", "?is_bot=true", 1),
        ("people", "?team=mobile", 2),
        ("people", "?team=platform", 2),
        ("teams", "?team=platform", 2),
        ("teams", "?team=mobile", 1),
        ("repositories", "?team=mobile", 2),
        ("repositories", "?repository=acme/api", 1),
        ("repositories", "?team=platform&repository=acme/app", 0),
    ],
)
def test_record_filters(org: Org, token_client: TokenClient, endpoint: str, query: str, count: int) -> None:
    assert len(rows(token_client("admin"), endpoint, query)) == count


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_csv_carries_the_json_values(org: Org, token_client: TokenClient, endpoint: str) -> None:
    client = token_client("admin")
    as_json = rows(client, endpoint)
    as_csv = csv_rows(client, endpoint, "?format=csv")
    assert csv_rows(client, endpoint, "", HTTP_ACCEPT="text/csv") == as_csv
    assert len(as_csv) == len(as_json)
    columns = {c.name: c.kind for c in ENDPOINTS[endpoint]}
    for json_row, csv_row in zip(as_json, as_csv, strict=True):
        assert list(csv_row) == list(columns)
        for name, kind in columns.items():
            expected = json_row[name]
            if kind == "text" and expected is None:
                expected = ""  # CSV cannot tell an empty text from a missing one
            assert _csv_value(csv_row[name], kind) == expected, (endpoint, name)


def _csv_value(text: str, kind: str) -> object:
    if kind == "text":
        return text
    if kind == "list":
        return text.split(";") if text else []
    if kind == "json":
        import json

        return json.loads(text)
    if text == "":
        return None
    return {"int": int, "float": float, "bool": lambda t: {"true": True, "false": False}[t]}.get(kind, str)(
        text
    )


def test_csv_honours_filters_and_ordering(org: Org, token_client: TokenClient) -> None:
    client = token_client("admin")
    newest_first = csv_rows(client, "pull-requests", "?format=csv&repository=acme/api&ordering=-id")
    assert [r["number"] for r in newest_first] == ["3", "2", "1"]
    response = client.get("/api/v1/pull-requests/?format=csv")
    assert response["Content-Disposition"] == 'attachment; filename="pull-requests.csv"'


def test_csv_head_sends_headers_only(org: Org, token_client: TokenClient) -> None:
    response = token_client("admin").head("/api/v1/pull-requests/?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert b"".join(response.streaming_content) == b""


def test_csv_errors_are_json(org: Org, token_client: TokenClient) -> None:
    response = token_client("admin").get("/api/v1/pull-requests/?format=csv&since=never")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("since: ")


def test_unknown_format_is_400(org: Org, token_client: TokenClient) -> None:
    response = token_client("admin").get("/api/v1/teams/?format=xlsx")
    assert response.status_code == 400 and response.json()["detail"].startswith("format: ")


def test_copy_and_cursor_exports_carry_the_same_rows(
    org: Org, token_client: TokenClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL streams CSV with COPY, other databases (or SEXTANT_API_CSV_COPY=0) with a cursor and
    the csv module: the parsed rows are the same (only the quoting of empty texts may differ)."""
    # A manager: pseudonyms on every person row, and the metrics of the fixture's tiny teams, which
    # viewers do not get (privacy floor).
    client = token_client("manager")
    for endpoint in ENDPOINTS:
        default = csv_rows(client, endpoint, "?format=csv&ordering=-id")
        monkeypatch.setenv("SEXTANT_API_CSV_COPY", "0")
        cursor = csv_rows(client, endpoint, "?format=csv&ordering=-id")
        monkeypatch.delenv("SEXTANT_API_CSV_COPY")
        assert default == cursor and len(default) == COUNTS[endpoint], endpoint
