"""The organization overview: every team's latest numbers, their trend and a sparkline, in one table."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from metrics.analytics import catalog
from metrics.core.models import Team
from metrics.ingestion import privacy
from metrics.ingestion.models import SurveyRound
from metrics.ingestion.surveys import round_version
from metrics.web import completeness, display, params, partials, queries
from metrics.web.access import request_access
from metrics.web.memo import cache, key
from metrics.web.queries import Tree, TreeTeam
from metrics.web.satisfaction import ORGANIZATION, latest_round, round_team_satisfaction

METRICS = ("cycle_time_p50", "merged_prs", "throughput_per_engineer", "revert_rate", "ai_assisted_share")
SPARK_METRICS = ("cycle_time_p50",)
SPARK_POINTS = 12
TABLE_CACHE_SECONDS = 600  # the key changes with the data; the timeout only bounds memory
PARTIAL = "dashboards/_overview.jinja"
COLUMNS = (
    ("cycle_time_p50", "Cycle time p50"),
    ("merged_prs", "Merged PRs"),
    ("throughput_per_engineer", "Per engineer"),
    ("revert_rate", "Revert rate"),
    ("satisfaction", "Satisfaction"),
    ("ai_assisted_share", "AI-assisted"),
)
Values = dict[str, dict[dt.date, tuple[float | None, int]]]
Teams = Sequence[tuple[Team | TreeTeam, int]]  # in tree order, with their depth


class Spark(NamedTuple):
    """A sparkline's geometry: numbers only; ``templates/dashboards/_overview.jinja`` draws it."""

    width: int
    height: int
    box: int  # the view box's width (a margin for the end point's circle)
    runs: list[str]  # one polyline per run of known points: gaps stay gaps
    cx: str
    cy: str


class Cell(NamedTuple):
    label: str
    metric: str
    sort: str
    title: str
    shown: str
    trend: dict[str, str] | None
    spark: Spark | None = None


class Row(NamedTuple):
    slug: str
    indent: str
    url: str
    name: str
    cells: list[Cell]


def spark_shape(points: Sequence[float | None], *, width: int = 84, height: int = 22) -> Spark | None:
    """The line of the last periods, scaled into the box; the latest known point is marked."""
    known = [p for p in points if p is not None]
    if len(known) < 2:
        return None
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = width / max(1, len(points) - 1)

    def xy(i: int, v: float) -> tuple[str, str]:
        return f"{i * step:.1f}", f"{height - 2 - (v - low) / span * (height - 4):.1f}"

    runs: list[list[str]] = [[]]
    for i, value in enumerate(points):
        if value is None:
            runs.append([])
        else:
            runs[-1].append(",".join(xy(i, value)))
    cx, cy = xy(*next((i, v) for i, v in reversed(list(enumerate(points))) if v is not None))
    return Spark(width, height, width + 4, [" ".join(r) for r in runs if len(r) > 1], cx, cy)


def sparkline(points: Sequence[float | None], *, width: int = 84, height: int = 22) -> str:
    """The sparkline's SVG as the overview prints it ("" with fewer than two known points)."""
    shape = spark_shape(points, width=width, height=height)
    return partials.macro(PARTIAL, "spark")(shape) if shape is not None else ""


def _trend(metric: str, now: float | None, before: float | None) -> dict[str, str]:
    """Change against the previous period: arrow, sign and whether it is good news."""
    if now is None or before is None or math.isnan(now) or math.isnan(before):
        return {}
    if catalog.unit(metric) == "share":  # a share moves in percentage points, as the reports say it
        change, smallest = now - before, 0.0005
        text = f"{change * 100:+.1f} pp vs previous period"
    elif before == 0:
        return {}
    else:
        change, smallest = (now - before) / abs(before), 0.005
        text = f"{change:+.0%} vs previous period"
    if abs(change) < smallest:
        return {"arrow": "→", "text": "no change", "tone": "flat"}
    direction = catalog.better(metric)  # None: neither good nor bad news by itself (volume, AI use)
    tone = "neutral" if direction is None else "good" if (change > 0) == (direction == "higher") else "bad"
    return {"arrow": "▲" if change > 0 else "▼", "text": text, "tone": tone}


def cell(
    metric: str,
    value: float | None,
    n: int,
    *,
    trend: dict[str, str] | None = None,
    spark: Spark | None = None,
) -> Cell:
    """What one table cell shows: the value formatted, its sort key, n, the trend and a sparkline."""
    if metric == "satisfaction":
        shown = "—" if value is None else f"{value:.2f}"
    else:
        shown = display.format_value(metric, value)
    return Cell(
        display.label(metric),
        metric,
        "" if value is None else f"{value:.6g}",
        f"n={n}" if n else "no data",
        shown,
        trend or None,
        spark,
    )


class Frame(NamedTuple):
    """The periods shown: their kind, their starts (oldest first) and the data-through limit."""

    period: str
    starts: list[dt.date]
    upto: dt.datetime


def _cell(metric: str, values: dict[dt.date, tuple[float | None, int]], frame: Frame) -> Cell:
    starts = frame.starts
    value, n = values.get(starts[-1], (None, 0))
    # A provisional figure (the period runs past the data) is never compared: no arrow, no colour.
    provisional = completeness.provisional(frame.period, starts[-1], metric, frame.upto)
    trend = None
    if len(starts) > 1 and not provisional:
        trend = _trend(metric, value, values.get(starts[-2], (None, 0))[0])
    spark = spark_shape([values.get(s, (None, 0))[0] for s in starts]) if metric in SPARK_METRICS else None
    shown = cell(metric, value, n, trend=trend, spark=spark)
    return shown._replace(title=f"{shown.title} · provisional") if provisional else shown


def _satisfaction_cell(score: Any) -> Cell:
    return cell("satisfaction", None if score is None else score.mean, 0 if score is None else score.n)


def team_choices(tree: Teams) -> list[tuple[str, int, str]]:
    """The team-tree filter's (slug, depth, name), in tree order."""
    return [(t.slug, depth, t.name) for t, depth in tree]


def _tree_options(version: str, tree: Tree, root: Team | None) -> str:
    """The options, kept printed per team tree and choice (hundreds of teams, printed on every visit)."""
    chosen = root.slug if root is not None else None
    return cache.get_or_set(
        key("overview-team-options", version, chosen),
        lambda: partials.tree_options(team_choices(tree), chosen),
    )


def subtree(tree: Teams, root: Team | None) -> list[tuple[Team | TreeTeam, int]]:
    """The part of a tree-ordered list that is ``root`` and the teams below it (depths from 0)."""
    if root is None:
        return list(tree)
    start = next((i for i, (team, _) in enumerate(tree) if team.pk == root.pk), None)
    if start is None:
        return list(queries.team_tree(root))
    base = tree[start][1]
    end = next((i for i in range(start + 1, len(tree)) if tree[i][1] <= base), len(tree))
    return [(team, depth - base) for team, depth in tree[start:end]]


def _rows(
    values: dict[int | None, Values], starts: Frame, teams: Teams, satisfaction: dict[int, Any]
) -> list[Row]:
    rows = []
    prefix = reverse("web:team", args=["-"])[:-2]  # one reverse, not one per team
    state = f"?period={starts.period}"  # the team page opens on the overview's period
    for team, depth in teams:
        team_values = values.get(team.pk, {})
        cells = [
            _satisfaction_cell(satisfaction.get(team.pk))
            if metric == "satisfaction"
            else _cell(metric, team_values.get(metric, {}), starts)
            for metric, _ in COLUMNS
        ]
        url = f"{prefix}{team.slug}/{state}"
        rows.append(Row(team.slug, f"{0.75 + depth * 1.1:.2f}", url, team.name, cells))
    return rows


def _org_cells(org: Values, starts: Frame, score: Any) -> list[Cell]:
    return [
        _satisfaction_cell(score) if metric == "satisfaction" else _cell(metric, org.get(metric, {}), starts)
        for metric, _ in COLUMNS
    ]


def one_unit_per_column(rows: list[Row], org: list[Cell] | None) -> tuple[list[Row], list[Cell] | None]:
    """Every hours column in one unit (hours, or days when its largest figure is two days or more): 19.7 h
    above 6.1 d read as if the first were larger."""
    columns = [row.cells for row in rows] + ([org] if org else [])
    for index, (metric, _) in enumerate(COLUMNS):
        if catalog.unit(metric) != "hours":
            continue
        unit = display.hours_unit(float(cells[index].sort) for cells in columns if cells[index].sort)
        for cells in columns:
            if cells[index].sort:
                cells[index] = cells[index]._replace(shown=display.hours(float(cells[index].sort), unit))
    return rows, org


def _values(
    period: str, starts: list[dt.date], people: frozenset[int] | None = None
) -> dict[int | None, Values]:
    """Sparkline metrics over the whole window, the others for the chosen period and the one before.
    ``people``: the teams whose people the user sees (None: all); the figures of other teams, and of the
    organization, in periods they were below the privacy floor are left out (``ingestion.privacy``)."""
    values: dict[int | None, Values] = defaultdict(lambda: defaultdict(dict))
    others = [m for m in METRICS if m not in SPARK_METRICS]
    previous = starts[-2] if len(starts) > 1 else starts[-1]
    large = privacy.large_groups(team_ids=None, since=starts[0]) if people is not None else set()
    for metrics, since in ((SPARK_METRICS, starts[0]), (others, previous)):
        for team_id, start, metric, value, n in queries.overview_values(
            period=period, since=since, until=starts[-1], metrics=metrics
        ):
            hidden = people is not None and (team_id is None or team_id not in people)
            if not hidden or (team_id, period, start) in large:
                values[team_id][metric][start] = (value, n)
    return values


def _choose_starts(query: Any, period: str, available: list[dt.date]) -> list[dt.date]:
    """The sparkline window ending at the chosen period start; ``available``: the selectable ones, newest
    first."""
    at = params.date_value(query, "at")
    if at is None:
        at = default_start(period, available)
    elif at not in available:
        raise params.ParamError(
            f"Invalid at {at.isoformat()!r}: no {period}ly data starts on that day; "
            f"choose one of the periods offered on the page."
        )
    older = [s for s in available if s <= at][:SPARK_POINTS]
    return list(reversed(older))


def default_start(period: str, starts: list[dt.date]) -> dt.date:
    """The newest period that has ended (a month half-way through would compare badly with a whole one),
    else the newest; ``starts`` newest first."""
    today = timezone.now().date()
    return next((s for s in starts if display.period_end(period, s) < today), starts[0])


def _table(
    period: str,
    starts: list[dt.date],
    teams: tuple[str, Tree],
    root: Team | None,
    survey_round: SurveyRound | None,
    snapshots: object,
    people: frozenset[int] | None = None,
) -> tuple[str, str | None]:
    """(team rows, organization cells) as HTML (``_overview.jinja``), cached until the data behind them
    changes.

    The key holds everything the table shows: the newest snapshot row (``snapshots``: snapshots_recompute
    replaces them all, so a recompute always changes it), the teams' version (names, slugs, parents), the
    survey round and its version (its floored scores change only with it) and the choice of period and root
    team."""
    version, tree = teams
    scores = round_version(survey_round) if survey_round is not None else None
    upto = completeness.upto(snapshots)

    def build() -> tuple[str, str | None]:
        satisfaction = round_team_satisfaction(survey_round, scores) if survey_round is not None else {}
        values = _values(period, starts, people)
        org = values.get(None, {})
        frame = Frame(period, starts, upto)
        rows = _rows(values, frame, subtree(tree, root), satisfaction)
        org_cells = _org_cells(org, frame, satisfaction.get(ORGANIZATION)) if org else None
        rows, org_cells = one_unit_per_column(rows, org_cells)
        return (
            partials.macro(PARTIAL, "rows")(rows),
            partials.macro(PARTIAL, "cells")(org_cells) if org_cells else None,
        )

    survey = (survey_round.pk, scores) if survey_round is not None else None
    floored = None if people is None else tuple(sorted(people))  # what the user may see is in the key
    # ``upto`` by the hour: a running period turns complete with the clock, not only with a recompute.
    parts = (
        period,
        starts,
        root.pk if root else None,
        snapshots,
        version,
        survey,
        floored,
        upto.replace(minute=0, second=0, microsecond=0),
    )
    return cache.get_or_set(key("overview", *parts), build, TABLE_CACHE_SECONDS)


def _choices(period: str, available: list[dt.date], at: dt.date) -> str:
    """The period filter's options, newest first; one still under way says so."""
    today = timezone.now().date()
    choices = [
        (
            display.iso_date(start),
            display.period_label(period, start)
            + (" (so far)" if display.period_end(period, start) >= today else ""),
        )
        for start in available
    ]
    return partials.options(choices, display.iso_date(at))


@login_required
@params.param_errors_are_400
def overview(request: HttpRequest) -> HttpResponse:
    period = params.choice(request.GET, "period", queries.PERIODS, "month")
    root = params.team_value(request.GET)
    # The table's sort (applied in the browser, kept in the URL): the tree order or a column.
    sort = params.choice(request.GET, "sort", ("order", *(metric for metric, _ in COLUMNS)), "order")
    direction = params.choice(request.GET, "dir", ("asc", "desc"), "asc" if sort == "order" else "desc")
    version = queries.teams_version()
    tree = queries.cached_team_tree(version)
    context: dict[str, Any] = {
        "sort": sort,
        "dir": direction,
        "period": period,
        "periods": queries.PERIODS,
        "root": root,
        "columns": COLUMNS,
        "tree_options": _tree_options(version, tree, root),
    }
    snapshots = queries.snapshots_version()
    available = list(
        cache.get_or_set(
            key("period-starts", period, snapshots), lambda: tuple(queries.period_starts(period=period))
        )
    )
    if not available:
        if not queries.snapshots_exist():
            return render(request, "dashboards/teams.html", {**context, "empty": True})
        return render(request, "dashboards/teams.html", {**context, "empty": False, "no_period": True})
    starts = _choose_starts(request.GET, period, available)
    survey_round = latest_round()
    people = request_access(request).people_team_ids
    rows, org_cells = _table(period, starts, (version, tree), root, survey_round, snapshots, people)
    context.update(
        {
            "empty": False,
            "rows": rows,
            "org_cells": org_cells,
            "at": starts[-1],
            "at_label": display.period_label(period, starts[-1]),
            "provisional": completeness.label(period, starts[-1], completeness.upto(snapshots)),
            "choices": _choices(period, available, starts[-1]),
            "survey_round": survey_round,
            "prs_url": f"{reverse('web:prs')}?state=merged&merged_from={starts[-1]:%Y-%m-%d}"
            f"&merged_to={display.period_end(period, starts[-1]):%Y-%m-%d}",
            # With the organization row only (the whole tree shown): its merged PRs that no team counts.
            "unassigned": queries.unassigned_merged(period=period, start=starts[-1])
            if org_cells and root is None
            else None,
        }
    )
    return render(request, "dashboards/teams.html", context)
