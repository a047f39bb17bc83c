"""source_sync: the GitHub connector against the fake GitHub, stored in the real database, checkpointed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone

from connectors.base import ConnectorError
from metrics.core.models import DataSource, Repository, TeamMembership
from metrics.ingestion.models import Commit, Deployment, PullRequest, Review, SyncRun
from metrics.ingestion.sync import CONNECTOR_CLASSES, SyncBusyError, source_sync, sources_due
from metrics.ingestion.sync_sources import HALTED, source_create, source_secret_set
from tests.fakes.github import FakeGitHub
from tests.fakes.github_data import populate, populate_teams
from tests.fakes.state import database_state

pytestmark = pytest.mark.django_db
KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def encryption_key(settings: Any) -> None:
    settings.SEXTANT_ENCRYPTION_KEYS = KEY


class Killed(BaseException):
    """Stands for SIGKILL: nothing below catches it, nothing is cleaned up."""


def github_source(gh: FakeGitHub, name: str = "acme", **options: Any) -> DataSource:
    options = {"org": "acme", "api_url": gh.url, "backoff_seconds": 0.01, "page_size": 20, **options}
    return source_create(kind="github", name=name, options=options, secret="test-token")


def fill(gh: FakeGitHub) -> None:
    populate(gh, "acme/api", prs=50, big_every=25)
    populate(gh, "acme/web", prs=10, seed=2)
    populate_teams(gh, "acme")


def wipe() -> None:
    PullRequest.objects.all().delete()
    Commit.objects.all().delete()
    Deployment.objects.all().delete()
    TeamMembership.objects.all().delete()
    DataSource.objects.update(checkpoint={})


def test_registry_imports_connectors_lazily() -> None:
    assert "github" in CONNECTOR_CLASSES and "gitlab" in CONNECTOR_CLASSES
    assert CONNECTOR_CLASSES["github"].__name__ == "GitHubConnector"
    with pytest.raises(KeyError):
        CONNECTOR_CLASSES["svn"]


def test_a_killed_sync_resumes_with_nothing_lost_or_doubled_and_equals_an_uninterrupted_one() -> None:
    with FakeGitHub() as gh:
        fill(gh)
        source = github_source(gh)
        pages = []

        def kill_on_third_page(stage: str, done: int, total: int | None) -> None:
            if "pull requests" in stage:
                pages.append(done)
                if len(pages) == 3:
                    raise Killed

        with pytest.raises(Killed):
            source_sync(source=source, progress=kill_on_third_page, task_id="task-1")
        source.refresh_from_db()
        cursor = source.checkpoint["repos"]["acme/api"]["prs"]["cursor"]
        assert PullRequest.objects.count() == 40  # two pages of 20 were committed, the third was not
        with pytest.raises(SyncBusyError):  # the dead run still looks alive to another task...
            source_sync(source=source, task_id="task-2")
        gh.operations.clear()
        resumed = source_sync(source=source, task_id="task-1")  # ...but not to its own redelivery
        first_page = next(v for name, v in gh.operations if name == "PullRequests")
        resumed_state = database_state()
        again = source_sync(source=source)
        assert again.counts["records"] == 0 and again.counts["api_requests"] == 1
        assert database_state() == resumed_state
        wipe()
        run = source_sync(source=source)
        uninterrupted = database_state()
    assert first_page["after"] == cursor
    assert resumed.status == SyncRun.Status.SUCCEEDED and resumed_state == uninterrupted
    dead = SyncRun.objects.get(counts__task_id="task-1", status=SyncRun.Status.FAILED)
    assert dead.error == f"interrupted (worker lost or killed); resumed by run {resumed.pk}"

    fake_prs = [p for r in gh.repos.values() for p in r.prs.values()]
    assert run.status == SyncRun.Status.SUCCEEDED and run.error == ""
    assert PullRequest.objects.count() == len(fake_prs) == run.counts["prs_new"] == 60
    assert Review.objects.count() == sum(1 for p in fake_prs for r in p.reviews if r.state != "PENDING")
    assert Commit.objects.count() == sum(len(p.commits) + (p.merge_commit is not None) for p in fake_prs)
    assert (
        Deployment.objects.count()
        == run.counts["deployments"]
        == sum(1 for r in gh.repos.values() for d in r.deployments if d.environment == "production")
    )
    assert TeamMembership.objects.count() == 12
    assert set(Repository.objects.values_list("host", flat=True)) == {"github"}
    agent_prs = sum(1 for p in fake_prs if p.head.startswith("copilot/"))
    assert (
        PullRequest.objects.filter(head_branch__startswith="copilot/", ai_assisted=True).count() == agent_prs
    )
    revert = PullRequest.objects.get(repository__full_name="acme/api", number=23)
    assert revert.revert_of is not None and revert.revert_of.number == 22
    source.refresh_from_db()
    assert source.last_success_at is not None and source.last_error == ""
    assert set(source.checkpoint["repos"]) == {"acme/api", "acme/web"}


def test_a_run_without_heartbeat_for_the_lease_is_taken_over() -> None:
    with FakeGitHub() as gh:
        populate(gh, "acme/api", prs=5)
        source = github_source(gh)
        stale = SyncRun.objects.create(
            kind="github",
            source="acme",
            data_source=source,
            counts={"heartbeat": (timezone.now() - timedelta(minutes=11)).isoformat()},
        )
        run = source_sync(source=source)
    stale.refresh_from_db()
    assert run.status == "succeeded" and stale.status == "failed" and "resumed by run" in stale.error


def test_a_repository_deleted_mid_sync_is_recorded_and_the_rest_is_stored() -> None:
    with FakeGitHub() as gh:
        populate(gh, "acme/api", prs=30)
        populate(gh, "acme/web", prs=30, seed=2)

        def delete_web(operation: str, variables: dict[str, Any]) -> None:
            if operation == "PullRequests" and variables.get("name") == "web" and variables.get("after"):
                gh.repos["acme/web"].gone = True

        gh.hooks.append(delete_web)
        source = github_source(gh)
        run = source_sync(source=source)
    source.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED and run.counts["problems"] == 1
    assert (
        run.error == source.last_error == "acme/web: skipped, deleted or no longer accessible with this token"
    )
    assert PullRequest.objects.filter(repository__full_name="acme/api").count() == 30
    assert PullRequest.objects.filter(repository__full_name="acme/web").count() == 20  # its first page


def test_a_revoked_token_is_recorded_once_and_halts_scheduled_syncs() -> None:
    with FakeGitHub(tokens=("rotated",)) as gh:
        populate(gh, "acme/api", prs=3)
        source = github_source(gh)
        with pytest.raises(ConnectorError) as error:
            source_sync(source=source)
        assert gh.server.count() == 1  # no retry storm
    source.refresh_from_db()
    assert error.value.permanent and "401 Bad credentials" in source.last_error
    assert SyncRun.objects.get(data_source=source).status == SyncRun.Status.FAILED
    assert source.checkpoint[HALTED] and sources_due() == []
    source_secret_set(source=source, secret="a new token")
    later = timezone.now() + timedelta(minutes=61)
    assert sources_due(now=later) == [source.pk] and source.last_error == ""


def test_sources_due_follow_each_interval() -> None:
    with FakeGitHub() as gh:
        hourly = github_source(gh, "hourly")
        daily = github_source(gh, "daily")
        DataSource.objects.filter(pk=daily.pk).update(sync_interval_minutes=1440)
        disabled = github_source(gh, "off")
        DataSource.objects.filter(pk=disabled.pk).update(enabled=False)
    assert sources_due() == [hourly.pk, daily.pk]
    now = timezone.now()
    for source in (hourly, daily):
        SyncRun.objects.create(kind="github", source=source.name, data_source=source, status="succeeded")
    assert sources_due(now=now + timedelta(minutes=30)) == []
    assert sources_due(now=now + timedelta(minutes=61)) == [hourly.pk]
    assert sources_due(now=now + timedelta(days=1, minutes=1)) == [hourly.pk, daily.pk]


def test_sync_due_sources_task_queues_each_due_source_after_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from metrics.ingestion.tasks import source_sync_task, sync_due_sources_task

    with FakeGitHub() as gh:
        populate(gh, "acme/api", prs=4)
        due = github_source(gh, "due", org="", repos=["acme/api"])
        off = github_source(gh, "off")
        DataSource.objects.filter(pk=off.pk).update(enabled=False)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            queued = sync_due_sources_task.apply().get()
        assert queued == [due.pk] and len(callbacks) == 1
        assert PullRequest.objects.count() == 4  # eager mode (no broker): the sync ran in-process
        again = source_sync_task.apply(args=[due.pk]).get()  # nothing new: one request
    assert again["status"] == "succeeded" and again["counts"]["api_requests"] == 1
    assert source_sync_task.name == "sextant.ingestion.source_sync" and source_sync_task.queue == "sync"
    assert source_sync_task.acks_late and source_sync_task.reject_on_worker_lost


def test_repositories_stored_by_a_killed_run_are_derived_by_the_run_that_resumes_it() -> None:
    """A sync derives reverts and AI flags once, after its pages (deriving per page read the whole
    repository each time: a quadratic first sync).  The pages a killed run stored are derived by the run
    that resumes it, even when that run stores nothing more of their repository."""
    with FakeGitHub() as gh:
        fill(gh)
        source = github_source(gh)
        seen: list[str] = []

        def kill_in_web(stage: str, done: int, total: int | None) -> None:
            seen.append(stage)
            if "acme/web" in stage and "pull requests" in stage:
                raise Killed

        with pytest.raises(Killed):
            source_sync(source=source, progress=kill_in_web, task_id="task-1")
        assert PullRequest.objects.filter(repository__full_name="acme/api").count() == 50
        revert = PullRequest.objects.get(repository__full_name="acme/api", number=23)
        assert revert.revert_of is None  # stored, not derived yet
        resumed = source_sync(source=source, task_id="task-1")
    assert resumed.status == SyncRun.Status.SUCCEEDED
    assert "derive_pending" not in resumed.counts
    revert.refresh_from_db()
    assert revert.revert_of is not None and revert.revert_of.number == 22
    api = PullRequest.objects.filter(repository__full_name="acme/api")
    assert (
        api.filter(head_branch__startswith="copilot/", ai_assisted=True).count()
        == api.filter(head_branch__startswith="copilot/").count()
        > 0
    )
