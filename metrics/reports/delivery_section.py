"""The delivery section of a report: DORA's five keys for the period against the previous one, each with
DORA's band, and the adjusted comparison of AI-assisted deployments with the rest.

Cells combine as the headline KPIs do (``kpis.py``): deployments add up, rates are recombined from their
n, and a quantile over several cells (a quarter, several teams) is the deployment-weighted mean of the
cells' quantiles, marked approximate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from metrics.analytics import catalog
from metrics.reports import formatting as fmt
from metrics.reports import selectors
from metrics.reports.kpis import Kpi
from metrics.reports.periods import ReportPeriod

KEYS = catalog.DELIVERY_HEADLINE


@dataclass(frozen=True)
class DeliveryRow:
    key: str
    label: str
    now: str
    before: str
    n: int
    band: str
    approximate: bool = False


@dataclass(frozen=True)
class DeliverySection:
    rows: list[DeliveryRow]
    ai: list[str]
    note: str

    @property
    def has_data(self) -> bool:
        return any(r.n for r in self.rows)


def _combine(cells: pd.DataFrame, metric: str) -> Kpi:
    cells = cells[(cells["metric"] == metric) & cells["value"].notna() & (cells["n"] > 0)]
    n = int(cells["n"].sum())
    if not n:
        return Kpi(None, 0)
    if metric == "deployment_frequency":
        return Kpi(float(cells["value"].sum()), n)
    value = float((cells["value"] * cells["n"]).sum() / n)
    return Kpi(value, n, approximate=catalog.unit(metric) == "hours" and len(cells) > 1)


def _text(metric: str, kpi: Kpi) -> str:
    if not kpi.known:
        return "—"
    unit = catalog.unit(metric)
    if unit == "share":
        return fmt.percent(kpi.value)
    if unit == "hours":
        return fmt.hours(kpi.value)
    return fmt.count(kpi.value)


def _days(period: ReportPeriod) -> float:
    return float((period.end - period.start).days + 1)


def delivery_section(
    *, period: ReportPeriod, team_ids: Sequence[int], units: Sequence[object]
) -> DeliverySection:
    previous = period.previous()
    frame = selectors.report_snapshot_frame(
        base=period.base,
        starts=[*period.base_starts, *previous.base_starts],
        team_ids=None if not team_ids else list(team_ids),
        metrics=catalog.DELIVERY,
    )
    mine = frame[frame["unit"].isin(list(units))]
    now_cells = mine[mine["period_start"].isin(period.base_starts)]
    before_cells = mine[mine["period_start"].isin(previous.base_starts)]
    rows = []
    for key in KEYS:
        now, before = _combine(now_cells, key), _combine(before_cells, key)
        rows.append(
            DeliveryRow(
                key=key,
                label=catalog.label(key),
                now=_text(key, now),
                before=_text(key, before),
                n=now.n,
                band=catalog.band(key, now.value, days=_days(period)),
                approximate=now.approximate,
            )
        )
    ai = []
    for r in selectors.delivery_split_rows():
        if r.method != "adjusted":
            continue
        label = catalog.label("change_failure_rate" if r.key == "change_failure_rate" else f"{r.key}_p50")
        if r.value is None or r.ci_low is None or r.ci_high is None:
            ai.append(f"{label}, AI-assisted vs other deployments: not enough data ({r.n_treated} of {r.n}).")
            continue
        unit = "%" if r.unit == "percent_change" else " pp"
        ai.append(
            f"{label}, AI-assisted vs other deployments (adjusted, all history): {r.value:+.1f}{unit} "
            f"(95% interval {r.ci_low:+.1f}{unit} to {r.ci_high:+.1f}{unit}; {r.n_treated} of {r.n})."
        )
    note = (
        "Production deployments of the repositories each team owns, by the day they finished; bands are "
        "DORA's 2023 performance clusters, for context (deployment rework rate has none). "
        "† the mean of several periods' quantiles, weighted by deployments."
    )
    return DeliverySection(rows=rows, ai=ai, note=note)
