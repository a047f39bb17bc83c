"""Recomputing the metric snapshot tables from ingested records (selector -> analytics -> table)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from metrics.analytics import catalog
from metrics.analytics.snapshots import (
    DEFINITION_VERSION,
    OUTPUT_COLUMNS,
    Observation,
    delivery_outcomes,
    delivery_split,
    snapshot_rows,
)
from metrics.core.memory import keep_freed_memory
from metrics.ingestion import completeness, selectors
from metrics.ingestion.agents_review import agent_and_review_snapshots
from metrics.ingestion.delivery import delivery_split_write
from metrics.ingestion.impact import adoption_snapshots, ai_impact_recompute, impact_frame
from metrics.ingestion.models import MetricSnapshot, PendingChange, SnapshotState, SyncRun

SNAPSHOT_PR_COLUMNS = [
    *selectors.PR_KEY_COLUMNS,  # id, repository, author, state, bot, AI
    *(t for t in catalog.TIMESTAMPS if t != "deployed_at"),  # the phases' times (deployed_at is derived)
    "reverted_at",
    "additions",
    "deletions",
    "repository__team_id",
    "head_branch",  # delivery: hotfixes
    "labels",
    "revert_of_id",
]
# The merge-dated cells' PRs: the delivery keys' columns (hotfix branches and labels) left out.
CELL_PR_COLUMNS = [c for c in SNAPSHOT_PR_COLUMNS if c not in ("head_branch", "labels")]
SNAPSHOT_COLUMNS = OUTPUT_COLUMNS  # the engine's rows, as the table stores them
WRITE_BATCH = 50_000
MERGED = Q(state="merged", merged_at__isnull=False)


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
        part = frame.iloc[start : start + WRITE_BATCH]
        columns = [_column(part, name) for name in SNAPSHOT_COLUMNS]
        for row in zip(*columns, strict=True):
            yield (*row, DEFINITION_VERSION, now)


def write_snapshots(
    frames: pd.DataFrame | Iterable[pd.DataFrame], extra: list[MetricSnapshot] | None = None
) -> int:
    """Replace every MetricSnapshot row with ``frames`` (one frame, or parts written one at a time) and
    the unsaved ``extra`` rows (AI adoption) in one transaction (readers see old or new).  The one
    writer of the table (``replace_rows`` replaces part of it).

    PostgreSQL takes the rows by COPY (millions of rows in seconds, no model instances in memory);
    other databases by batched INSERTs.
    """
    return replace_rows(MetricSnapshot.objects.all(), frames, extra)


def replace_rows(
    old: QuerySet,
    frames: pd.DataFrame | Iterable[pd.DataFrame],
    extra: list[MetricSnapshot] | None = None,
) -> int:
    """Delete the rows ``old`` selects and insert ``frames`` and ``extra``, in one transaction."""
    now = timezone.now()
    parts = [frames] if isinstance(frames, pd.DataFrame) else frames
    written = len(extra or [])

    def framed() -> Iterator[tuple]:
        nonlocal written
        for part in parts:
            written += len(part)
            yield from _rows(part)

    rows = itertools.chain(
        framed(),
        ((*(getattr(m, n) for n in SNAPSHOT_COLUMNS), m.definition_version, now) for m in extra or []),
    )
    with transaction.atomic():
        old.delete()
        _insert(rows, now)
    return written


def _insert(rows: Iterator[tuple], now: datetime) -> None:
    table = MetricSnapshot._meta.db_table
    names = [*SNAPSHOT_COLUMNS, "definition_version", "computed_at"]
    if connection.vendor == "postgresql":
        statement = f"COPY {table} ({', '.join(names)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    # one parameterised INSERT per batch: no model instances, no per-field compilation
    ops, quote = connection.ops, connection.ops.quote_name
    stamp = ops.adapt_datetimefield_value(now)
    day = names.index("period_start")
    statement = (  # names from the model, values as parameters
        f"INSERT INTO {quote(table)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(names))})"
    )
    with connection.cursor() as cursor:
        while batch := list(itertools.islice(rows, 5000)):
            cursor.executemany(
                statement,
                [(*r[:day], ops.adapt_datefield_value(r[day]), *r[day + 1 : -1], stamp) for r in batch],
            )


def snapshot_frame(instances: list[MetricSnapshot]) -> pd.DataFrame:
    """Unsaved snapshot rows (of this ``DEFINITION_VERSION``) as a frame ``write_snapshots`` takes: a
    hundred thousand model instances took ~60 MB for as long as the cells were computed."""
    if any(m.definition_version != DEFINITION_VERSION for m in instances):
        raise ValueError("snapshot rows of another definition version")  # the writer stamps this one
    values = [[getattr(m, n) for n in SNAPSHOT_COLUMNS] for m in instances]
    frame = pd.DataFrame(values, columns=SNAPSHOT_COLUMNS)
    labels = {c: frame[c].astype("category") for c in ("scope", "period", "period_start", "metric")}
    return frame.assign(**labels, value=frame["value"].astype(float), n=frame["n"].astype("int64"))


def database_now() -> datetime:
    """The database's clock (one clock for every machine's workers); the local one on SQLite."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()


def snapshots_recompute() -> int:
    """Replace every snapshot and the AI-impact tables; returns the number of snapshot rows written.
    One recompute at a time (a PostgreSQL advisory lock, whoever calls); when both are written,
    ``SnapshotState.read_from`` records when this one began reading the records (the database's clock)."""
    with recompute_lock(), models_lock():
        keep_freed_memory()
        as_of = database_now()
        pending = list(PendingChange.objects.values_list("pk", flat=True))  # covered by this recompute
        # The AI-impact models and ROI first (derived from the same records, refreshed together): their
        # PRs are freed before the cells' are read, so the two never take memory at the same time.
        # Adoption levels are snapshot rows, written with the others by the one writer.
        model = impact_frame()
        extra = snapshot_frame(adoption_snapshots(model) + agent_and_review_snapshots())
        ai_impact_recompute(model=model)
        del model
        deployments, incidents = selectors.deployment_frame(), selectors.incident_frame()
        # Branches and labels only name hotfixes, a delivery key: without deployments they are not read
        # (a million PRs' branch names and label lists took ~200 MB with the memory they pinned).
        # Only merged PRs: every cell and delivery key counts merged PRs alone (``_prepare``).
        prs, ai_or_agent = pr_inputs(
            MERGED, columns=SNAPSHOT_PR_COLUMNS if len(deployments) else CELL_PR_COLUMNS
        )
        through = completeness.data_through()
        observation = observation_at(through)
        rows = snapshot_rows(
            prs, selectors.membership_frame(), selectors.team_frame(), deployments, observation, incidents
        )
        split = (
            delivery_split(prs.assign(ai_assisted=ai_or_agent), deployments, incidents, observation)
            if len(deployments)
            else []
        )
        del prs, deployments, incidents, ai_or_agent
        # Millions of rows: built and written a part at a time from the engine's compact blocks.
        written = write_snapshots(itertools.chain(rows.frames(WRITE_BATCH), [extra]))
        del rows, extra
        delivery_split_write(split)
        done = timezone.now()
        SnapshotState.objects.update_or_create(
            pk=1,
            defaults={
                "read_from": as_of,
                "through": through,
                "cells_computed_at": done,
                "models_computed_at": done,
            },
        )
        PendingChange.objects.filter(pk__in=pending).delete()
    return written


def pr_inputs(
    where: Q | None = None, columns: list[str] = SNAPSHOT_PR_COLUMNS
) -> tuple[pd.DataFrame, pd.Series]:
    """The snapshot engine's PRs (all, or those matching ``where``) and which are AI-assisted or
    agent-authored.  Agent-authored PRs are their own class: never counted in the AI-assisted share (the
    delivery split compares AI-assisted or agent-authored changes with the rest)."""
    prs = selectors.pull_request_frame(columns=columns, where=where)
    agent = prs["id"].isin(selectors.agent_pr_frame()["id"])
    ai_or_agent = prs["ai_assisted"].astype(bool) | agent
    prs.loc[agent, "ai_assisted"] = False
    return prs, ai_or_agent


def observation_at(through: datetime | None) -> Observation | None:
    """The revert metrics' observation window closing at ``through`` (None: no data)."""
    return None if through is None else Observation(pd.Timestamp(through), completeness.window_days())


def _observation() -> Observation | None:
    return observation_at(completeness.data_through())


def deployment_outcomes(*, repository_ids: list[int] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The production deployments of these repositories (None: all) with their outcome (failed, rework,
    recovery, AI), and the PRs each shipped (deployment_id, pr_id, lead_hours), by the snapshot engine's
    rules: the rows behind a delivery number (the drill-down)."""
    deployments = selectors.deployment_frame(repository_ids=repository_ids)
    if deployments.empty:
        return deployments, pd.DataFrame(columns=["deployment_id", "pr_id", "lead_hours"])
    prs = selectors.pull_request_frame(repository_ids=repository_ids, columns=SNAPSHOT_PR_COLUMNS)
    incidents = selectors.incident_frame(repository_ids=repository_ids)
    return delivery_outcomes(prs, deployments, incidents, _observation())


RECOMPUTE_GRACE = timedelta(minutes=10)
RECOMPUTE_LOCK = 0x5E7A_0001  # PostgreSQL advisory lock: one recompute of the cells at a time
MODELS_LOCK = 0x5E7A_0002  # and one of the organization-wide models (taken after RECOMPUTE_LOCK, if both)


@contextmanager
def _advisory(key: int) -> Iterator[None]:
    if connection.vendor != "postgresql":  # the embedded database: one process, SQLite's own lock
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def recompute_lock() -> contextlib.AbstractContextManager[None]:
    """One recompute of the snapshot cells at a time (re-entrant: PostgreSQL counts a session's advisory
    locks); a full recompute also takes ``models_lock``."""
    return _advisory(RECOMPUTE_LOCK)


def models_lock() -> contextlib.AbstractContextManager[None]:
    """One recompute of the organization-wide models at a time (never waits for ``recompute_lock``)."""
    return _advisory(MODELS_LOCK)


def _state() -> SnapshotState:
    return SnapshotState.objects.filter(pk=1).first() or SnapshotState(pk=1)


def snapshots_recompute_if_stale(*, requested_at: datetime) -> dict[str, Any]:
    """The analytics queue's work: recompute unless a finished recompute began reading at or after
    ``requested_at`` (when the records it was asked for were committed).  Several syncs finishing together
    queue several requests; those a recompute already covered are skipped.  Recomputes run one at a
    time, so a request made during one is served by the next, which reads what that one may have missed."""
    with recompute_lock():  # held across the check and the recompute (the lock is re-entrant)
        covered = _state().read_from
        if covered is not None and covered >= requested_at:
            return {"status": "skipped", "read_from": covered.isoformat()}
        rows = snapshots_recompute()
    return {"status": "computed", "rows": rows}


def snapshots_stale(*, grace: timedelta = RECOMPUTE_GRACE) -> bool:
    """Whether a sync finished storing records more than ``grace`` ago that no finished recompute has
    read, and nobody asked again within ``grace``: its request was lost (a broker restarted without
    persistence, or down when the sync ended) or no worker consumes the analytics queue.  Beat's tick
    then asks again (a request already covered is skipped, so asking twice costs little)."""
    now = database_now()
    state = _state()
    if state.asked_at is not None and state.asked_at > now - grace:
        return False
    runs = SyncRun.objects.filter(finished_at__lte=now - grace, counts__records__gt=0)  # failed ones too
    if state.read_from is not None:
        runs = runs.filter(finished_at__gt=state.read_from)
    # A sync whose changes were queued as a scoped request is also covered by an incremental recompute
    # that began taking the pending changes after it.
    full = Q(counts__incremental__isnull=True) | Q(counts__incremental=False)
    if state.cells_read_from is not None:
        runs = runs.filter(full | Q(finished_at__gt=state.cells_read_from))
    return runs.exists() or PendingChange.objects.filter(created_at__lte=now - grace).exists()


def snapshots_asked_again() -> None:
    """Note that beat asked again (``snapshots_stale`` waits ``grace`` before asking once more)."""
    SnapshotState.objects.update_or_create(pk=1, defaults={"asked_at": database_now()})
