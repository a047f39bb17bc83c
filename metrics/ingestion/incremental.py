"""Incremental recompute: replace only the cells a change touches, and the organization-wide models apart.

``cells_recompute(scope)`` resolves a ``changes.ChangeScope`` into merge-dated cells (scope x key x period,
``changes.cells``), adds the cells whose revert observation window opened or closed since the last
computation ("data through" moved), recomputes them with the snapshot engine from every PR merged in
their periods (a cell's value depends only on those), and replaces the rows of exactly those cells in one
transaction: a reader sees a cell as it was or as it is, never half of it.  The rows it writes are the
merge-dated metrics (``snapshots.PR_METRICS``); every other row belongs to the organization-wide models.

``models_recompute()`` recomputes what reads the whole organization: the AI-impact estimates, ROI,
experiments, the delivery keys and the AI split, and the adoption, agent and review-load rows.  It runs on
its own schedule (debounced, ``recompute.models_request``) under its own lock, so it never holds up a
cell update; its rows are replaced together, in one transaction.

``tests/ingestion/test_incremental_property.py`` holds both equal to a full recompute, row for row, over
random sequences of changes.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import pandas as pd
from django.db.models import Q
from django.utils import timezone

from metrics.analytics.snapshots import PR_METRICS, delivery_snapshots, delivery_split, metric_snapshots
from metrics.ingestion import completeness, selectors
from metrics.ingestion.agents_review import agent_and_review_snapshots
from metrics.ingestion.changes import ALL, EVERYTHING, ChangeScope, cells
from metrics.ingestion.delivery import delivery_split_write
from metrics.ingestion.impact import adoption_snapshots, ai_impact_recompute, impact_frame
from metrics.ingestion.models import MetricSnapshot, SnapshotState
from metrics.ingestion.snapshots import (
    CELL_PR_COLUMNS,
    models_lock,
    observation_at,
    pr_inputs,
    recompute_lock,
    replace_rows,
    snapshots_recompute,
)

logger = logging.getLogger(__name__)
KEY_COLUMN = {"team": "team_id", "repository": "repository_id", "person": "person_id"}


def _state() -> SnapshotState:
    return SnapshotState.objects.filter(pk=1).first() or SnapshotState(pk=1)


def cells_recompute(scope: ChangeScope) -> int:
    """Recompute the cells ``scope`` touches (a full recompute for ``everything``, or before any full one);
    returns the number of rows written."""
    with recompute_lock():
        state = _state()
        if scope.everything or state.cells_computed_at is None:
            return snapshots_recompute()
        through = completeness.data_through()
        scope = scope | _window_moved(state.through, through)
        if not scope.cells_touched:
            return 0
        began = time.monotonic()
        memberships, teams = selectors.membership_frame(), selectors.team_frame()
        touched = cells(scope, memberships, teams)
        resolved = time.monotonic()
        written = 0
        if len(touched):
            prs, _ = pr_inputs(_merged_in(touched), CELL_PR_COLUMNS)
            loaded = time.monotonic()
            frame = metric_snapshots(
                prs,
                memberships,
                teams,
                selectors.deployment_frame(),
                observation_at(through),
                delivery_keys=False,
            )
            computed = time.monotonic()
            written = replace_rows(_old_rows(touched), _in_cells(frame, touched))
            logger.debug(
                "cells: %d touched in %.2f s, %d PRs read in %.2f s, computed in %.2f s, "
                "%d rows written in %.2f s",
                len(touched),
                resolved - began,
                len(prs),
                loaded - resolved,
                computed - loaded,
                written,
                time.monotonic() - computed,
            )
        SnapshotState.objects.update_or_create(
            pk=1, defaults={"through": through, "cells_computed_at": timezone.now()}
        )
    return written


def _window_moved(old: datetime | None, new: datetime | None) -> ChangeScope:
    """The PRs whose revert observation window closed or reopened when "data through" moved from ``old``
    to ``new`` (their revert rate and time to revert change)."""
    if old == new:
        return ChangeScope()
    if old is None or new is None:
        return EVERYTHING
    window = timedelta(days=completeness.window_days())
    low, high = sorted([old, new])
    where = Q(merged_at__gt=low - window, merged_at__lte=high - window)
    frame = selectors.pull_request_frame(columns=["id"], where=where)
    return ChangeScope(prs=frozenset(int(i) for i in frame["id"]))


def _period_end(start: pd.Timestamp, period: str) -> pd.Timestamp:
    return start + (pd.Timedelta(days=7) if period == "week" else pd.offsets.MonthBegin(1))


def _merged_in(touched: pd.DataFrame) -> Q:
    """The PRs merged in any period of ``touched`` (every PR a touched cell counts)."""
    spans = touched[["period", "period_start"]].drop_duplicates()
    where = Q(pk__in=[])
    for period, start in spans.itertuples(index=False):
        begin = pd.Timestamp(start, tz="UTC")
        end = _period_end(begin, period)
        where |= Q(merged_at__gte=begin.to_pydatetime(), merged_at__lt=end.to_pydatetime())
    return where


def _keys(frame: pd.DataFrame) -> pd.Series:
    key = pd.Series(0, index=frame.index, dtype="Int64")
    for scope, column in KEY_COLUMN.items():
        mine = frame["scope"] == scope
        key[mine] = frame.loc[mine, column].astype("Int64")
    return key


def _in_cells(frame: pd.DataFrame, touched: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` that belong to a touched cell."""
    if frame.empty:
        return frame
    probe = pd.DataFrame(
        {
            "scope": frame["scope"].astype(str).to_numpy(),
            "key": _keys(frame).to_numpy(),
            "period": frame["period"].astype(str).to_numpy(),
            "period_start": frame["period_start"].astype(object).to_numpy(),
        }
    )
    exact = touched[touched["key"] != ALL].assign(hit=True)
    every = touched.loc[touched["key"] == ALL, ["scope", "period", "period_start"]].assign(every=True)
    probe = probe.merge(exact, on=["scope", "key", "period", "period_start"], how="left")
    probe = probe.merge(every.drop_duplicates(), on=["scope", "period", "period_start"], how="left")
    keep = probe["hit"].fillna(False).astype(bool) | probe["every"].fillna(False).astype(bool)
    return frame[keep.to_numpy()].reset_index(drop=True)


def _old_rows(touched: pd.DataFrame) -> object:
    """The stored merge-dated rows of the touched cells (the ones ``replace_rows`` deletes)."""
    where = Q(pk__in=[])
    for (scope, period, start), group in touched.groupby(["scope", "period", "period_start"]):
        cell = Q(scope=scope, period=period, period_start=start)
        keys = sorted(set(group["key"]))
        if scope != "organization" and ALL not in keys:
            cell &= Q(**{f"{KEY_COLUMN[scope]}__in": keys})
        where |= cell
    return MetricSnapshot.objects.filter(where, metric__in=PR_METRICS)


def models_recompute() -> int:
    """Recompute the organization-wide models and their snapshot rows (every row but the merge-dated
    metrics), under their own lock; returns the number of snapshot rows written."""
    with models_lock():
        started = timezone.now()
        prs, ai_or_agent = pr_inputs()
        through = completeness.data_through()
        observation = observation_at(through)
        deployments, incidents = selectors.deployment_frame(), selectors.incident_frame()
        teams = selectors.team_frame()
        rows = delivery_snapshots(prs, teams, deployments, incidents, observation)
        split = (
            delivery_split(prs.assign(ai_assisted=ai_or_agent), deployments, incidents, observation)
            if len(deployments)
            else []
        )
        del prs, ai_or_agent
        model = impact_frame()
        extra = adoption_snapshots(model) + agent_and_review_snapshots()
        written = replace_rows(MetricSnapshot.objects.exclude(metric__in=PR_METRICS), rows, extra)
        delivery_split_write(split)
        ai_impact_recompute(model=model)
        SnapshotState.objects.update_or_create(pk=1, defaults={"models_computed_at": started})
    return written
