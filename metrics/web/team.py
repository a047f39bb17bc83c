"""A team's dashboard: where its cycle time goes, throughput, size, reverts, satisfaction, AI adoption."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from metrics.core.models import Person, Team
from metrics.ingestion.metric_definitions import DEFINITIONS
from metrics.ingestion.models import MetricSnapshot
from metrics.web import charts, display, params, queries
from metrics.web.access import request_access, team_subtree
from metrics.web.overview import _trend
from metrics.web.satisfaction import team_trend
from metrics.web.views import plotly_url

KPIS = ("cycle_time_p50", "merged_prs", "revert_rate", "ai_assisted_share")
PEOPLE_METRICS = ("merged_prs", "cycle_time_p50", "pr_size_p50", "ai_adoption_level")
ADOPTION_LEVELS = {0: "none", 1: "occasional", 2: "regular"}
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


def _kpis(latest: dict[str, tuple[float | None, int]], previous: dict[str, float]) -> list[dict[str, Any]]:
    tiles = []
    for metric in KPIS:
        value, n = latest.get(metric, (None, 0))
        tiles.append(
            {
                "metric": metric,
                "label": display.label(metric),
                "n": n,
                "display": display.format_value(metric, value),
                "trend": _trend(metric, value, previous.get(metric)),
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


def _chart_cards(
    team: Team, period: str, data: charts.Series, adoption: charts.Series
) -> list[dict[str, Any]]:
    base = {"team": team.slug, "state": "merged"}
    starts = sorted({start for rows in data.values() for start, _, _ in rows})
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
        cards.append(
            {
                "id": div_id,
                "spec": build(source),
                "period": period,
                "click_url": f"{reverse('web:prs')}?{urlencode(query)}",
                "prs_url": f"{reverse('web:prs')}?{urlencode(all_prs)}",
            }
        )
    return cards


def _people(team: Team, month: dt.date | None) -> list[dict[str, Any]]:
    """Per-person monthly figures of the team's members (its sub-teams included) in ``month``."""
    if month is None:
        return []
    end = display.period_end("month", month)
    members = Person.objects.filter(
        Q(memberships__start__isnull=True) | Q(memberships__start__date__lte=end),
        Q(memberships__end__isnull=True) | Q(memberships__end__date__gte=month),
        memberships__team_id__in=team_subtree([team.pk]),
        is_bot=False,
    ).distinct()
    names = dict(members.values_list("id", "display_name"))
    values: dict[int, dict[str, float | None]] = {pk: {} for pk in names}
    for person_id, metric, value in MetricSnapshot.objects.filter(
        scope="person",
        period="month",
        period_start=month,
        person_id__in=list(names),
        metric__in=PEOPLE_METRICS,
    ).values_list("person_id", "metric", "value"):
        values[person_id][metric] = value
    rows = []
    for pk, name in sorted(names.items(), key=lambda item: item[1].casefold()):
        got = values[pk]
        level = got.get("ai_adoption_level")
        rows.append(
            {
                "id": pk,
                "name": name,
                "merged": display.format_value("merged_prs", got.get("merged_prs")),
                "cycle": display.format_value("cycle_time_p50", got.get("cycle_time_p50")),
                "size": display.format_value("pr_size_p50", got.get("pr_size_p50")),
                "ai": ADOPTION_LEVELS.get(int(level), "—") if level is not None else "—",
                "prs_url": f"{reverse('web:prs')}?{urlencode({'author': pk, 'team': team.slug})}",
            }
        )
    return rows


def _ancestors(team: Team) -> list[Team]:
    chain: list[Team] = []
    current = team.parent
    while current is not None and current not in chain and len(chain) < 20:
        chain.append(current)
        current = current.parent
    return list(reversed(chain))


@login_required
@params.param_errors_are_400
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team, slug=slug)
    period = params.choice(request.GET, "period", queries.PERIODS, "week")
    span = params.choice(request.GET, "range", tuple(RANGES), "6m" if period == "week" else "all")
    newest = queries.latest_start(period=period, team_id=team.pk)
    since = newest - dt.timedelta(days=RANGES[span]) if newest and RANGES[span] else None
    data = queries.snapshot_series(
        period=period, scope="team", team_id=team.pk, exclude_prefix="ai_adoption_", since=since
    )
    adoption = queries.snapshot_series(
        period="month",
        scope="team",
        team_id=team.pk,
        since=since,
        metrics=("ai_adoption_any_share", "ai_adoption_regular_share"),
    )
    start, latest, previous = _latest(data, period)
    month = queries.latest_month(team_id=team.pk)
    access = request_access(request)
    sees_people = access.sees_people_of(team.pk)
    satisfaction = team_trend(team.pk)
    context = {
        "team": team,
        "period": period,
        "periods": queries.PERIODS,
        "ancestors": _ancestors(team),
        "range": span,
        "ranges": RANGE_LABELS,
        "month_label": display.period_label("month", month) if month else "",
        "children": list(team.children.order_by("name")),
        "latest_label": display.period_label(period, start) if start else None,
        "kpis": _kpis(latest, previous),
        "latest_rows": _latest_rows(latest),
        "charts": _chart_cards(team, period, data, adoption) if data else [],
        "satisfaction": charts.satisfaction_chart(satisfaction) if satisfaction else None,
        "sees_people": sees_people,
        "people": _people(team, month) if sees_people else [],
        "prs_url": f"{reverse('web:prs')}?{urlencode({'team': team.slug})}",
        "plotly_js_url": plotly_url(),
    }
    return render(request, "dashboards/team.html", context)
