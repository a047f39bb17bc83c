"""Headline KPIs of a report from materialized snapshots, their change, and notable movements.

Pure pandas, no Django.  Input frames are long-format snapshot rows with the columns ``unit`` (the
group a row belongs to: ``"org"`` or a team id), ``period_start`` (date), ``metric``, ``value``, ``n``:
organization and team aggregates only (the report never reads per-person rows).

A report KPI combines one or more snapshot *cells* (base periods x units): one cell for a weekly or
monthly report of the organization or of one team; several for a quarter (three months) or a scope of
several teams.  Counts add up; shares are recombined exactly from their n; throughput is merged PRs
over engineer-periods; a median cannot be recombined, so several cells give the PR-weighted mean of the
cells' medians, flagged ``approximate`` (the method note says so).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from metrics.analytics import catalog

METRICS = ("cycle_time_p50", "merged_prs", "throughput_per_engineer", "revert_rate", "ai_assisted_share")
SHARES = tuple(m for m in METRICS if catalog.unit(m) == "share")  # changes in points, not percent
MIN_N_FOR_NOTABLE = 10  # PRs (or respondents, for satisfaction: the privacy floor applies first)
MIN_ENGINEERS_FOR_NOTABLE = 3  # throughput's n counts engineers, not PRs
NOTABLE_Z = 2.0


@dataclass(frozen=True)
class Kpi:
    value: float | None
    n: int
    approximate: bool = False

    @property
    def known(self) -> bool:
        return self.value is not None and not math.isnan(self.value)


EMPTY = Kpi(None, 0)


def _weighted(cells: pd.DataFrame) -> Kpi:
    cells = cells[cells["value"].notna() & (cells["n"] > 0)]
    n = int(cells["n"].sum())
    if not n:
        return EMPTY
    return Kpi(float((cells["value"] * cells["n"]).sum() / n), n)


def combine(frame: pd.DataFrame, metric: str, *, starts: Iterable[object], units: Iterable[object]) -> Kpi:
    """The KPI ``metric`` over the cells (base period in ``starts``) x (unit in ``units``)."""
    chosen = frame[frame["period_start"].isin(list(starts)) & frame["unit"].isin(list(units))]
    cells = chosen[chosen["metric"] == metric]
    if metric == "merged_prs":
        return Kpi(float(cells["value"].sum()), int(cells["n"].sum())) if len(cells) else EMPTY
    if metric == "throughput_per_engineer":
        prs = chosen.loc[chosen["metric"] == "merged_prs", "value"].sum()
        engineers = int(cells["n"].sum())
        return Kpi(float(prs) / engineers, engineers) if engineers else EMPTY
    if metric in SHARES:
        return _weighted(cells)
    known = cells[cells["value"].notna() & (cells["n"] > 0)]
    if len(known) == 1:
        return Kpi(float(known["value"].iloc[0]), int(known["n"].iloc[0]))
    kpi = _weighted(known)
    return Kpi(kpi.value, kpi.n, approximate=kpi.known)


def kpis(frame: pd.DataFrame, *, starts: Sequence[object], units: Sequence[object]) -> dict[str, Kpi]:
    return {metric: combine(frame, metric, starts=starts, units=units) for metric in METRICS}


def trend(
    frame: pd.DataFrame, metric: str, *, starts: Sequence[object], units: Sequence[object]
) -> list[Kpi]:
    """The KPI per base period (for charts)."""
    return [combine(frame, metric, starts=[start], units=units) for start in starts]


# --- change --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """Change from ``before`` to ``now``: ``relative`` (fraction) for times and counts, ``points``
    (difference of shares, 0..1 scale) for shares and ``difference`` for survey means; ``better`` is
    True / False / None (no direction: throughput volume, AI adoption)."""

    relative: float | None = None
    points: float | None = None
    difference: float | None = None
    better: bool | None = None


def change(metric: str, now: Kpi, before: Kpi) -> Change | None:
    if now.value is None or before.value is None or not (now.known and before.known):
        return None
    delta = now.value - before.value
    direction = catalog.better(metric)  # None: no direction (volume, AI adoption)
    better = (delta > 0) == (direction == "higher") if delta and direction is not None else None
    if metric in SHARES:
        return Change(points=delta, better=better)
    if metric == "satisfaction":
        return Change(difference=delta, better=better)
    if before.value == 0:
        return None
    return Change(relative=delta / before.value, better=better)


# --- notable movements ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    unit: object
    metric: str
    now: Kpi
    before: Kpi
    change: Change
    z: float


def strength(metric: str, now: Kpi, before: Kpi) -> float:
    """How far a movement stands out from sampling noise, as an approximate z-score.

    Shares: two-proportion z.  Medians and throughput: log ratio over sqrt(1/n0 + 1/n1) (a log-normal
    cycle time with sigma about 1; Poisson counts).  Survey means on a 1-5 scale: difference over
    sd 1 x sqrt(1/n0 + 1/n1).  Only for ranking, never shown as a test result.
    """
    if now.value is None or before.value is None:
        return 0.0
    spread = math.sqrt(1 / now.n + 1 / before.n)
    if metric in SHARES:
        pooled = (now.value * now.n + before.value * before.n) / (now.n + before.n)
        noise = math.sqrt(pooled * (1 - pooled)) * spread
        return abs(now.value - before.value) / noise if noise > 0 else 0.0
    if metric == "satisfaction":
        return abs(now.value - before.value) / spread
    if now.value <= 0 or before.value <= 0:
        return 0.0
    return abs(math.log(now.value / before.value)) / spread


def notable(
    pairs: Mapping[tuple[object, str], tuple[Kpi, Kpi]], *, limit: int = 6, min_n: int = MIN_N_FOR_NOTABLE
) -> list[Movement]:
    """The largest movements among (unit, metric) -> (now, before), strongest first.

    Left out: counts (``merged_prs`` moves with headcount), pairs with fewer than ``min_n`` behind either
    side (satisfaction: the caller passes only groups above the survey privacy floor), and movements
    weaker than ``NOTABLE_Z``.
    """
    found = []
    for (unit, metric), (now, before) in pairs.items():
        floor = MIN_ENGINEERS_FOR_NOTABLE if metric == "throughput_per_engineer" else min_n
        small = metric != "satisfaction" and (now.n < floor or before.n < floor)
        if metric == "merged_prs" or small or not (now.n and before.n):
            continue
        moved = change(metric, now, before)
        if moved is None:
            continue
        z = strength(metric, now, before)
        if z >= NOTABLE_Z:
            found.append(Movement(unit, metric, now, before, moved, z))
    found.sort(key=lambda m: (-m.z, str(m.unit), m.metric))
    return found[:limit]
