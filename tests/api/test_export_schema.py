"""The OpenAPI schema served at /api/v1/schema/, its offline docs UI, and schemathesis against it."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import FailureGroup

from metrics.wsgi import application
from tests.api.conftest import Org, TokenClient

PATHS = {
    "teams",
    "people",
    "repositories",
    "pull-requests",
    "reviews",
    "reverts",
    "deployments",
    "incidents",
    "metrics",
    "sync-runs",
    "ai-impact",
    "ai-roi",
    "survey-results",
    "experiments",  # issue 20: planned AI rollouts
}
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


def test_schema_describes_every_list(client: Client) -> None:
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {f"/api/v1/{p}/" for p in PATHS}
    pulls = schema["paths"]["/api/v1/pull-requests/"]["get"]
    names = {p["name"] for p in pulls["parameters"]}
    assert {
        "team",
        "repository",
        "since",
        "until",
        "updated_since",
        "cursor",
        "page_size",
        "ordering",
        "format",
        "state",
        "ai_assisted",
        "is_bot",
    } <= names
    assert set(pulls["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {"bearerAuth": []} in pulls["security"]
    row = schema["components"]["schemas"]["PullRequest"]["properties"]
    expected = {
        "coding_hours",
        "cycle_hours",
        "ai_assisted",
        "ai_tools",
        "is_bot",
        "reverted_at",
        "revert_of",
    }
    assert expected <= set(row)


@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_ui_is_served_without_a_cdn(client: Client, page: str) -> None:
    html = client.get(page).content.decode()
    scripts = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert scripts and all(s.startswith("/api/v1/docs/assets/") for s in scripts), scripts
    for asset in scripts:
        response = client.get(asset)
        assert response.status_code == 200 and int(response["Content-Length"]) > 1000


def test_docs_assets_outside_the_ui_folders_are_404(client: Client) -> None:
    assert client.get("/api/v1/docs/assets/../__init__.py").status_code == 404
    assert client.get("/api/v1/docs/assets/swagger-ui-dist/../../__init__.py").status_code == 404


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """The real WSGI handler closes the database connection after each request, which would end the
    test's transaction (PostgreSQL); Django's test client suspends that the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def test_schemathesis_against_the_live_schema(
    org: Org, token_client: TokenClient, monkeypatch: pytest.MonkeyPatch, keep_test_connection: None
) -> None:
    """Generated requests (valid and invalid parameters) on every operation: no 5xx, responses as
    documented (status, content type, headers, JSON body)."""
    monkeypatch.setenv("SEXTANT_API_RATE", "100000/min")
    raw = token_client("executive").defaults["HTTP_AUTHORIZATION"]
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path.strip("/").split("/")[-1] for op in operations} == PATHS
    failures: list[str] = []
    statuses: dict[str, Counter[int]] = {op.label: Counter() for op in operations}
    for operation, mode in itertools.product(operations, [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]):

        @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            response = case.call_and_validate(headers={"Authorization": raw}, checks=CHECKS)
            statuses[case.operation.label][response.status_code] += 1

        try:
            run()
        except (AssertionError, FailureGroup) as exc:
            failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n".join(failures)
    # Meaningful runs: every operation answered both data (200) and rejections (400).
    assert all(counts[200] and counts[400] for counts in statuses.values()), statuses


def test_redoc_makes_no_request_to_another_host(client: Client) -> None:
    """No Google Fonts link in the page, no Redocly logo from their CDN in the bundle (issue 16)."""
    page = client.get("/api/v1/redoc/")
    html = page.content.decode()
    assert "redoc-container" in html or "<redoc" in html
    # Its search worker is a same-origin blob: allowed on this page only, no console error.
    assert "worker-src 'self' blob:" in page["Content-Security-Policy"]
    assert "worker-src" not in client.get("/api/v1/docs/")["Content-Security-Policy"]
    assert not re.findall(r"https?://", html), html
    bundle = client.get("/api/v1/docs/assets/redoc/bundles/redoc.standalone.js")
    body = b"".join(bundle.streaming_content) if bundle.streaming else bundle.content
    assert bundle.status_code == 200 and len(body) > 100_000
    assert b"cdn.redoc.ly" not in body and b"fonts.googleapis" not in body
