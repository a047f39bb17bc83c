"""A team's dashboard: where its cycle time goes, throughput, size, reverts, satisfaction, AI adoption."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from metrics.analytics.catalog import DEFINITIONS
from metrics.core.models import Person, Team, TeamMembership
from metrics.core.versions import data_version
from metrics.ingestion import privacy
from metrics.ingestion.models import MetricSnapshot
from metrics.web import charts, completeness, display, params, partials, queries, review_agents
from metrics.web.access import request_access, team_subtree
from metrics.web.memo import cache, key
from metrics.web.overview import _trend
from metrics.web.queries import TreeTeam
from metrics.web.satisfaction import team_trend
from metrics.web.views import plotly_url

KPIS = ("cycle_time_p50", "merged_prs", "revert_rate", "ai_assisted_share")
PEOPLE_METRICS = ("merged_prs", "cycle_time_p50", "pr_size_p50", "ai_adoption_level")
ADOPTION_LEVELS = {0: "none", 1: "occasional", 2: "regular"}
PARTIAL = "dashboards/_team.jinja"
RANGES = {"3m": 91, "6m": 182, "12m": 365, "all": None}  # days shown before the latest period
RANGE_LABELS = {"3m": "3 months", "6m": "6 months", "12m": "12 months", "all": "All"}
# (div id, builder, extra PR-explorer filters for "the PRs behind it")
CHARTS: tuple[tuple[str, Callable[[charts.Series], dict[str, Any]], dict[str, str]], ...] = (
    ("chart-cycle-time", charts.cycle_band_chart, {"sort": "-cycle"}),
    ("chart-phases", charts.cycle_phases_chart, {"sort": "-cycle"}),
    ("chart-throughput", charts.throughput_chart, {}),
    ("chart-pr-size", charts.pr_size_chart, {"sort": "-size"}),
    ("chart-revert-rate", charts.revert_chart, {"reverted": "yes"}),
    ("chart-ai-share", charts.adoption_chart, {"ai": "yes"}),
)

# What a chart shows when its title cannot say it all (printed under the chart).
NOTES = {
    "chart-phases": "Stacked: the mean hours of each phase over the same PRs (merged, non-bot, every phase "
    "known), so the bars add up to those PRs' mean cycle time (solid line). Draft = opened → ready for "
    "review. The dotted line is the median cycle time of all merged PRs: a typical PR, lower than the mean "
    "because a few slow PRs pull the mean up. Deploy time (after the merge) is not part of cycle time.",
}


def _latest(
    data: charts.Series, period: str
) -> tuple[dt.date | None, dict[str, tuple[float | None, int]], dict[str, float]]:
    """(latest ended period start, metric -> (value, n) there, metric -> value one period earlier).

    A period still under way (this month) would compare badly with whole ones, so the KPIs use the
    newest period that has ended when there is one."""
    today = timezone.now().date()
    starts = sorted({start for rows in data.values() for start, _, _ in rows})
    ended = [s for s in starts if display.period_end(period, s) < today]
    starts = ended or starts
    if not starts:
        return None, {}, {}
    latest, previous = {}, {}
    for metric, rows in data.items():
        by_start = {start: (value, n) for start, value, n in rows}
        if starts[-1] in by_start:
            value, n = by_start[starts[-1]]
            latest[metric] = (None if value is None or math.isnan(value) else value, n)
        before = by_start.get(starts[-2])[0] if len(starts) > 1 and starts[-2] in by_start else None
        if before is not None and not math.isnan(before):
            previous[metric] = before
    return starts[-1], latest, previous


def _kpis(
    latest: dict[str, tuple[float | None, int]],
    previous: dict[str, float],
    provisional: Callable[[str], bool],
) -> list[dict[str, Any]]:
    """The KPI tiles; a provisional figure (its period runs past the data, or its revert window is still
    open) is never compared with the period before: no arrow, no colour (the overview's rule)."""
    tiles = []
    for metric in KPIS:
        value, n = latest.get(metric, (None, 0))
        tiles.append(
            {
                "metric": metric,
                "label": display.label(metric),
                "n": n,
                "display": display.format_value(metric, value),
                "trend": None if provisional(metric) else _trend(metric, value, previous.get(metric)),
            }
        )
    return tiles


def _latest_rows(latest: dict[str, tuple[float | None, int]]) -> list[dict[str, Any]]:
    order = [m for m in DEFINITIONS if m in latest] + sorted(m for m in latest if m not in DEFINITIONS)
    return [
        {
            "metric": m,
            "label": display.label(m),
            "display": display.format_value(m, latest[m][0]),
            "n": latest[m][1],
            "definition": display.definition(m),
        }
        for m in order
    ]


def _latest_rows_html(rows: list[dict[str, Any]]) -> str:
    """The "All metrics" table body (``_team.jinja``), a tooltip with each metric's definition."""
    return partials.macro(PARTIAL, "latest_rows")(rows)


def _chart_cards(
    team: Team, period: str, data: charts.Series, adoption: charts.Series
) -> list[dict[str, Any]]:
    base = {"team": team.slug, "state": "merged"}
    starts = sorted({start for rows in data.values() for start, _, _ in rows})
    prs = reverse("web:prs")
    cards = []
    for div_id, build, extra in CHARTS:
        source = {**data, **adoption} if build is charts.adoption_chart else data
        query = {**base, **extra}
        all_prs = dict(query)
        if starts:
            all_prs.update(
                merged_from=f"{starts[0]:%Y-%m-%d}",
                merged_to=f"{display.period_end(period, starts[-1]):%Y-%m-%d}",
            )
        click_url = f"{prs}?{urlencode(query)}"
        cards.append(
            {
                "id": div_id,
                "html": display.chart_html(build(source), div_id, click_url, period),
                "period": period,
                "click_url": click_url,
                "prs_url": f"{prs}?{urlencode(all_prs)}",
                "note": NOTES.get(div_id, ""),
            }
        )
    return cards


def _people(team: Team, month: dt.date | None, subtree: frozenset[int] | None = None) -> list[dict[str, Any]]:
    """Per-person monthly figures of the team's members (its sub-teams included) in ``month``."""
    if month is None:
        return []
    end = display.period_end("month", month)
    member = TeamMembership.objects.filter(
        TeamMembership.during_q(month, end),
        person_id=OuterRef("pk"),
        team_id__in=subtree if subtree is not None else team_subtree([team.pk]),
    )
    # The members as a sub-query of the snapshot query: a group's hundreds of ids are not sent back.
    members = Person.objects.filter(Exists(member), is_bot=False)
    names = dict(members.values_list("id", "display_name"))
    values: dict[int, dict[str, float | None]] = {pk: {} for pk in names}
    for person_id, metric, value in MetricSnapshot.objects.filter(
        scope="person",
        period="month",
        period_start=month,
        person_id__in=members.values("id"),
        metric__in=PEOPLE_METRICS,
    ).values_list("person_id", "metric", "value"):
        values[person_id][metric] = value
    prs, team_query = reverse("web:prs"), urlencode({"team": team.slug})
    rows = []
    unit = display.hours_unit(values[pk].get("cycle_time_p50") for pk in names)  # one unit in the column
    for pk, name in sorted(names.items(), key=lambda item: item[1].casefold()):
        got = values[pk]
        level = got.get("ai_adoption_level")
        cycle = got.get("cycle_time_p50")
        rows.append(
            {
                "id": pk,
                "name": name,
                "merged": display.format_value("merged_prs", got.get("merged_prs")),
                "cycle": display.hours(cycle, unit) if cycle is not None and not math.isnan(cycle) else "—",
                "size": display.format_value("pr_size_p50", got.get("pr_size_p50")),
                "ai": ADOPTION_LEVELS.get(int(level), "—") if level is not None else "—",
                "prs_url": f"{prs}?author={pk}&{team_query}",  # urlencode() of both, per person
            }
        )
    return rows


def _people_html(
    team: Team, month: dt.date | None, snapshots: object, teams: tuple[str, queries.TreeIndex]
) -> str:
    """The people table's rows (``_team.jinja``), cached under the versions of the teams (the
    tree's, read before it), memberships and people and the newest snapshot row (a group's table is
    hundreds of rows).  Only called for users who may see the team's people, and the same for all."""
    tree_version, index = teams
    name = key(
        "team-people",
        team.pk,
        team.slug,
        month,
        tree_version,
        data_version(TeamMembership, Person),
        snapshots,
    )

    def build() -> str:
        return partials.macro(PARTIAL, "people")(_people(team, month, index.below([team.pk])))

    return cache.get_or_set(name, build)


def _ancestors(team: Team, index: queries.TreeIndex) -> list[TreeTeam]:
    """The teams above ``team``, the top first (the breadcrumb)."""
    return [index.teams[pk] for pk in reversed(index.tree.ancestors(team.pk))]


def _floored(
    team: Team, period: str, data: queries.Series, adoption: queries.Series
) -> tuple[queries.Series, queries.Series]:
    """The series without the periods in which the team was below the privacy floor (``ingestion.privacy``):
    for users who may not see its people, those figures are one person's."""
    groups = privacy.large_groups(team_ids=[team.pk])
    large = {(p, start) for team_id, p, start in groups if team_id == team.pk}

    def keep(series: queries.Series, series_period: str) -> queries.Series:
        kept = {
            metric: [point for point in points if (series_period, point[0]) in large]
            for metric, points in series.items()
        }
        return {metric: points for metric, points in kept.items() if points}

    return keep(data, period), keep(adoption, "month")


def _figures(team: Team, period: str, span: str, snapshots: object, floored: bool = False) -> dict[str, Any]:
    """KPIs, charts and the latest values, cached under the newest snapshot row (a recompute replaces them
    all) and today's date (the KPIs use the newest period that has ended); ``floored``: for a user who
    may not see the team's people (the same for all of them)."""
    today = timezone.now().date()
    name = key("team-figures", team.pk, team.slug, period, span, snapshots, today, floored)

    def build() -> dict[str, Any]:
        newest = queries.latest_start(period=period, team_id=team.pk)
        since = newest - dt.timedelta(days=RANGES[span]) if newest and RANGES[span] else None
        data, adoption = queries.team_series(
            team_id=team.pk,
            period=period,
            since=since,
            adoption=("ai_adoption_any_share", "ai_adoption_regular_share"),
        )
        if floored:
            data, adoption = _floored(team, period, data, adoption)
        start, latest, previous = _latest(data, period)
        month = newest if period == "month" else queries.latest_month(team_id=team.pk)
        rows = _latest_rows(latest)
        upto = completeness.upto(snapshots)

        def provisional(metric: str) -> bool:
            return start is not None and completeness.provisional(period, start, metric, upto)

        return {
            "provisional": completeness.label(period, start, upto) if start else "",
            "month": month,
            "month_label": display.period_label("month", month) if month else "",
            "latest_label": display.period_label(period, start) if start else None,
            "kpis": _kpis(latest, previous, provisional),
            "latest_rows": rows,
            "latest_rows_html": _latest_rows_html(rows),
            "charts": _chart_cards(team, period, data, adoption) if data else [],
        }

    return cache.get_or_set(name, build)


@login_required
@params.param_errors_are_400
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team, slug=slug)
    period = params.choice(request.GET, "period", queries.PERIODS, "week")
    span = params.choice(request.GET, "range", tuple(RANGES), "6m" if period == "week" else "all")
    snapshots = queries.snapshots_version()
    access = request_access(request)
    sees_people = access.sees_people_of(team.pk)
    figures = _figures(team, period, span, snapshots, floored=not sees_people)
    version = queries.teams_version()
    index = queries.cached_team_index(version)
    satisfaction = team_trend(team.pk, index)
    context = {
        "team": team,
        "period": period,
        "periods": queries.PERIODS,
        "ancestors": _ancestors(team, index),
        "range": span,
        "ranges": RANGE_LABELS,
        "month_label": figures["month_label"],
        "children": [index.teams[pk] for pk in index.tree.children(team.pk)],
        "latest_label": figures["latest_label"],
        "provisional": figures["provisional"],
        "kpis": figures["kpis"],
        "latest_rows": figures["latest_rows"],
        "latest_rows_html": figures["latest_rows_html"],
        "charts": figures["charts"],
        "satisfaction": display.chart_html(charts.satisfaction_chart(satisfaction), "chart-satisfaction")
        if satisfaction
        else None,
        "sees_people": sees_people,
        "people": _people_html(team, figures["month"], snapshots, (version, index)) if sees_people else "",
        "prs_url": f"{reverse('web:prs')}?{urlencode({'team': team.slug})}",
        "plotly_js_url": plotly_url(),
        # Issue 17: review load and agent-authored PRs (floored like the figures; reviewers only for people).
        "ra": review_agents.summary(team.pk, floored=not sees_people, sees_money=access.sees_money),
        "floored": not sees_people,
        "reviewers": review_agents.reviewers(index.below([team.pk]), figures["month"]) if sees_people else [],
        "reviewers_month": figures["month_label"],
        # The period and range travel with every link to another team and back to the overview.
        "state": "?" + urlencode({"period": period, "range": span}),
        "overview_state": "?" + urlencode({"period": period}),
    }
    return render(request, "dashboards/team.html", context)
