"""Recompute requests (the analytics queue's work, in-process): a request a finished recompute covered is
skipped, a later one recomputes; beat asks again only for records stored more than the grace ago that no
recompute has read, once per grace.  (With real workers and Redis, and a broker that is down when a sync
ends: test_analytics_queue.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from metrics.ingestion.models import MetricSnapshot, SnapshotState, SyncRun
from metrics.ingestion.snapshots import (
    RECOMPUTE_GRACE,
    snapshots_asked_again,
    snapshots_recompute,
    snapshots_recompute_if_stale,
    snapshots_stale,
)
from tests.factories import make_snapshot

pytestmark = pytest.mark.django_db


def _run(finished: dt.datetime, records: int, status: str = SyncRun.Status.SUCCEEDED) -> SyncRun:
    return SyncRun.objects.create(
        kind="github", source="acme", status=status, counts={"records": records}, finished_at=finished
    )


def test_a_request_covered_by_a_finished_recompute_is_skipped_a_later_one_recomputes() -> None:
    read_from = timezone.now() - dt.timedelta(minutes=5)
    SnapshotState.objects.create(pk=1, read_from=read_from)
    planted = make_snapshot(metric="merged_prs", value=3.0, period_start=dt.date(2026, 11, 2))
    skipped = snapshots_recompute_if_stale(requested_at=read_from - dt.timedelta(seconds=1))
    assert skipped == {"status": "skipped", "read_from": read_from.isoformat()}
    assert MetricSnapshot.objects.filter(pk=planted.pk).exists()
    later = snapshots_recompute_if_stale(requested_at=read_from + dt.timedelta(seconds=1))
    assert later["status"] == "computed"
    assert not MetricSnapshot.objects.filter(pk=planted.pk).exists()  # replaced by the recompute
    # the marker is when that recompute began reading: after the request, before now
    assert read_from + dt.timedelta(seconds=1) < SnapshotState.objects.get().read_from <= timezone.now()


def test_the_task_reads_a_request_time_without_offset_as_utc_and_an_unreadable_one_as_recompute() -> None:
    """A request time without an offset (SQLite's stored text) failed the task with a TypeError, so the
    request was never served (issue 22: the analytics-queue test on SQLite)."""
    from metrics.ingestion.tasks import snapshots_recompute_task

    read_from = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=5)
    SnapshotState.objects.create(pk=1, read_from=read_from)
    naive = (read_from - dt.timedelta(seconds=1)).astimezone(dt.UTC).replace(tzinfo=None)
    assert snapshots_recompute_task.apply(args=[naive.isoformat()]).get()["status"] == "skipped"
    naive_later = naive + dt.timedelta(seconds=2)
    assert snapshots_recompute_task.apply(args=[naive_later.isoformat()]).get()["status"] == "computed"
    assert snapshots_recompute_task.apply(args=["not a time"]).get()["status"] == "computed"


def test_stale_only_for_records_stored_more_than_the_grace_ago_that_no_recompute_read() -> None:
    now = timezone.now()
    late = now - RECOMPUTE_GRACE - dt.timedelta(minutes=1)
    assert not snapshots_stale()
    _run(late, records=0)  # a sync that stored nothing asks for nothing
    assert not snapshots_stale()
    recent = _run(now - dt.timedelta(minutes=5), records=40)  # within the grace: its request may be queued
    assert not snapshots_stale()
    SyncRun.objects.filter(pk=recent.pk).update(finished_at=late)
    assert snapshots_stale()  # never computed
    snapshots_recompute()  # no PRs: no snapshot rows, but the records were read
    assert MetricSnapshot.objects.count() == 0 and not snapshots_stale()
    # a failed sync's stored pages count too; asked again once per grace, not on every tick
    _run(timezone.now() - dt.timedelta(seconds=1), records=20, status=SyncRun.Status.FAILED)
    SnapshotState.objects.update(read_from=late - dt.timedelta(minutes=1))
    SyncRun.objects.update(finished_at=late)
    assert snapshots_stale()
    snapshots_asked_again()
    assert not snapshots_stale()
    SnapshotState.objects.update(asked_at=late)
    assert snapshots_stale()
