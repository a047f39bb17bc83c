"""Incident and deployment sources end to end: ``source_create`` (secrets encrypted) -> ``source_sync`` ->
the stored Incident/Deployment rows, against the fakes on 127.0.0.1 with their faults.  Exact stored values
(including the link to the causing deployment), a killed sync that resumes from its checkpoint with nothing
lost or doubled, and bad credentials: a clear error naming the source, nothing stored, the key nowhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet

from connectors.base import ConnectorError
from connectors.records import DeploymentRecord
from metrics.core.models import DataSource, Organization
from metrics.ingestion.models import Deployment, Incident, SyncRun
from metrics.ingestion.services import records_ingest
from metrics.ingestion.sync import source_sync
from metrics.ingestion.sync_sources import HALTED, source_create
from tests.fakes import jira as fj
from tests.fakes import opsgenie as fo
from tests.fakes import pagerduty as fp
from tests.fakes.github import FakeGitHub, issue, workflow_run
from tests.fakes.gitlab import FakeGitLab, acme, incident_issue
from tests.fakes.server import FakeApiServer

pytestmark = pytest.mark.django_db
KEY = Fernet.generate_key().decode()
FAST = {"backoff_seconds": 0.01, "max_retries": 3, "page_size": 2}


@pytest.fixture(autouse=True)
def encryption_key(settings: Any) -> None:
    settings.SEXTANT_ENCRYPTION_KEYS = KEY


class Killed(BaseException):
    """Stands for SIGKILL: nothing below catches it, nothing is cleaned up."""


def t(day: int, hour: int, minute: int = 0, month: int = 9) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def stored_incidents() -> list[tuple[Any, ...]]:
    rows = Incident.objects.values_list(
        "source",
        "external_id",
        "title",
        "severity",
        "service",
        "repository__full_name",
        "started_at",
        "resolved_at",
        "url",
        "link",
        "deployment__external_id",
    )
    return sorted(rows, key=lambda r: (r[0], r[1]))


def start_at(source: DataSource, since: str) -> DataSource:
    DataSource.objects.filter(pk=source.pk).update(checkpoint={"since": since})
    source.refresh_from_db()
    return source


def production_deploy(ext: str, at: datetime, repo: str = "acme/api") -> None:
    records_ingest(
        records=[
            DeploymentRecord(
                repository=repo,
                external_id=ext,
                environment="production",
                sha="ab" * 20,
                status="success",
                created_at=at,
                finished_at=at,
                is_production=True,
                source="file",
            )
        ]
    )


# --- PagerDuty ---------------------------------------------------------------------------------------------
@pytest.fixture
def pagerduty(fresh_server: FakeApiServer) -> fp.FakePagerDuty:
    fake = fp.FakePagerDuty(fresh_server)
    fake.incidents = [
        fp.incident(11, "2026-09-01T10:00:00Z", resolved="2026-09-01T11:30:00Z", service="Checkout API"),
        fp.incident(
            12, "2026-09-03T08:00:00Z", resolved="2026-09-03T08:20:00Z", priority=None, urgency="low"
        ),
        fp.incident(13, "2026-09-05T22:00:00Z", service="Search"),
        fp.incident(14, "2026-09-07T01:00:00Z", resolved="2026-09-08T01:00:00Z", priority="P2"),
        fp.incident(15, "2026-09-09T12:00:00Z", resolved="2026-09-09T12:05:00Z", title="Disk full"),
    ]
    return fake


def pd_row(n: int, start: datetime, end: datetime | None, sev: str, service: str, title: str = "") -> tuple:
    pid = f"Q{n:06d}"
    mapped = service == "Checkout API"
    return (
        "pagerduty",
        pid,
        title or f"Incident {n}",
        sev,
        service,
        "acme/api" if mapped else None,
        start,
        end,
        f"https://acme.pagerduty.com/incidents/{pid}",
        "last_before" if mapped else "none",
        "deploy-1" if mapped else None,
    )


PD_ROWS = [
    pd_row(11, t(1, 10), t(1, 11, 30), "P1", "Checkout API"),
    pd_row(12, t(3, 8), t(3, 8, 20), "low", "Checkout API"),
    pd_row(13, t(5, 22), None, "P1", "Search"),
    pd_row(14, t(7, 1), t(8, 1), "P2", "Checkout API"),
    pd_row(15, t(9, 12), t(9, 12, 5), "P1", "Checkout API", "Disk full"),
]


def pd_source(fake: fp.FakePagerDuty, secret: str = fp.TOKEN) -> DataSource:
    Organization.objects.create(name="Acme", settings={"incident_services": {"Checkout API": "acme/api"}})
    production_deploy("deploy-1", t(31, 12, month=8))
    source = source_create(
        kind="pagerduty", name="acme-pd", options={"api_url": fake.url, **FAST}, secret=secret
    )
    return start_at(source, "2026-08-01T00:00:00Z")


def test_pagerduty_sync_stores_exact_incidents_linked_to_their_deployment(
    pagerduty: fp.FakePagerDuty,
) -> None:
    pagerduty.server.fault("GET", "/incidents", status=429, retry_after=0.1)
    pagerduty.server.fault("GET", "/incidents", status=503, when=lambda r: r.param("offset") == "2")
    pagerduty.server.fault("GET", "/incidents", drop=True, when=lambda r: r.param("offset") == "4")
    source = pd_source(pagerduty)
    run = source_sync(source=source)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert stored_incidents() == PD_ROWS
    assert run.counts["records"] == 5 and run.counts["incidents"] == 5 and run.counts["rate_limit_waits"] == 1
    source.refresh_from_db()
    assert source.checkpoint == {"since": "2026-09-05T22:00:00Z"}  # the open incident is read again
    again = source_sync(source=source)  # nothing new: the same rows, none doubled
    assert again.status == SyncRun.Status.SUCCEEDED and stored_incidents() == PD_ROWS


def test_pagerduty_killed_sync_resumes_with_nothing_lost_or_doubled(pagerduty: fp.FakePagerDuty) -> None:
    source = pd_source(pagerduty)
    reads: list[int] = []

    def kill_on_second_page(stage: str, done: int, total: int | None) -> None:
        if stage == "PagerDuty incidents":
            reads.append(done)
            if len(reads) == 2:
                raise Killed

    with pytest.raises(Killed):
        source_sync(source=source, progress=kill_on_second_page, task_id="task-1")
    assert [r[1] for r in stored_incidents()] == ["Q000011", "Q000012"]  # page one committed, two not
    pagerduty.server.reset_log()
    resumed = source_sync(source=source, task_id="task-1")  # the task's redelivery takes the run over
    assert resumed.status == SyncRun.Status.SUCCEEDED
    assert stored_incidents() == PD_ROWS
    offsets = [r.query["offset"][0] for r in pagerduty.server.requests]
    assert offsets == ["2", "4"]  # resumed at the page it was reading: page one not asked again
    assert SyncRun.objects.get(counts__task_id="task-1", status=SyncRun.Status.FAILED).error.startswith(
        "interrupted"
    )


# --- every kind: bad credentials ----------------------------------------------------------------------------
def _bad(kind: str, server: FakeApiServer) -> tuple[DataSource, str]:
    wrong = "wrong-key-Zq81xY55"
    if kind == "pagerduty":
        fp.FakePagerDuty(server)
        source = source_create(kind=kind, name="bad", options={"api_url": server.url, **FAST}, secret=wrong)
        return source, "PagerDuty rejected the credentials of source 'bad' (401 Unauthorized"
    if kind == "opsgenie":
        fo.FakeOpsgenie(server)
        source = source_create(kind=kind, name="bad", options={"api_url": server.url, **FAST}, secret=wrong)
        return source, "Opsgenie rejected the credentials of source 'bad' (401 Unauthorized"
    fj.FakeJira(server)
    options = {"api_url": server.url, "flavor": "cloud", "email": fj.EMAIL, "projects": ["OPS"], **FAST}
    source = source_create(kind=kind, name="bad", options=options, secret=wrong)
    return source, "Jira rejected the credentials of source 'bad' (401 Unauthorized"


@pytest.mark.parametrize("kind", ["pagerduty", "opsgenie", "jira"])
def test_bad_credentials_a_clear_error_naming_the_source_and_nothing_stored(
    fresh_server: FakeApiServer, kind: str
) -> None:
    source, expected = _bad(kind, fresh_server)
    with pytest.raises(ConnectorError) as caught:
        source_sync(source=source)
    run = SyncRun.objects.get(data_source=source)
    source.refresh_from_db()
    for text in (str(caught.value), run.error, source.last_error, source.checkpoint[HALTED]):
        assert expected in text and "Zq81xY55" not in text
    assert run.status == SyncRun.Status.FAILED
    assert Incident.objects.count() == 0
    assert fresh_server.count(status=401) == 1  # never retried


# --- Opsgenie, Jira ---------------------------------------------------------------------------------------
def test_opsgenie_sync_stores_exact_incidents(fresh_server: FakeApiServer) -> None:
    fake = fo.FakeOpsgenie(fresh_server)
    fake.services = [{"id": "svc-1", "name": "checkout", "teamId": "t"}]
    fake.incidents = [
        fo.incident(
            1,
            "2026-09-02T10:00:00Z",
            status="resolved",
            priority="P1",
            services=("svc-1",),
            impact_start="2026-09-02T09:45:00Z",
            impact_end="2026-09-02T12:00:00Z",
        ),
        fo.incident(2, "2026-09-04T10:00:00Z", services=("svc-1",)),
        fo.incident(3, "2026-09-06T10:00:00Z", status="closed", updated="2026-09-06T11:00:00Z"),
    ]
    fresh_server.fault("GET", "/v1/incidents", status=500, when=lambda r: r.param("offset") == "2")
    Organization.objects.create(name="Acme", settings={"incident_services": {"checkout": "acme/shop"}})
    production_deploy("shop-9", t(1, 9), repo="acme/shop")
    source = source_create(kind="opsgenie", name="og", options={"api_url": fake.url, **FAST}, secret=fo.KEY)
    source_sync(source=start_at(source, "2026-08-01T00:00:00Z"))

    def row(n: int, start: datetime, end: datetime | None, sev: str, mapped: bool) -> tuple:
        iid = f"7c1b{n:04d}-0000-4000-8000-00000000{n:04d}"
        return (
            "opsgenie",
            iid,
            f"Incident {n}",
            sev,
            "checkout" if mapped else "",
            "acme/shop" if mapped else None,
            start,
            end,
            f"https://acme.app.opsgenie.com/incident/detail/{iid}",
            "last_before" if mapped else "none",
            "shop-9" if mapped else None,
        )

    assert stored_incidents() == [
        row(1, t(2, 9, 45), t(2, 12), "P1", True),
        row(2, t(4, 10), None, "P2", True),
        row(3, t(6, 10), t(6, 11), "P2", False),
    ]


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_jira_sync_stores_exact_incidents_and_resumes_after_a_kill(
    fresh_server: FakeApiServer, flavor: str
) -> None:
    fake = fj.FakeJira(fresh_server)
    fake.issues = [
        fj.issue("OPS-1", "2026-09-01T10:00:00Z", resolved="2026-09-01T12:00:00Z", priority="Highest"),
        fj.issue("OPS-2", "2026-09-02T10:00:00Z", priority="Low"),
        fj.issue("OPS-3", "2026-09-03T10:00:00Z", issue_type="Bug"),
        fj.issue("OPS-4", "2026-09-04T10:00:00Z"),
        fj.issue("OPS-5", "2026-09-05T10:00:00Z", resolved="2026-09-05T10:30:00Z"),
    ]
    path = "/rest/api/3/search/jql" if flavor == "cloud" else "/rest/api/2/search"
    fresh_server.fault("GET", path, status=429, retry_after=0.1)
    options = {
        "api_url": fake.url,
        "flavor": flavor,
        "email": fj.EMAIL if flavor == "cloud" else "",
        "projects": "OPS",
        "issue_types": "Incident",
        "priorities": "Highest, High",
        **FAST,
    }
    secret = fj.TOKEN if flavor == "cloud" else fj.PAT
    source = start_at(
        source_create(kind="jira", name="jira", options=options, secret=secret), "2026-08-02T00:00:00Z"
    )
    pages: list[int] = []

    def kill_on_second_page(stage: str, done: int, total: int | None) -> None:
        if stage == "Jira incidents":
            pages.append(done)
            if len(pages) == 2:
                raise Killed

    with pytest.raises(Killed):
        source_sync(source=source, progress=kill_on_second_page, task_id="j-1")
    assert [r[1] for r in stored_incidents()] == ["OPS-1", "OPS-4"]
    source_sync(source=source, task_id="j-1")

    def row(key: str, start: datetime, end: datetime | None, sev: str) -> tuple:
        return (
            "jira",
            key,
            f"Outage {key}",
            sev,
            "OPS",
            None,
            start,
            end,
            f"{fake.url}/browse/{key}",
            "none",
            None,
        )

    assert stored_incidents() == [
        row("OPS-1", t(1, 10), t(1, 12), "Highest"),
        row("OPS-4", t(4, 10), None, "High"),
        row("OPS-5", t(5, 10), t(5, 10, 30), "High"),
    ]
    source.refresh_from_db()
    assert source.checkpoint == {"since": "2026-09-05T10:30:00Z"}


# --- GitHub runs and issues, GitLab incidents --------------------------------------------------------------
def test_github_runs_and_issues_sync_to_exact_deployments_and_linked_incidents() -> None:
    with FakeGitHub() as gh:
        repo = gh.add_repo("acme/api")
        repo.workflow_runs["deploy.yml"] = [
            workflow_run(1, "a" * 40, "2026-10-01T09:00:00Z", updated="2026-10-01T09:07:00Z"),
            workflow_run(
                2, "b" * 40, "2026-10-02T09:00:00Z", conclusion="failure", updated="2026-10-02T09:04:00Z"
            ),
            workflow_run(3, "c" * 40, "2026-10-03T09:00:00Z", updated="2026-10-03T09:05:00Z"),
        ]
        repo.issues = [
            issue(7, "2026-10-02T10:00:00Z", closed="2026-10-02T11:00:00Z", labels=("incident", "sev2")),
            issue(8, "2026-10-03T12:00:00Z", labels=("incident",)),
        ]
        gh.server.fault("GET", r"/repos/acme/api/actions/workflows/deploy\.yml/runs", status=502)
        options = {
            "repos": ["acme/api"],
            "api_url": gh.url,
            "production_workflows": "deploy.yml",
            "incident_label": "incident",
            **FAST,
        }
        source = source_create(kind="github", name="gh", options=options, secret="test-token")
        source_sync(source=source)
    deployments = sorted(
        Deployment.objects.values_list(
            "external_id",
            "environment",
            "sha",
            "status",
            "created_at",
            "finished_at",
            "is_production",
            "source",
            "url",
        )
    )
    assert deployments == [
        (
            f"github-actions:{n}",
            "production",
            sha * 40,
            status,
            t(n, 9, month=10),
            t(n, 9, minutes, month=10),
            True,
            "github_actions",
            f"https://github.test/acme/api/actions/runs/{n}",
        )
        for n, sha, status, minutes in (
            (1, "a", "success", 7),
            (2, "b", "failure", 4),
            (3, "c", "success", 5),
        )
    ]
    assert stored_incidents() == [
        (
            "github_issues",
            "acme/api#7",
            "Outage 7",
            "sev2",
            "",
            "acme/api",
            t(2, 10, month=10),
            t(2, 11, month=10),
            "https://github.test/acme/api/issues/7",
            "last_before",
            "github-actions:1",  # run 2 failed and shipped nothing: run 1 is the last deployment
        ),
        (
            "github_issues",
            "acme/api#8",
            "Outage 8",
            "",
            "",
            "acme/api",
            t(3, 12, month=10),
            None,
            "https://github.test/acme/api/issues/8",
            "last_before",
            "github-actions:3",
        ),
    ]


def test_gitlab_incidents_sync_to_exact_rows(fresh_server: FakeApiServer) -> None:
    fake: FakeGitLab = acme(fresh_server)
    fake.max_per_page = 2
    fake.projects[0].issues = [
        incident_issue(1, "2024-05-01T18:00:00.000Z", closed="2024-05-01T19:00:00.000Z", severity="HIGH"),
        incident_issue(2, "2024-05-02T08:00:00.000Z", issue_type="issue"),
        incident_issue(3, "2024-05-04T08:00:00.000Z", labels=("severity::low",)),
    ]
    fake.fail(r"/api/v4/projects/11/issues", 429, {"Retry-After": "0"})
    options = {"api_url": fake.url, "project": "acme/api", "incidents": True, "max_retries": 3}
    source = source_create(kind="gitlab", name="gl", options=options, secret=fake.token)
    source_sync(source=source)
    assert stored_incidents() == [
        (
            "gitlab",
            "6101",
            "Incident 1",
            "HIGH",
            "",
            "acme/api",
            datetime(2024, 5, 1, 18, tzinfo=UTC),
            datetime(2024, 5, 1, 19, tzinfo=UTC),
            "https://gitlab.example.com/acme/api/-/issues/1",
            "last_before",
            "101",
        ),
        (
            "gitlab",
            "6103",
            "Incident 3",
            "low",
            "",
            "acme/api",
            datetime(2024, 5, 4, 8, tzinfo=UTC),
            None,
            "https://gitlab.example.com/acme/api/-/issues/3",
            "last_before",
            "101",  # deployment 103 ("live") is still running: 101 is the last that shipped
        ),
    ]
