"""Recompute requests (the analytics queue's work, in-process): a request a finished recompute covered is
skipped, a later one recomputes; beat asks again only for records stored more than the grace ago that no
recompute has read.  (The same with real workers and Redis: test_analytics_queue.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from metrics.ingestion.models import MetricSnapshot, SyncRun
from metrics.ingestion.snapshots import RECOMPUTE_GRACE, snapshots_recompute_if_stale, snapshots_stale
from tests.factories import make_snapshot

pytestmark = pytest.mark.django_db


def _snapshot_at(when: dt.datetime) -> MetricSnapshot:
    snapshot = make_snapshot(metric="merged_prs", value=3.0, period_start=dt.date(2026, 11, 2))
    MetricSnapshot.objects.filter(pk=snapshot.pk).update(computed_at=when)
    return snapshot


def _run(finished: dt.datetime, records: int) -> SyncRun:
    return SyncRun.objects.create(kind="github", source="acme", status=SyncRun.Status.SUCCEEDED,
                                  counts={"records": records}, finished_at=finished)


def test_a_request_covered_by_a_finished_recompute_is_skipped_a_later_one_recomputes() -> None:
    computed = timezone.now() - dt.timedelta(minutes=5)
    planted = _snapshot_at(computed)
    skipped = snapshots_recompute_if_stale(requested_at=computed - dt.timedelta(seconds=1))
    assert skipped == {"status": "skipped", "computed_at": computed.isoformat()}
    assert MetricSnapshot.objects.filter(pk=planted.pk).exists()
    later = snapshots_recompute_if_stale(requested_at=computed + dt.timedelta(seconds=1))
    assert later["status"] == "computed"
    assert not MetricSnapshot.objects.filter(pk=planted.pk).exists()  # replaced by the recompute


def test_stale_only_for_records_stored_more_than_the_grace_ago_that_no_recompute_read() -> None:
    now = timezone.now()
    late = now - RECOMPUTE_GRACE - dt.timedelta(minutes=1)
    assert not snapshots_stale()
    _run(late, records=0)  # a sync that stored nothing asks for nothing
    assert not snapshots_stale()
    recent = _run(now - dt.timedelta(minutes=5), records=40)  # within the grace: its request may be queued
    assert not snapshots_stale()
    SyncRun.objects.filter(pk=recent.pk).update(finished_at=late)
    assert snapshots_stale()  # no snapshot at all
    _snapshot_at(late - dt.timedelta(minutes=1))
    assert snapshots_stale()  # computed before that sync finished
    MetricSnapshot.objects.update(computed_at=late + dt.timedelta(seconds=1))
    assert not snapshots_stale()  # a recompute read it
