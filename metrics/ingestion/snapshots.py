"""Recomputing the metric snapshot tables from ingested records (selector -> analytics -> table)."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from metrics.analytics.snapshots import DEFINITION_VERSION, metric_snapshots
from metrics.core.memory import keep_freed_memory
from metrics.ingestion import selectors
from metrics.ingestion.models import MetricSnapshot

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


def _rows(frame: pd.DataFrame) -> Iterator[tuple]:
    now = timezone.now()
    for start in range(0, len(frame), WRITE_BATCH):
        part = frame.iloc[start:start + WRITE_BATCH]
        columns = [_column(part, name) for name in SNAPSHOT_COLUMNS]
        for row in zip(*columns, strict=True):
            yield (*row, DEFINITION_VERSION, now)


def write_snapshots(frame: pd.DataFrame) -> int:
    """Replace every MetricSnapshot row with ``frame`` in one transaction (readers see old or new).

    PostgreSQL takes the rows by COPY (millions of rows in seconds, no model instances in memory);
    other databases by batched INSERTs.
    """
    table = MetricSnapshot._meta.db_table
    names = [*SNAPSHOT_COLUMNS, "definition_version", "computed_at"]
    with transaction.atomic():
        MetricSnapshot.objects.all().delete()
        if connection.vendor == "postgresql":
            statement = f"COPY {table} ({', '.join(names)}) FROM STDIN"
            with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
                for row in _rows(frame):
                    copy.write_row(row)
        else:
            batch: list[MetricSnapshot] = []
            for row in _rows(frame):
                batch.append(MetricSnapshot(**dict(zip(names, row, strict=True))))
                if len(batch) >= 2000:
                    MetricSnapshot.objects.bulk_create(batch)
                    batch.clear()
            MetricSnapshot.objects.bulk_create(batch)
    return len(frame)


def snapshots_recompute() -> int:
    """Replace every snapshot and the AI-impact tables; returns the number of snapshot rows written."""
    keep_freed_memory()
    prs = selectors.pull_request_frame(columns=SNAPSHOT_PR_COLUMNS)
    frame = metric_snapshots(
        prs, selectors.membership_frame(), selectors.team_frame(), selectors.deployment_frame()
    )
    written = write_snapshots(frame)
    # AI impact and ROI are derived from the same records, so they are refreshed together.
    from metrics.ingestion.impact import ai_impact_recompute

    impact = ai_impact_recompute()
    return written + impact["adoption_rows"]  # adoption levels are snapshot rows too
