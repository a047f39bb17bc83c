"""GitLab end to end with the database: a configured source synced by ``source_sync`` from the fake GitLab
on 127.0.0.1, and ``POST /webhooks/gitlab`` (X-Gitlab-Token) enqueuing a sync of one project.

(Database tests: they live beside the GitLab connector tests they build on; move them to
tests/ingestion/ if the directory convention should win.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import path

from metrics.core.models import DataSource, Team, TeamMembership
from metrics.ingestion.gitlab_webhooks import gitlab_webhook
from metrics.ingestion.models import Deployment, PullRequest, Revert, Review, SyncRun, WebhookDelivery
from metrics.ingestion.sync import source_sync
from metrics.ingestion.sync_sources import source_create
from tests.fakes.gitlab import FakeGitLab, acme
from tests.fakes.server import FakeApiServer

pytestmark = pytest.mark.django_db
HOOK_SECRET = "gitlab-hook-secret"
Capture = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


@pytest.fixture
def fake(fresh_server: FakeApiServer) -> FakeGitLab:
    return acme(fresh_server)


@pytest.fixture
def source(fake: FakeGitLab) -> DataSource:
    return source_create(
        kind="gitlab",
        name="acme-gitlab",
        options={"group": "acme", "api_url": fake.url},
        secret=fake.token,
        webhook_secret=HOOK_SECRET,
    )


class TestSourceSync:
    def test_a_group_is_stored_with_reverts_reviews_deployments_and_teams(
        self, source: DataSource, fake: FakeGitLab
    ) -> None:
        run = source_sync(source=source)
        assert run.status == SyncRun.Status.SUCCEEDED
        assert run.error == "project acme/gone skipped: /projects/13/merge_requests: 404 Project Not Found"
        assert (run.counts["prs_new"], run.counts["reviews"], run.counts["deployments"]) == (6, 5, 3)
        first = PullRequest.objects.get(repository__full_name="acme/api", number=1)
        assert (first.first_review_at, first.approved_at, first.merged_at) == (
            datetime(2024, 5, 1, 10, 30, tzinfo=UTC),
            datetime(2024, 5, 1, 14, tzinfo=UTC),
            datetime(2024, 5, 1, 16, tzinfo=UTC),
        )
        assert first.first_commit_at == datetime(2024, 4, 30, 13, tzinfo=UTC)  # 15:00+02:00
        assert first.ai_assisted and first.reverted_at == datetime(2024, 5, 3, 11, tzinfo=UTC)
        revert = Revert.objects.get()
        assert (revert.reverted_pr.number, revert.reverting_pr.number) == (1, 2)  # type: ignore[union-attr]
        assert PullRequest.objects.get(repository__full_name="acme/api", number=3).ai_assisted  # copilot/
        assert Review.objects.filter(pull_request=first).count() == 3
        production = Deployment.objects.filter(is_production=True).values_list("external_id", flat=True)
        assert sorted(production) == ["101", "103"]
        platform = Team.objects.get(name="Platform")
        assert platform.parent == Team.objects.get(name="Acme")
        assert sorted(
            TeamMembership.objects.filter(team=platform).values_list("person__identities__value", flat=True)
        ) == ["bob", "carol"]
        source.refresh_from_db()
        assert source.checkpoint["projects"]["acme/api"]["mrs"] == "2024-05-07T10:00:00.000Z"

    def test_a_resync_with_nothing_new_reads_no_merge_request(
        self, source: DataSource, fake: FakeGitLab
    ) -> None:
        source_sync(source=source)
        fake.server.reset_log()
        source.refresh_from_db()  # the checkpoint the first run stored
        run = source_sync(source=source)
        assert run.status == SyncRun.Status.SUCCEEDED and run.counts.get("prs_new", 0) == 0
        assert not [r for r in fake.server.requests if "/merge_requests/" in r.path]
        assert PullRequest.objects.count() == 6


def post(
    client: Client,
    body: object,
    *,
    token: str = HOOK_SECRET,
    event: str = "Merge Request Hook",
    uuid: str = "7f1c2a90-0000-4000-8000-000000000001",
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"X-Gitlab-Token": token, "X-Gitlab-Event": event, "X-Gitlab-Event-UUID": uuid}
    return client.post("/webhooks/gitlab", data=raw, content_type="application/json", headers=headers)


MR_EVENT = {
    "object_kind": "merge_request",
    "event_type": "merge_request",
    "project": {"id": 12, "path_with_namespace": "acme/platform/infra"},
    "object_attributes": {"iid": 1, "action": "approved"},
}


# Until metrics/ingestion/urls.py mounts it, these tests serve the view from this module's URLconf.
urlpatterns = [path("webhooks/gitlab", gitlab_webhook)]


@pytest.mark.urls(__name__)
class TestWebhook:
    def test_a_verified_event_syncs_its_project(
        self, source: DataSource, fake: FakeGitLab, django_capture_on_commit_callbacks: Capture
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = post(Client(), MR_EVENT)
        assert response.status_code == 202
        assert response.json() == {
            "status": "queued",
            "repository": "acme/platform/infra",
            "sources": ["acme-gitlab"],
        }
        assert len(callbacks) == 1  # the sync task (eager here) ran after the commit
        assert list(PullRequest.objects.values_list("repository__full_name", "number")) == [
            ("acme/platform/infra", 1)
        ]
        assert not [r for r in fake.server.requests if "/members" in r.path or "/projects/11/" in r.path]
        assert WebhookDelivery.objects.filter(provider="gitlab").count() == 1

    def test_a_replayed_delivery_is_ignored(
        self, source: DataSource, django_capture_on_commit_callbacks: Capture
    ) -> None:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert post(Client(), MR_EVENT).status_code == 202
            again = post(Client(), MR_EVENT)
        assert again.status_code == 200 and again.json()["status"] == "duplicate"
        assert len(callbacks) == 1

    def test_a_bad_token_is_401_and_stores_nothing(
        self, source: DataSource, django_capture_on_commit_callbacks: Capture
    ) -> None:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert post(Client(), MR_EVENT, token="guess").status_code == 401
            assert post(Client(), MR_EVENT, token="").status_code == 401
        assert not callbacks and not WebhookDelivery.objects.exists()

    def test_unknown_events_malformed_bodies_and_foreign_projects(self, source: DataSource) -> None:
        client = Client()
        ignored = post(client, MR_EVENT, event="Pipeline Hook")
        assert (ignored.status_code, ignored.json()["status"]) == (202, "ignored")
        assert post(client, b"{not json", uuid="u2").status_code == 400
        assert post(client, b"[1, 2]", uuid="u3").status_code == 400
        foreign = post(client, {**MR_EVENT, "project": {"path_with_namespace": "other/app"}}, uuid="u4")
        assert (foreign.status_code, foreign.json()["status"]) == (202, "ignored")
        assert client.get("/webhooks/gitlab").status_code == 405
        assert not WebhookDelivery.objects.exists()
