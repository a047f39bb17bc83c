"""GitHub production workflow runs and incident issues: the GitHub connector (PyGithub's requester) against
the fake GitHub's REST routes on 127.0.0.1 (tests/fakes/github.py), two items a page so every list pages,
with 429 + Retry-After, 5xx and dropped connections; exact records, resume after a kill, bad token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.base import ConnectorError, SourceConfig
from connectors.github import GitHubConnector
from connectors.records import DeploymentRecord, IncidentRecord, Record
from tests.fakes.github import FakeGitHub, issue, workflow_run

RUNS = r"/repos/acme/api/actions/workflows/deploy\.yml/runs"
ISSUES = r"/repos/acme/api/issues"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


def z(day: int, hour: int, minute: int = 0) -> str:
    return at(day, hour, minute).strftime("%Y-%m-%dT%H:%M:%SZ")


def build(gh: FakeGitHub) -> None:
    repo = gh.add_repo("acme/api")
    repo.workflow_runs["deploy.yml"] = [
        workflow_run(1001, "a" * 40, z(1, 9), updated=z(1, 9, 7)),
        workflow_run(1002, "b" * 40, z(2, 9), conclusion="failure", updated=z(2, 9, 4)),
        workflow_run(1003, "c" * 40, z(3, 9), conclusion="cancelled", updated=z(3, 9, 1)),
        workflow_run(1004, "d" * 40, z(4, 9), conclusion="timed_out", updated=z(4, 10), started=z(4, 9, 2)),
        workflow_run(1005, "e" * 40, z(5, 9), conclusion=None),  # still deploying
    ]
    repo.workflow_runs["other.yml"] = [workflow_run(2001, "f" * 40, z(1, 1))]
    repo.issues = [
        issue(1, z(2, 10), closed=z(2, 12), labels=("incident", "sev1")),
        issue(2, z(3, 10), labels=("bug",)),  # not an incident
        issue(3, z(4, 10), labels=("incident", "severity: high"), updated=z(4, 11)),
        issue(4, z(4, 12), closed=z(5, 1), pull_request=True),  # a labelled pull request
        issue(5, z(6, 8), closed=z(6, 9), labels=("incident", "P2")),
    ]


def connector(
    gh: FakeGitHub,
    checkpoint: dict[str, Any] | None = None,
    token: str = "test-token",  # noqa: S107 - the fake's token
) -> GitHubConnector:
    options = {
        "api_url": gh.url,
        "repos": ["acme/api"],
        "backoff_seconds": 0.01,
        "page_size": 2,
        "production_workflows": ["deploy.yml"],
        "incident_label": "incident",
        "checkpoint": checkpoint or {},
    }
    return GitHubConnector(SourceConfig(kind="github", name="acme-gh", options=options, secret=token))


def run(run_id: int, sha: str, status: str, created: datetime, finished: datetime | None) -> DeploymentRecord:
    return DeploymentRecord(
        repository="acme/api",
        external_id=f"github-actions:{run_id}",
        environment="production",
        sha=sha * 40,
        status=status,
        created_at=created,
        finished_at=finished,
        is_production=True,
        source="github_actions",
        url=f"https://github.test/acme/api/actions/runs/{run_id}",
    )


def incident(number: int, start: datetime, end: datetime | None, severity: str) -> IncidentRecord:
    return IncidentRecord(
        source="github_issues",
        external_id=f"acme/api#{number}",
        started_at=start,
        title=f"Outage {number}",
        resolved_at=end,
        severity=severity,
        repository="acme/api",
        url=f"https://github.test/acme/api/issues/{number}",
    )


RUN_RECORDS = [
    run(1005, "e", "in_progress", at(5, 9), None),
    run(1004, "d", "failure", at(4, 9, 2), at(4, 10)),
    run(1003, "c", "cancelled", at(3, 9), at(3, 9, 1)),
    run(1002, "b", "failure", at(2, 9), at(2, 9, 4)),
    run(1001, "a", "success", at(1, 9), at(1, 9, 7)),
]
INCIDENTS = [
    incident(1, at(2, 10), at(2, 12), "sev1"),
    incident(3, at(4, 10), None, "severity: high"),
    incident(5, at(6, 8), at(6, 9), "P2"),
]


def delivery(records: list[Record]) -> list[Record]:
    return [r for r in records if isinstance(r, DeploymentRecord | IncidentRecord)]


def test_runs_and_incident_issues_exactly_through_pages_and_faults() -> None:
    with FakeGitHub() as gh:
        build(gh)
        gh.server.fault("GET", RUNS, status=429, retry_after=0.1)
        gh.server.fault("GET", RUNS, status=502, when=lambda r: r.param("page") == "2")
        gh.server.fault("GET", ISSUES, drop=True, when=lambda r: r.param("page") == "2")
        c = connector(gh)
        records = delivery([r for page in c.pages() for r in page])
        assert records == RUN_RECORDS + INCIDENTS
        assert gh.server.count("GET", RUNS, 200) == 3 and gh.server.count("GET", ISSUES, 200) == 2
        assert gh.server.count("GET", RUNS, 429) == 1 and gh.server.count("GET", RUNS, 502) == 1
        assert gh.server.count("GET", ISSUES, dropped=True) == 1
        asked = [
            r.query for r in gh.server.requests if r.path == "/repos/acme/api/issues" and r.status == 200
        ]
        assert {(q["labels"][0], q["state"][0], q["sort"][0], q["direction"][0]) for q in asked} == {
            ("incident", "all", "created", "asc")
        }
        state = c.checkpoint["repos"]["acme/api"]
        assert state["runs:deploy.yml"]["since"] == z(5, 9)  # the run still deploying is read again
        assert state["incidents"] == {"since": z(6, 9), "etag": ""}
        assert c.problems == []


def test_next_run_reads_only_what_changed_and_the_run_still_in_progress() -> None:
    with FakeGitHub() as gh:
        build(gh)
        first = connector(gh)
        list(first.pages())
        repo = gh.repo("acme/api")
        assert repo is not None
        repo.workflow_runs["deploy.yml"][4] = workflow_run(1005, "e" * 40, z(5, 9), updated=z(5, 9, 6))
        repo.workflow_runs["deploy.yml"].append(workflow_run(1006, "g" * 40, z(7, 9), updated=z(7, 9, 5)))
        repo.issues[1] = issue(3, z(4, 10), labels=("incident", "severity: high"), closed=z(7, 8))
        again = delivery([r for page in connector(gh, first.checkpoint).pages() for r in page])
        assert again == [
            run(1006, "g", "success", at(7, 9), at(7, 9, 5)),
            run(1005, "e", "success", at(5, 9), at(5, 9, 6)),
            incident(3, at(4, 10), at(7, 8), "severity: high"),
            incident(5, at(6, 8), at(6, 9), "P2"),  # updated at the bookmark: read again, upserted
        ]


def test_killed_sync_resumes_with_nothing_lost_or_doubled() -> None:
    with FakeGitHub() as gh:
        build(gh)
        first = connector(gh)
        pages = first.pages()
        stored: list[Record] = []
        while not any(isinstance(r, DeploymentRecord) for r in stored):
            stored += delivery(next(pages))
        checkpoint = first.checkpoint
        pages.close()  # killed after the first page of runs
        resumed = delivery([r for page in connector(gh, checkpoint).pages() for r in page])
        assert stored == RUN_RECORDS[:2]
        assert stored + resumed == RUN_RECORDS + INCIDENTS


def test_a_missing_workflow_is_a_problem_and_the_rest_is_read() -> None:
    with FakeGitHub() as gh:
        build(gh)
        c = connector(gh)
        c.workflows = ["gone.yml", "deploy.yml"]
        records = delivery([r for page in c.pages() for r in page])
        assert records == RUN_RECORDS + INCIDENTS
        assert c.problems == [
            "acme/api: production workflow not read (runs of workflow gone.yml in acme/api: 404 Not Found)"
        ]


def test_bad_token_is_a_permanent_error_without_the_token() -> None:
    with FakeGitHub() as gh:
        build(gh)
        with pytest.raises(ConnectorError) as caught:
            list(connector(gh, token="ghp_wrongwrongwrongwrongwrong1234").pages())
        assert caught.value.permanent and "GitHub rejected the credentials (401 Bad credentials)" in str(
            caught.value
        )
        assert "wrongwrong" not in str(caught.value)


def test_an_issue_updated_mid_pass_pushes_no_other_past_the_cursor_and_is_read_next_time() -> None:
    with FakeGitHub() as gh:
        build(gh)
        repo = gh.repo("acme/api")
        assert repo is not None

        def update_issue_1(request: Any) -> bool:
            if request.param("page") == "2":
                repo.issues[0] = issue(
                    1, z(2, 10), closed=z(2, 12), updated=z(30, 9), labels=("incident", "sev2")
                )
            return False  # not a fault: only the side effect

        gh.server.fault("GET", ISSUES, when=update_issue_1, times=99)
        first = connector(gh)
        assert delivery([r for page in first.pages() for r in page])[5:] == INCIDENTS
        again = delivery([r for page in connector(gh, first.checkpoint).pages() for r in page])
        assert incident(1, at(2, 10), at(2, 12), "sev2") in again  # its new severity arrives next run


def test_a_resync_with_nothing_new_is_answered_304_and_costs_nothing() -> None:
    with FakeGitHub() as gh:
        build(gh)
        repo = gh.repo("acme/api")
        assert repo is not None
        repo.workflow_runs["deploy.yml"][4] = workflow_run(1005, "e" * 40, z(5, 9), updated=z(5, 9, 6))
        checkpoint: dict[str, Any] = {}
        for _ in range(3):
            gh.server.reset_log()
            c = connector(gh, checkpoint)
            records = delivery([r for page in c.pages() for r in page])
            checkpoint = c.checkpoint
        assert records == []
        assert gh.server.count("GET", RUNS, 304) == 1 and gh.server.count("GET", ISSUES, 304) == 1
        assert gh.server.count("GET", RUNS, 200) == 0 and gh.server.count("GET", ISSUES, 200) == 0
