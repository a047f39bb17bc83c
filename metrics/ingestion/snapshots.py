"""Recomputing the metric snapshot tables from ingested records (selector -> analytics -> table)."""
from __future__ import annotations

import pandas as pd
from django.db import transaction

from metrics.analytics.snapshots import DEFINITION_VERSION, metric_snapshots
from metrics.ingestion import selectors
from metrics.ingestion.models import MetricSnapshot

SNAPSHOT_PR_COLUMNS = [
    "id", "repository_id", "author_id", "state", "is_bot", "ai_assisted", "first_commit_at", "created_at",
    "ready_at", "first_review_at", "approved_at", "merged_at", "reverted_at", "additions", "deletions",
    "repository__team_id",
]


def _nullable(value: object) -> object:
    return None if value is None or pd.isna(value) else value


def snapshots_recompute() -> int:
    """Replace every snapshot and the AI-impact tables; returns the number of snapshot rows written."""
    prs = selectors.pull_request_frame(columns=SNAPSHOT_PR_COLUMNS)
    frame = metric_snapshots(
        prs, selectors.membership_frame(), selectors.team_frame(), selectors.deployment_frame()
    )
    rows = [
        MetricSnapshot(
            scope=r.scope, team_id=_nullable(r.team_id), repository_id=_nullable(r.repository_id),
            person_id=_nullable(r.person_id),
            period=r.period, period_start=r.period_start, metric=r.metric,
            value=None if pd.isna(r.value) else float(r.value), n=int(r.n),
            definition_version=DEFINITION_VERSION,
        )
        for r in frame.itertuples(index=False)
    ]
    with transaction.atomic():
        MetricSnapshot.objects.all().delete()
        MetricSnapshot.objects.bulk_create(rows, batch_size=2000)
    # AI impact and ROI are derived from the same records, so they are refreshed together.
    from metrics.ingestion.impact import ai_impact_recompute

    impact = ai_impact_recompute()
    return len(rows) + impact["adoption_rows"]  # adoption levels are snapshot rows too
