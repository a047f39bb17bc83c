# ruff: noqa: RUF001 - typographic dashes, minus and multiplication signs are intended
"""The content of one executive report: headline KPIs with their change, AI ROI per tool, the team
table, notable changes, charts and the method note, ready for the templates.

Reads only through ``metrics.reports.selectors`` (organization and team aggregates, floored survey
results); everything shown is formatted here, so the HTML, the PDF and the plain text say the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
from django.conf import settings
from django.utils import timezone

from metrics.analytics import completeness
from metrics.analytics.snapshots import DEFINITION_VERSION
from metrics.ingestion import completeness as data_completeness
from metrics.reports import formatting as fmt
from metrics.reports import kpis as k
from metrics.reports import selectors
from metrics.reports.delivery_section import delivery_section
from metrics.reports.periods import ReportPeriod, period_containing
from metrics.reports.roi_section import RoiSection, roi_section
from metrics.reports.static_charts import Chart, trend_chart

ORG = selectors.ORG
TREND_PERIODS = 12


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    formatter: Callable[[float | None], str]


MEASURES = (
    Measure("cycle_time_p50", "Cycle time (median)", fmt.hours),
    Measure("throughput_per_engineer", "Throughput", fmt.ratio),
    Measure("merged_prs", "Merged PRs", fmt.count),
    Measure("revert_rate", "Revert rate", fmt.percent),
    Measure("satisfaction", "Satisfaction", fmt.score),
    Measure("ai_assisted_share", "AI adoption", fmt.percent),
)
MEASURE = {m.key: m for m in MEASURES}


@dataclass(frozen=True)
class Cell:
    """One formatted value with its change against the previous period."""

    text: str
    change: str = ""
    trend: str = "neutral"  # better | worse | neutral
    previous: str = ""
    n: int = 0
    approximate: bool = False


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    note: str
    cell: Cell


@dataclass(frozen=True)
class TeamRow:
    name: str
    depth: int
    cells: dict[str, Cell]

    @property
    def indent(self) -> int:
        """Left padding in px: sub-teams are indented under their parent."""
        return 5 + 12 * self.depth

    @property
    def text_indent(self) -> str:
        return "  " * self.depth


@dataclass(frozen=True)
class Report:
    title: str
    organization: str
    period: ReportPeriod
    previous: ReportPeriod
    scope_label: str
    cards: list[Card]
    team_rows: list[TeamRow]
    notable: list[str]
    charts: list[Chart]
    roi: RoiSection
    method: list[str]
    generated_at: dt.datetime
    satisfaction_rounds: tuple[str, str] = ("", "")
    approximate: bool = False
    min_group_size: int = 5
    extra: dict[str, object] = field(default_factory=dict)


def cell(key: str, now: k.Kpi, before: k.Kpi) -> Cell:
    measure = MEASURE[key]
    moved = k.change(key, now, before)
    text, trend = "", "neutral"
    if moved is not None:
        if moved.relative is not None:
            text = fmt.relative(moved.relative)
        elif moved.points is not None:
            text = fmt.points(moved.points)
        elif moved.difference is not None:
            text = fmt.difference(moved.difference)
        trend = {True: "better", False: "worse", None: "neutral"}[moved.better]
    return Cell(
        measure.formatter(now.value), text, trend, measure.formatter(before.value), now.n, now.approximate
    )


def _combined_satisfaction(found: selectors.Satisfaction | None, units: Sequence[object]) -> k.Kpi:
    """The scope's mean: one shown group, or the union of disjoint shown top teams (every one shown:
    leaving a hidden team out would misstate the scope, and could be subtracted)."""
    if found is None or any(unit not in found.by_group for unit in units):
        return k.EMPTY
    parts = [found.by_group[unit] for unit in units]
    n = sum(p.n for p in parts)
    return k.Kpi(sum((p.value or 0.0) * p.n for p in parts) / n, n) if n else k.EMPTY


class _Frames:
    """Snapshot rows of the current and previous period, split by unit once (fast for many teams)."""

    def __init__(
        self, frame: pd.DataFrame, period: ReportPeriod, provisional: frozenset[str] = frozenset()
    ) -> None:
        self.period, self.previous = period, period.previous()
        # Metrics whose figure for the period runs past the data: shown, never compared (EMPTY before).
        self.provisional = provisional
        # Not dict(groupby): a GroupBy has a ``keys`` attribute, so dict() would take it for a mapping.
        self.by_unit = {unit: part for unit, part in frame.groupby("unit", sort=False)}  # noqa: C416
        self.empty = frame.iloc[0:0]

    def pair(self, unit: object, metric: str) -> tuple[k.Kpi, k.Kpi]:
        part = self.by_unit.get(unit, self.empty)
        now = k.combine(part, metric, starts=self.period.base_starts, units=[unit])
        if metric in self.provisional:
            return now, k.EMPTY
        return now, k.combine(part, metric, starts=self.previous.base_starts, units=[unit])

    def scope_pair(self, units: Sequence[object], metric: str) -> tuple[k.Kpi, k.Kpi]:
        parts = [self.by_unit[u] for u in units if u in self.by_unit]
        frame = pd.concat(parts) if parts else self.empty
        now = k.combine(frame, metric, starts=self.period.base_starts, units=units)
        if metric in self.provisional:
            return now, k.EMPTY
        return now, k.combine(frame, metric, starts=self.previous.base_starts, units=units)


def _cards(
    frames: _Frames,
    units: Sequence[object],
    sat: tuple[k.Kpi, k.Kpi],
    period: ReportPeriod,
    round_names: tuple[str, str],
) -> list[Card]:
    notes = {
        "cycle_time_p50": "first commit to merge",
        "throughput_per_engineer": f"merged PRs per active engineer per {period.base}",
        "merged_prs": "pull requests merged, bots excluded",
        "revert_rate": "share of merged PRs later reverted",
        "satisfaction": (
            f"mean of 1–5, survey “{round_names[0]}”" if round_names[0] else "no survey round yet"
        ),
        "ai_assisted_share": "share of merged PRs with AI evidence (a lower bound)",
    }
    cards = []
    for measure in MEASURES:
        now, before = sat if measure.key == "satisfaction" else frames.scope_pair(units, measure.key)
        cards.append(Card(measure.key, measure.label, notes[measure.key], cell(measure.key, now, before)))
    return cards


def _team_rows(
    frames: _Frames,
    tree: list[selectors.TeamNode],
    sats: tuple[selectors.Satisfaction | None, selectors.Satisfaction | None],
) -> list[TeamRow]:
    rows = []
    for node in tree:
        cells = {
            m.key: cell(m.key, *frames.pair(node.id, m.key)) for m in MEASURES if m.key != "satisfaction"
        }
        now = sats[0].by_group.get(node.id, k.EMPTY) if sats[0] else k.EMPTY
        before = sats[1].by_group.get(node.id, k.EMPTY) if sats[1] else k.EMPTY
        cells["satisfaction"] = cell("satisfaction", now, before)
        rows.append(TeamRow(node.name, node.depth, cells))
    return rows


def _notable(
    frames: _Frames,
    tree: list[selectors.TeamNode],
    units: Sequence[object],
    scope_label: str,
    sats: tuple[selectors.Satisfaction | None, selectors.Satisfaction | None],
) -> list[str]:
    names: dict[object, str] = {node.id: node.name for node in tree}
    names[ORG] = scope_label
    pairs: dict[tuple[object, str], tuple[k.Kpi, k.Kpi]] = {}
    for unit in [*([ORG] if units == [ORG] else []), *(node.id for node in tree)]:
        for metric in ("cycle_time_p50", "throughput_per_engineer", "revert_rate", "ai_assisted_share"):
            pairs[(unit, metric)] = frames.pair(unit, metric)
        now_sat, before_sat = sats
        if now_sat and before_sat and unit in now_sat.by_group and unit in before_sat.by_group:
            # Both groups are above the privacy floor (by_group holds shown groups only).
            pairs[(unit, "satisfaction")] = (now_sat.by_group[unit], before_sat.by_group[unit])
    lines = []
    for move in k.notable(pairs):
        measure = MEASURE[move.metric]
        shown = cell(move.metric, move.now, move.before)
        lines.append(
            f"{names.get(move.unit, move.unit)}: {_phrase(measure.label)} {shown.previous} → "
            f"{shown.text} ({shown.change})"
        )
    return lines


def _phrase(label: str) -> str:
    """``Cycle time (median)`` -> ``cycle time (median)``; ``AI adoption`` keeps its capitals."""
    first = label.split()[0]
    return label if first.isupper() else label[0].lower() + label[1:]


def _charts(frame: pd.DataFrame, period: ReportPeriod, units: Sequence[object]) -> list[Chart]:
    starts = period.trend_starts(TREND_PERIODS)
    labels = [f"{s.day} {s:%b}" if period.base == "week" else f"{s:%b} ’{s:%y}" for s in starts]
    specs = (
        ("cycle_time_p50", "Cycle time, median (hours)", "line", "#2563eb", lambda v: f"{v:,.0f} h"),
        ("merged_prs", "Merged PRs", "bar", "#2563eb", lambda v: f"{v:,.0f}"),
        ("revert_rate", "Revert rate", "line", "#dc2626", lambda v: f"{v * 100:.1f}%"),
        ("ai_assisted_share", "AI-assisted PRs (share)", "line", "#7c3aed", lambda v: f"{v * 100:.0f}%"),
    )
    charts = []
    for metric, title, kind, color, formatter in specs:
        values = [kpi.value for kpi in k.trend(frame, metric, starts=starts, units=units)]
        charts.append(
            trend_chart(
                title=title, labels=labels, values=values, formatter=formatter, kind=kind, color=color
            )
        )
    return charts


def _roi_months(period: ReportPeriod) -> list[dt.date]:
    """ROI is monthly: a weekly report shows the latest month complete by the end of its week."""
    if period.base == "month":
        return period.base_starts
    month = period_containing("monthly", period.end)
    return [(month if month.end == period.end else month.previous()).start]


def _method(period: ReportPeriod, approximate: bool, min_size: int) -> list[str]:
    notes = [
        "Figures come from Sextant's metric snapshots (definition version "
        f"{DEFINITION_VERSION}): pull requests by merge date (UTC), bots excluded. Cycle time is the "
        "median time from first commit to merge; throughput is merged PRs per engineer who merged at "
        f"least one PR in the {period.base}; the revert rate counts PRs later reverted (a later revert can "
        "still raise a past period's rate).",
        "AI adoption is the share of merged PRs carrying evidence of an AI tool (commit trailers, AI "
        "authors, agent branches, labels). Evidence is optional, so this is a lower bound.",
        f"Satisfaction is the mean answer (1–5) of the latest developer survey round; groups with fewer than "
        f"{min_size} respondents are never shown, nor any group that would reveal a smaller one by "
        "subtraction, so some teams show “—”.",
        "The report carries team and organization aggregates only, never figures about individuals: a "
        f"team, or the organization, with fewer than {min_size} engineers who merged in a period shows "
        "“—” for that period, since its figures would be one or two people's.",
    ]
    if approximate:
        notes.append(
            "† A median cannot be added up across periods or teams: values marked † are the "
            "PR-weighted mean of the monthly (or per-team) medians."
        )
    return notes


def report_build(*, period: ReportPeriod, team_ids: Sequence[int], title: str = "") -> Report:
    """Everything a report shows, for ``period`` and the teams in scope (empty: the organization)."""
    tree = selectors.team_tree(list(team_ids))
    tops = [node.id for node in tree if node.depth == 0]
    units: list[object] = [ORG] if not team_ids else list(tops)
    previous = period.previous()
    starts = sorted({*period.trend_starts(TREND_PERIODS), *previous.base_starts})
    frame = selectors.report_snapshot_frame(
        base=period.base, starts=starts, team_ids=None if not team_ids else [n.id for n in tree]
    )
    upto = completeness.limit(data_completeness.data_through(), timezone.now())
    provisional = frozenset(
        m.key
        for m in MEASURES
        if any(
            completeness.is_provisional(
                period.base, s, m.key, upto=upto, window_days=data_completeness.window_days()
            )
            for s in period.base_starts
        )
    )
    frames = _Frames(frame, period, provisional)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    sats = selectors.satisfaction_rounds(until=end)
    sat_pair = (_combined_satisfaction(sats[0], units), _combined_satisfaction(sats[1], units))
    round_names = (sats[0].round_name if sats[0] else "", sats[1].round_name if sats[1] else "")
    facts = selectors.organization_facts()
    scope_label = "Whole organization" if not team_ids else ", ".join(n.name for n in tree if n.depth == 0)
    cards = _cards(frames, units, sat_pair, period, round_names)
    rows = _team_rows(frames, tree, sats)
    approximate = any(c.cell.approximate for c in cards) or any(
        c.approximate for row in rows for c in row.cells.values()
    )
    min_size = int(settings.MIN_GROUP_SIZE)
    roi = roi_section(
        months=_roi_months(period), team_ids=None if not team_ids else [n.id for n in tree], facts=facts
    )
    return Report(
        title=title or f"Engineering report: {period.label}",
        organization=str(facts["name"]),
        period=period,
        previous=previous,
        scope_label=scope_label,
        cards=cards,
        team_rows=rows,
        notable=_notable(frames, tree, units, scope_label, sats),
        charts=[*_charts(frame, period, units), *roi.charts],
        roi=roi,
        method=[*_method(period, approximate, min_size), *roi.method],
        generated_at=timezone.now(),
        satisfaction_rounds=round_names,
        approximate=approximate,
        min_group_size=min_size,
        extra={
            "incomplete": _incomplete(period, upto, provisional),
            "delivery": delivery_section(
                period=period, team_ids=[n.id for n in tree] if team_ids else [], units=units
            ),
        },
    )


def _incomplete(period: ReportPeriod, upto: dt.datetime, provisional: frozenset[str]) -> str:
    """Page 1's warning when the period runs past the data ("" when it is complete)."""
    through = f"{upto.day} {upto:%B %Y}"
    if "merged_prs" in provisional:
        return (
            f"This period is incomplete: the data runs through {through}. Its figures are provisional "
            f"and are not compared with {period.previous().short_label}."
        )
    if provisional:
        days = data_completeness.window_days()
        return (
            f"The revert rate is provisional: the data runs through {through}, and merges of its last "
            f"{days} days are still in their observation window, so it is not compared."
        )
    return ""
