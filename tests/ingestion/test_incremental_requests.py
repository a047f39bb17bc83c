"""Scoped recompute requests: stored with the change, coalesced by the worker, models debounced."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction

from metrics.core.models import Person, Repository
from metrics.ingestion import recompute
from metrics.ingestion.changes import ChangeScope, PullRequestWatch
from metrics.ingestion.models import MetricSnapshot, PendingChange, PullRequest, SnapshotState

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


@pytest.fixture
def queued(settings: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """A broker that records what is sent (the workers' side is exercised by calling their functions)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(recompute.current_app, "send_task", lambda name, **kw: sent.append((name, kw)))
    return sent


def _pr(repo: Repository, number: int, *, merged: dt.datetime | None) -> PullRequest:
    author = Person.objects.get_or_create(display_name="Ann")[0]
    return PullRequest.objects.create(
        repository=repo,
        number=number,
        author=author,
        state="merged" if merged else "open",
        created_at=T0,
        merged_at=merged,
        additions=10,
        deletions=1,
    )


def test_scoped_requests_are_stored_with_the_change_and_served_together(
    queued: list[tuple[str, dict[str, Any]]], django_capture_on_commit_callbacks: Any
) -> None:
    repo = Repository.objects.create(full_name="acme/api")
    _pr(repo, 1, merged=T0 + dt.timedelta(hours=5))
    recompute.recompute_now(reason="first")  # a full recompute before any incremental one
    assert (
        MetricSnapshot.objects.filter(metric="merged_prs", scope="organization", period="week").get().n == 1
    )

    for number in (2, 3):
        watch = PullRequestWatch()
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            _pr(repo, number, merged=T0 + dt.timedelta(hours=number))
            watch.name((repo.full_name, number))
            outcome = recompute.recompute_request(reason=f"pr {number}", scope=watch.scope())
        assert outcome.queued
    assert PendingChange.objects.count() == 2  # committed with the changes
    assert [name for name, _ in queued] == [recompute.SNAPSHOTS_TASK] * 2
    assert all(kw["kwargs"]["incremental"] for _, kw in queued)

    first = recompute.pending_recompute()  # the first task serves both changes
    assert first["status"] == "computed" and first["changes"] == 2
    assert recompute.pending_recompute()["status"] == "skipped"  # the second finds nothing pending
    week = MetricSnapshot.objects.get(metric="merged_prs", scope="organization", period="week")
    assert week.n == 3 and not PendingChange.objects.exists()
    # the organization-wide models were asked for on their own queue, after the debounce
    models = [kw for name, kw in queued if name == recompute.MODELS_TASK]
    assert models and models[-1]["queue"] == recompute.MODELS_QUEUE and models[-1]["countdown"] > 0


def test_the_models_wait_for_a_pause_in_the_changes(queued: list[tuple[str, dict[str, Any]]]) -> None:
    assert recompute.models_requested()["status"] == "skipped"  # nothing asked
    recompute.models_request()
    state = SnapshotState.objects.get()
    assert state.models_pending_since is not None and state.models_due_at > state.models_pending_since
    early = recompute.models_requested()  # its debounce has not passed: a later task computes
    assert early["status"] == "skipped" and early["reason"].startswith("due at")
    SnapshotState.objects.update(models_due_at=state.models_pending_since)  # the pause passed
    assert recompute.models_requested()["status"] == "computed"
    state.refresh_from_db()
    assert state.models_pending_since is None and state.models_computed_at is not None


def test_a_scope_survives_its_json_and_a_malformed_one_is_everything() -> None:
    scope = ChangeScope(
        prs=frozenset([3, 1]),
        placements=frozenset([(2, None, T0.isoformat())]),
        people=frozenset([7]),
        repositories=frozenset([4]),
        deployments=frozenset([(4, T0.isoformat())]),
        models=True,
    )
    assert ChangeScope.from_json(scope.as_json()) == scope
    assert (scope | ChangeScope(prs=frozenset([9]))).prs == {1, 3, 9}
    assert ChangeScope.from_json({"prs": ["x"]}).everything
    assert not ChangeScope(models=True).cells_touched
