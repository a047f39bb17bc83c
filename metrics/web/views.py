"""Server-rendered manager pages: the organization overview and one page per team."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import plotly
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import condition, require_safe

from metrics.core.models import Team
from metrics.ingestion.metric_definitions import DEFINITIONS
from metrics.reports import charts
from metrics.web import queries

OVERVIEW_METRICS = ("cycle_time_p50", "merged_prs", "revert_rate", "ai_assisted_share")
HOUR_PREFIXES = ("cycle_time_", "coding_time_", "pickup_time_", "review_time_", "time_to_revert_")
SHARE_METRICS = frozenset({"revert_rate", "ai_assisted_share"})
COUNT_METRICS = frozenset({"merged_prs", "bot_merged_prs"})
LABELS = {
    "merged_prs": "Merged PRs",
    "bot_merged_prs": "Merged bot PRs",
    "throughput_per_engineer": "Merged PRs per engineer",
    "ai_assisted_share": "AI-assisted share",
}
TEAM_CHARTS = (
    ("chart-cycle-time", charts.cycle_time_chart),
    ("chart-throughput", charts.throughput_chart),
    ("chart-revert-rate", charts.revert_rate_chart),
    ("chart-ai-share", charts.ai_share_chart),
)

# Both assets are served by the app itself so that pages work offline and without a separate static
# server (embedded mode runs with DEBUG off, where runserver serves no static files).  plotly.js is
# streamed from the installed plotly package, so its version always matches the figures' JSON.
ASSETS: dict[str, tuple[Path, str]] = {
    "sextant.css": (Path(__file__).resolve().parent / "static" / "web" / "sextant.css", "text/css"),
    "plotly.min.js": (
        Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js", "text/javascript"
    ),
}


def label(metric: str) -> str:
    """``cycle_time_p50`` -> ``Cycle time p50``, unless named in ``LABELS``."""
    return LABELS.get(metric, metric.replace("_", " ").capitalize())


def format_value(metric: str, value: float | None) -> str:
    """Human units: hours (days beyond two days), percentages for shares, whole counts."""
    if value is None or math.isnan(value):
        return "—"
    if metric.startswith(HOUR_PREFIXES):
        return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"
    if metric in SHARE_METRICS:
        return f"{value:.1%}"
    if metric in COUNT_METRICS:
        return f"{value:.0f}"
    return f"{value:.2f}"


def period_label(period: str, start: pd.Timestamp) -> str:
    return f"week of {start:%d %b %Y}" if period == "week" else f"{start:%B %Y}"


def _cell(metric: str, value: float | None, n: int | None) -> dict[str, Any]:
    return {"metric": metric, "label": label(metric), "display": format_value(metric, value), "n": n,
            "definition": DEFINITIONS.get(metric, "")}


def _latest_cells(frame: pd.DataFrame) -> dict[tuple[str, str | None], dict[str, dict[str, Any]]]:
    """(scope, team slug) -> metric -> cell, at the frame's latest period_start."""
    latest = frame[frame["period_start"] == frame["period_start"].max()]
    cells: dict[tuple[str, str | None], dict[str, dict[str, Any]]] = {}
    for row in latest.itertuples(index=False):
        slug = row.team_slug if isinstance(row.team_slug, str) else None
        cells.setdefault((row.scope, slug), {})[row.metric] = _cell(row.metric, row.value, int(row.n))
    return cells


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"metrics": [(m, label(m), DEFINITIONS.get(m, "")) for m in OVERVIEW_METRICS]}
    if not queries.snapshots_exist():
        return render(request, "dashboards/teams.html", {**context, "empty": True})
    frame = queries.snapshot_frame(period="month", metrics=OVERVIEW_METRICS)
    frame = frame[frame["scope"].isin(["team", "organization"])]
    cells = _latest_cells(frame) if len(frame) else {}
    blank = {m: _cell(m, None, None) for m in OVERVIEW_METRICS}
    rows = []
    if ("organization", None) in cells:
        org = cells[("organization", None)]
        rows.append({"name": "Whole organization", "url": None,
                     "cells": [org.get(m, blank[m]) for m in OVERVIEW_METRICS]})
    for team in queries.team_list():
        team_cells = cells.get(("team", team.slug), {})
        rows.append({
            "name": team.name,
            "url": reverse("web:team", args=[team.slug]),
            "cells": [team_cells.get(m, blank[m]) for m in OVERVIEW_METRICS],
        })
    context.update({
        "empty": False,
        "rows": rows,
        "month": period_label("month", frame["period_start"].max()) if len(frame) else None,
        "as_of": queries.latest_computed_at(),
    })
    return render(request, "dashboards/teams.html", context)


@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team, slug=slug)
    period = request.GET.get("period", "week")
    if period not in queries.PERIODS:
        message = f"Invalid period {period!r}: use ?period=week or ?period=month."
        error = {"title": "Bad request", "message": message}
        return render(request, "dashboards/error.html", error, status=400)
    frame = queries.snapshot_frame(period=period, scope="team", team_id=team.pk)
    latest_rows: list[dict[str, Any]] = []
    latest_label = None
    if len(frame):
        latest_label = period_label(period, frame["period_start"].max())
        cells = _latest_cells(frame).get(("team", team.slug), {})
        order = [m for m in DEFINITIONS if m in cells] + sorted(m for m in cells if m not in DEFINITIONS)
        latest_rows = [cells[m] for m in order]
    context = {
        "team": team,
        "period": period,
        "periods": queries.PERIODS,
        "charts": [charts.render(build(frame), div_id=div_id) for div_id, build in TEAM_CHARTS],
        "latest_rows": latest_rows,
        "latest_label": latest_label,
        "as_of": queries.latest_computed_at(team_id=team.pk),
        "plotly_js_url": f"{reverse('web:asset', args=['plotly.min.js'])}?v={plotly.__version__}",
    }
    return render(request, "dashboards/team.html", context)


def _asset_etag(request: HttpRequest, name: str) -> str | None:
    if name not in ASSETS or not ASSETS[name][0].exists():
        return None
    stat = ASSETS[name][0].stat()
    return f"{stat.st_mtime_ns:x}-{stat.st_size:x}"


@require_safe
@condition(etag_func=_asset_etag)
def asset(request: HttpRequest, name: str) -> FileResponse:
    """A whitelisted static file; public (the login page needs the CSS), revalidated by ETag."""
    if name not in ASSETS or not ASSETS[name][0].exists():
        raise Http404(f"no asset named {name!r}")
    path, content_type = ASSETS[name]
    response = FileResponse(path.open("rb"), content_type=content_type)
    # A versioned URL never changes content, so browsers may keep it; otherwise revalidate every time.
    versioned = name == "plotly.min.js" and request.GET.get("v") == plotly.__version__
    response["Cache-Control"] = "public, max-age=31536000, immutable" if versioned else "no-cache"
    return response
