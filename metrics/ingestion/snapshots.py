"""Recomputing the metric snapshot tables from ingested records (selector -> analytics -> table)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from metrics.analytics.snapshots import DEFINITION_VERSION, metric_snapshots
from metrics.core.memory import keep_freed_memory
from metrics.ingestion import selectors
from metrics.ingestion.models import MetricSnapshot, SyncRun

SNAPSHOT_PR_COLUMNS = [
    "id", "repository_id", "author_id", "state", "is_bot", "ai_assisted", "first_commit_at", "created_at",
    "ready_at", "first_review_at", "approved_at", "merged_at", "reverted_at", "additions", "deletions",
    "repository__team_id",
]


SNAPSHOT_COLUMNS = [
    "scope", "team_id", "repository_id", "person_id", "period", "period_start", "metric", "value", "n",
]
WRITE_BATCH = 50_000


def _column(frame: pd.DataFrame, name: str) -> list:
    """One output column as Python values, missing ones as None (fast paths for the engine's dtypes)."""
    series = frame[name]
    if isinstance(series.dtype, pd.CategoricalDtype):
        labels = np.asarray(series.cat.categories, dtype=object)
        return labels[series.cat.codes.to_numpy()].tolist()
    if name == "n":
        return series.astype("int64").tolist()
    if name == "value":
        return series.astype(float).to_numpy(dtype=object, na_value=None).tolist()  # NaN -> None
    return series.astype("Int64").to_numpy(dtype=object, na_value=None).tolist()


def _rows(frame: pd.DataFrame, now: datetime) -> Iterator[tuple]:
    for start in range(0, len(frame), WRITE_BATCH):
        part = frame.iloc[start:start + WRITE_BATCH]
        columns = [_column(part, name) for name in SNAPSHOT_COLUMNS]
        for row in zip(*columns, strict=True):
            yield (*row, DEFINITION_VERSION, now)


def write_snapshots(frame: pd.DataFrame, *, computed_at: datetime | None = None) -> int:
    """Replace every MetricSnapshot row with ``frame`` in one transaction (readers see old or new).
    ``computed_at``: when the data the frame was computed from was read (default: now).

    PostgreSQL takes the rows by COPY (millions of rows in seconds, no model instances in memory);
    other databases by batched INSERTs.
    """
    table = MetricSnapshot._meta.db_table
    names = [*SNAPSHOT_COLUMNS, "definition_version", "computed_at"]
    now = computed_at or timezone.now()
    with transaction.atomic():
        MetricSnapshot.objects.all().delete()
        if connection.vendor == "postgresql":
            statement = f"COPY {table} ({', '.join(names)}) FROM STDIN"
            with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
                for row in _rows(frame, now):
                    copy.write_row(row)
        else:
            batch: list[MetricSnapshot] = []
            for row in _rows(frame, now):
                batch.append(MetricSnapshot(**dict(zip(names, row, strict=True))))
                if len(batch) >= 2000:
                    MetricSnapshot.objects.bulk_create(batch)
                    batch.clear()
            MetricSnapshot.objects.bulk_create(batch)
    return len(frame)


def database_now() -> datetime:
    """The database's clock (one clock for every machine's workers); the local one on SQLite."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()


def snapshots_recompute() -> int:
    """Replace every snapshot and the AI-impact tables; returns the number of snapshot rows written.
    The snapshots' ``computed_at`` is when the reading of the records began (the database's clock)."""
    keep_freed_memory()
    as_of = database_now()
    prs = selectors.pull_request_frame(columns=SNAPSHOT_PR_COLUMNS)
    frame = metric_snapshots(
        prs, selectors.membership_frame(), selectors.team_frame(), selectors.deployment_frame()
    )
    written = write_snapshots(frame, computed_at=as_of)
    # AI impact and ROI are derived from the same records, so they are refreshed together.
    from metrics.ingestion.impact import ai_impact_recompute

    impact = ai_impact_recompute()
    return written + impact["adoption_rows"]  # adoption levels are snapshot rows too


RECOMPUTE_GRACE = timedelta(minutes=10)
RECOMPUTE_LOCK = 0x5E7A_0001  # PostgreSQL advisory lock: one recompute at a time, across machines


@contextmanager
def _recompute_lock() -> Iterator[None]:
    if connection.vendor != "postgresql":  # the embedded database: one process, SQLite's own lock
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [RECOMPUTE_LOCK])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [RECOMPUTE_LOCK])


def snapshots_recompute_if_stale(*, requested_at: datetime) -> dict[str, Any]:
    """The analytics queue's work: recompute unless a recompute that began reading at or after
    ``requested_at`` (when the records it was asked for were committed) has finished already.  Several
    syncs finishing together queue several requests; those a recompute already covered are skipped.
    Recomputes run one at a time (an advisory lock), so that a request made during one is served by the
    next, which reads what the running one may have missed."""
    with _recompute_lock():
        newest = MetricSnapshot.objects.order_by("-id").values_list("computed_at", flat=True).first()
        if newest is not None and newest >= requested_at:
            return {"status": "skipped", "computed_at": newest.isoformat()}
        rows = snapshots_recompute()
    return {"status": "computed", "rows": rows}


def snapshots_stale(*, grace: timedelta = RECOMPUTE_GRACE) -> bool:
    """Whether a sync stored records more than ``grace`` ago that no finished recompute has read: its
    request was lost (a broker restarted without persistence) or no analytics worker has run it.  Beat's
    tick asks again then (a request already covered is skipped, so asking twice costs nothing)."""
    newest = MetricSnapshot.objects.order_by("-id").values_list("computed_at", flat=True).first()
    runs = SyncRun.objects.filter(
        status=SyncRun.Status.SUCCEEDED, finished_at__lte=database_now() - grace, counts__records__gt=0
    )
    if newest is not None:
        runs = runs.filter(finished_at__gt=newest)
    return runs.exists()
