"""GitLab incidents (issues of type incident) through python-gitlab against the fake GitLab on 127.0.0.1
(tests/fakes/gitlab.py), two items a page, with 429 + Retry-After, 5xx and a dropped connection: exact
records, a resumed sync with nothing lost or doubled, bad token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import ConnectorError, SourceConfig
from connectors.gitlab import GitLabConnector
from connectors.records import IncidentRecord, Record
from tests.fakes.gitlab import FakeGitLab, acme, incident_issue
from tests.fakes.server import FakeApiServer

ISSUES = r"/api/v4/projects/11/issues"


@pytest.fixture
def fake(fresh_server: FakeApiServer) -> FakeGitLab:
    gitlab = acme(fresh_server)
    gitlab.max_per_page = 2
    api = gitlab.projects[0]
    api.issues = [
        incident_issue(1, "2024-05-02T08:00:00.000Z", closed="2024-05-02T09:30:00.000Z", severity="CRITICAL"),
        incident_issue(2, "2024-05-03T08:00:00.000Z", issue_type="issue"),  # an ordinary issue
        incident_issue(
            3, "2024-05-04T08:00:00.000Z", labels=("severity::high",), updated="2024-05-04T09:00:00Z"
        ),
        incident_issue(4, "2024-05-05T08:00:00.000+02:00", closed="2024-05-05T10:00:00.000+02:00"),
    ]
    return gitlab


def connector(
    fake: FakeGitLab, checkpoint: dict[str, Any] | None = None, token: str | None = None
) -> GitLabConnector:
    options = {
        "api_url": fake.url,
        "project": "acme/api",
        "incidents": True,
        "max_retries": 3,
        "checkpoint": checkpoint or {},
    }
    secret = fake.token if token is None else token
    return GitLabConnector(SourceConfig(kind="gitlab", name="acme-gitlab", options=options, secret=secret))


def incident(iid: int, start: str, end: str | None, severity: str) -> IncidentRecord:
    return IncidentRecord(
        source="gitlab",
        external_id=str(5000 + 1100 + iid),
        started_at=datetime.fromisoformat(start),
        title=f"Incident {iid}",
        resolved_at=datetime.fromisoformat(end) if end else None,
        severity=severity,
        repository="acme/api",
        url=f"https://gitlab.example.com/acme/api/-/issues/{iid}",
    )


EXPECTED = [
    incident(1, "2024-05-02T08:00:00+00:00", "2024-05-02T09:30:00+00:00", "CRITICAL"),
    incident(3, "2024-05-04T08:00:00+00:00", None, "high"),
    incident(4, "2024-05-05T08:00:00+02:00", "2024-05-05T10:00:00+02:00", ""),
]


def incidents(records: list[Record]) -> list[IncidentRecord]:
    return [r for r in records if isinstance(r, IncidentRecord)]


def test_incidents_exactly_through_pages_and_faults(fake: FakeGitLab) -> None:
    fake.fail(ISSUES, 429, {"Retry-After": "1"}, first_page=True)
    fake.fail(ISSUES, 502)
    fake.fail(ISSUES, 0)
    c = connector(fake)
    records = incidents(list(c.records()))
    assert records == EXPECTED
    assert records[2].started_at == datetime(2024, 5, 5, 6, tzinfo=UTC)
    asked = fake.requests_to(r"/projects/11/issues\?")
    assert {(r.query["issue_type"][0], r.query["scope"][0], r.query["order_by"][0]) for r in asked} == {
        ("incident", "all", "updated_at")
    }
    assert [r.status for r in asked] == [429, 502, None, 200, 200]
    assert c.checkpoint["projects"]["acme/api"]["incidents"] == "2024-05-05T10:00:00.000+02:00"


def test_incidents_are_read_only_when_asked(fake: FakeGitLab) -> None:
    c = connector(fake)
    c.incidents = False
    assert incidents(list(c.records())) == []
    assert fake.requests_to(r"/issues") == []


def test_a_resumed_sync_reads_nothing_twice_and_loses_nothing(fake: FakeGitLab) -> None:
    first = connector(fake)
    seen: list[IncidentRecord] = []
    for record in first.records():
        if isinstance(record, IncidentRecord):
            seen.append(record)
            break  # killed after the first incident was stored with its checkpoint
    resumed = incidents(list(connector(fake, first.checkpoint).records()))
    assert seen + resumed == EXPECTED


def test_bad_token_is_a_permanent_error_without_the_token(fake: FakeGitLab) -> None:
    with pytest.raises(ConnectorError) as caught:
        list(connector(fake, token="glpat-wrongwrongwrong1234").records())
    assert caught.value.permanent and "GitLab rejected the token (401 Unauthorized)" in str(caught.value)
    assert "wrongwrong" not in str(caught.value)
