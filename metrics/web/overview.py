"""The organization overview: every team's latest numbers, their trend and a sparkline, in one table."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from html import escape
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from metrics.core.models import Team
from metrics.ingestion import privacy
from metrics.ingestion.models import SurveyRound
from metrics.ingestion.surveys import round_version
from metrics.web import display, params, queries
from metrics.web.access import request_access
from metrics.web.memo import cache, key
from metrics.web.queries import Tree, TreeTeam
from metrics.web.satisfaction import ORGANIZATION, latest_round, round_team_satisfaction

METRICS = ("cycle_time_p50", "merged_prs", "throughput_per_engineer", "revert_rate", "ai_assisted_share")
SPARK_METRICS = ("cycle_time_p50",)
LOWER_IS_BETTER = frozenset({"cycle_time_p50", "revert_rate"})
NEUTRAL = frozenset({"ai_assisted_share"})  # more AI use is neither good nor bad news by itself
SPARK_POINTS = 12
TABLE_CACHE_SECONDS = 600  # the key changes with the data; the timeout only bounds memory
ROW_END = "\n      "  # what follows each row in the template's table body
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


def sparkline(points: Sequence[float | None], *, width: int = 84, height: int = 22) -> SafeString:
    """An inline SVG line of the last periods; gaps stay gaps; the latest point is marked.

    Built from numbers only (nothing to escape) with plain formatting: the overview draws a thousand."""
    known = [p for p in points if p is not None]
    if len(known) < 2:
        return SafeString("")
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = width / max(1, len(points) - 1)

    def xy(i: int, v: float) -> str:
        return f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}"

    runs: list[list[str]] = [[]]
    for i, value in enumerate(points):
        if value is None:
            runs.append([])
        else:
            runs[-1].append(xy(i, value))
    lines = "".join(f'<polyline points="{" ".join(r)}"/>' for r in runs if len(r) > 1)
    cx, cy = xy(*next((i, v) for i, v in reversed(list(enumerate(points))) if v is not None)).split(",")
    return SafeString(
        f'<svg class="spark" viewBox="-2 0 {width + 4} {height}" width="{width}" height="{height}" '
        f'aria-hidden="true">{lines}<circle cx="{cx}" cy="{cy}" r="2"/></svg>'
    )


def _trend(metric: str, now: float | None, before: float | None) -> dict[str, str]:
    """Change against the previous period: arrow, sign and whether it is good news."""
    if now is None or before is None or math.isnan(now) or math.isnan(before) or before == 0:
        return {}
    change = (now - before) / abs(before)
    if abs(change) < 0.005:
        return {"arrow": "→", "text": "no change", "tone": "flat"}
    better = (change < 0) == (metric in LOWER_IS_BETTER)
    tone = "neutral" if metric in NEUTRAL else "good" if better else "bad"
    return {"arrow": "▲" if change > 0 else "▼", "text": f"{change:+.0%} vs previous period", "tone": tone}


# Labels and metric names are constants: escaped once, not once per cell.
CELL_OPEN = {m: f'<td class="num" data-label="{escape(display.label(m))}" data-metric="{escape(m)}"'
             for m, _ in COLUMNS}


def cell_html(metric: str, value: float | None, n: int, *, trend: dict[str, str] | None = None,
              spark: str = "") -> str:
    """One table cell as HTML.  The overview has a row per team, hundreds of them: a template tag per
    cell cost more than the rest of the page.  Everything inserted is a number formatted here or a
    constant (escaped in CELL_OPEN), never user text, so nothing more needs escaping."""
    sort = "" if value is None else f"{value:.6g}"
    title = f"n={n}" if n else "no data"
    arrow = (f'<span class="trend trend-{trend["tone"]}" title="{trend["text"]}">{trend["arrow"]}</span>'
             if trend else '<span class="trend"></span>')  # keeps the numbers aligned
    if metric == "satisfaction":
        shown = "—" if value is None else f"{value:.2f}"
    else:
        shown = display.format_value(metric, value)
    return (f'{CELL_OPEN[metric]} data-sort="{sort}" title="{title}"><span class="cell-main">{spark}'
            f'<span class="v">{shown}</span>{arrow}</span></td>')


def _cell(metric: str, values: dict[dt.date, tuple[float | None, int]], starts: list[dt.date]) -> str:
    value, n = values.get(starts[-1], (None, 0))
    trend = _trend(metric, value, values.get(starts[-2], (None, 0))[0]) if len(starts) > 1 else None
    spark = sparkline([values.get(s, (None, 0))[0] for s in starts]) if metric in SPARK_METRICS else ""
    return cell_html(metric, value, n, trend=trend, spark=spark)


def _satisfaction_cell(score: Any) -> str:
    return cell_html("satisfaction", None if score is None else score.mean, 0 if score is None else score.n)


def team_options(tree: Teams, chosen: Team | None) -> SafeString:
    """The team-tree filter's options, indented (one string: a template loop over 500 teams is slow)."""
    return SafeString("".join(
        f'<option value="{escape(t.slug)}"{" selected" if chosen is not None and t.pk == chosen.pk else ""}>'
        f'{"&nbsp;&nbsp;" * depth}{escape(t.name)}</option>' for t, depth in tree
    ))


def select_option(options: str, value: str | None) -> SafeString:
    """``options`` (built with nothing selected) with the option of ``value`` selected: the same text
    ``team_options`` builds, without rebuilding hundreds of options per request."""
    if value is None:
        return SafeString(options)
    tag = f'<option value="{escape(value)}">'
    return SafeString(options.replace(tag, f'{tag[:-1]} selected>', 1))


def _tree_options(version: str, tree: Tree, root: Team | None) -> SafeString:
    options = cache.get_or_set(key("overview-team-options", version), lambda: team_options(tree, None))
    return select_option(options, root.slug if root is not None else None)


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


def _rows(values: dict[int | None, Values], starts: list[dt.date], teams: Teams,
          satisfaction: dict[int, Any]) -> list[SafeString]:
    rows = []
    prefix = reverse("web:team", args=["-"])[:-2]  # one reverse, not one per team
    for index, (team, depth) in enumerate(teams):
        team_values = values.get(team.pk, {})
        cells = [_satisfaction_cell(satisfaction.get(team.pk)) if metric == "satisfaction"
                 else _cell(metric, team_values.get(metric, {}), starts) for metric, _ in COLUMNS]
        url = f"{prefix}{team.slug}/"
        rows.append(SafeString(
            f'<tr data-order="{index}" data-team="{escape(team.slug)}"><th scope="row" class="team-cell" '
            f'style="padding-left: {0.75 + depth * 1.1:.2f}rem">'
            f'<a href="{escape(url)}">{escape(team.name)}</a></th>{"".join(cells)}</tr>'
        ))
    return rows


def _org_cells(org: Values, starts: list[dt.date], score: Any) -> SafeString:
    cells = [_satisfaction_cell(score) if metric == "satisfaction"
             else _cell(metric, org.get(metric, {}), starts) for metric, _ in COLUMNS]
    return SafeString("".join(cells))


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


def _table(period: str, starts: list[dt.date], teams: tuple[str, Tree], root: Team | None,
           survey_round: SurveyRound | None, snapshots: object,
           people: frozenset[int] | None = None) -> tuple[SafeString, SafeString | None]:
    """(team rows, organization cells) as HTML, cached until the data behind them changes.

    The key holds everything the table shows: the newest snapshot row (``snapshots``: snapshots_recompute
    replaces them all, so a recompute always changes it), the teams' version (names, slugs, parents), the
    survey round and its version (its floored scores change only with it) and the choice of period and root
    team."""
    version, tree = teams
    scores = round_version(survey_round) if survey_round is not None else None

    def build() -> tuple[SafeString, SafeString | None]:
        satisfaction = round_team_satisfaction(survey_round, scores) if survey_round is not None else {}
        values = _values(period, starts, people)
        org = values.get(None, {})
        rows = _rows(values, starts, subtree(tree, root), satisfaction)
        return (SafeString("".join(row + ROW_END for row in rows)),
                _org_cells(org, starts, satisfaction.get(ORGANIZATION)) if org else None)

    survey = (survey_round.pk, scores) if survey_round is not None else None
    floored = None if people is None else tuple(sorted(people))  # what the user may see is in the key
    parts = (period, starts, root.pk if root else None, snapshots, version, survey, floored)
    return cache.get_or_set(key("overview", *parts), build, TABLE_CACHE_SECONDS)


def _choices(period: str, available: list[dt.date], at: dt.date) -> SafeString:
    """The period filter's options (a template loop with a date filter per option cost more)."""
    today = timezone.now().date()
    options = []
    for start in available:
        so_far = " (so far)" if display.period_end(period, start) >= today else ""
        selected = " selected" if start == at else ""
        options.append(f'<option value="{display.iso_date(start)}"{selected}>'
                       f'{escape(display.period_label(period, start) + so_far)}</option>')
    return SafeString("".join(options))


@login_required
@params.param_errors_are_400
def overview(request: HttpRequest) -> HttpResponse:
    period = params.choice(request.GET, "period", queries.PERIODS, "month")
    root = params.team_value(request.GET)
    version = queries.teams_version()
    tree = queries.cached_team_tree(version)
    context: dict[str, Any] = {
        "period": period,
        "periods": queries.PERIODS,
        "root": root,
        "columns": COLUMNS,
        "tree_options": _tree_options(version, tree, root),
    }
    snapshots = queries.snapshots_version()
    available = list(cache.get_or_set(key("period-starts", period, snapshots),
                                      lambda: tuple(queries.period_starts(period=period))))
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
            "choices": _choices(period, available, starts[-1]),
            "survey_round": survey_round,
            "prs_url": f"{reverse('web:prs')}?state=merged&merged_from={starts[-1]:%Y-%m-%d}"
            f"&merged_to={display.period_end(period, starts[-1]):%Y-%m-%d}",
        }
    )
    return render(request, "dashboards/teams.html", context)
