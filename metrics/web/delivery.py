"""Delivery: DORA's five keys for the organization or a team (trend per key with DORA's bands), the
deployments and incidents behind a number (click a point: that period's rows), an incident timeline, and
the keys for AI-assisted deployments against the rest.

The keys and the AI split are read from what the recompute stored (MetricSnapshot, DeliverySplit); the
drill-down lists stored deployments and incidents, flagged by the snapshot engine's own rules
(``ingestion/snapshots.py: deployment_outcomes``).  Figures only: no person is named here, so every role
that sees figures sees the page (``Access.sees_delivery``), within its teams.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from metrics.analytics import catalog
from metrics.analytics.delivery import LINK_RULE
from metrics.core.access import Access
from metrics.core.models import Repository, Team, team_subtree
from metrics.ingestion.models import DeliverySplit, Deployment, Incident, MetricSnapshot, PullRequest
from metrics.ingestion.privacy import visible_snapshots_q
from metrics.ingestion.snapshots import deployment_outcomes
from metrics.web import charts, display, params, queries
from metrics.web.access import request_access
from metrics.web.views import plotly_url

KEYS = catalog.DELIVERY_HEADLINE
POINTS = {"week": 26, "month": 12}  # the trend's length
DRILL_ROWS = 200
SHIPPED_SHOWN = 12  # PR links per deployment in the drill-down
COLORS = {"Elite": charts.GREEN, "High": charts.BLUE, "Medium": charts.AMBER, "Low": charts.RED}
SEVERITY_COLORS = (charts.RED, charts.AMBER, charts.BLUE, charts.VIOLET, charts.SLATE)


def _days(period: str, start: dt.date) -> float:
    return float((display.period_end(period, start) - start).days + 1)


def _band_lines(metric: str, period: str) -> list[dict[str, Any]]:
    """DORA's limits as dashed horizontal lines (deployment frequency: per period of this length)."""
    family = metric.rsplit("_p", 1)[0] if metric[-3:] in ("p50", "p75", "p90") else metric
    band = catalog.BANDS.get(family)
    if band is None:
        return []
    scale = (7.0 if period == "week" else 30.4) / 7.0 if family == "deployment_frequency" else 1.0
    return [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "y0": limit * scale,
            "y1": limit * scale,
            "line": {"color": COLORS[name], "width": 1, "dash": "dot"},
            "label": {"text": name, "textposition": "end", "font": {"size": 10, "color": COLORS[name]}},
        }
        for name, limit in band.bounds
    ]


def _trend(metric: str, rows: list[tuple[dt.date, float | None, int]], period: str) -> dict[str, Any]:
    unit = catalog.unit(metric)
    x, y, n = charts.series({metric: rows}, metric)
    suffix = "%" if unit == "share" else (" h" if unit == "hours" else "")
    trace = charts.line(x, y, n, name=catalog.label(metric), color=charts.BLUE, unit=suffix)
    spec = charts.layout(
        catalog.label(metric),
        {"hours": "hours", "share": "share", "count": "deployments"}.get(unit or "", ""),
        empty=not any(v is not None for v in y),
        percent=unit == "share",
        shapes=_band_lines(metric, period),
    )
    return {"data": [trace], "layout": spec}


def _kpi(metric: str, rows: list[tuple[dt.date, float | None, int]], period: str) -> dict[str, Any]:
    latest = next(((d, v, n) for d, v, n in reversed(rows) if v is not None), None)
    if latest is None:
        return {"metric": metric, "display": "—", "n": 0, "band": "", "when": ""}
    day, value, n = latest
    return {
        "metric": metric,
        "display": display.format_value(metric, value),
        "n": n,
        "band": catalog.band(metric, value, days=_days(period, day)),
        "when": display.period_label(period, day),
    }


def _series(
    access: Access, period: str, team: Team | None
) -> dict[str, list[tuple[dt.date, float | None, int]]]:
    """metric -> the last ``POINTS`` periods of the scope's keys; a group below the privacy floor in a
    period is left out for roles that may not see its people (``ingestion/privacy.py``)."""
    qs = MetricSnapshot.objects.filter(
        period=period, scope="team" if team else "organization", metric__in=catalog.DELIVERY
    ).filter(visible_snapshots_q(access))
    if team is not None:
        qs = qs.filter(team_id=team.id)
    out: dict[str, list[tuple[dt.date, float | None, int]]] = {}
    for metric, start, value, n in qs.order_by("period_start").values_list(
        "metric", "period_start", "value", "n"
    ):
        out.setdefault(metric, []).append((start, value, n))
    return {metric: rows[-POINTS[period] :] for metric, rows in out.items()}


def _repositories(team: Team | None) -> list[int] | None:
    if team is None:
        return None
    return list(Repository.objects.filter(team_id__in=team_subtree({team.id})).values_list("id", flat=True))


def _window(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    return start, dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def _drill_deployments(repos: list[int] | None, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """The production deployments of the period with their outcome (the rows behind each key)."""
    flagged, lead = deployment_outcomes(repository_ids=repos)
    if flagged.empty:
        return []
    at = flagged["at"]
    mine = flagged[(at >= pd.Timestamp(start)) & (at < pd.Timestamp(end))].sort_values("at").head(DRILL_ROWS)
    stored = Deployment.objects.in_bulk([int(i) for i in mine["id"]])
    mine_lead = lead[lead["deployment_id"].isin(mine["id"])]
    numbers = dict(
        PullRequest.objects.filter(id__in=[int(i) for i in mine_lead["pr_id"]]).values_list("id", "number")
    )
    shipped: dict[int, list[dict[str, Any]]] = {}
    for row in mine_lead.itertuples():
        if int(row.pr_id) in numbers:
            shipped.setdefault(int(row.deployment_id), []).append(
                {
                    "number": numbers[int(row.pr_id)],
                    "lead": display.hours(row.lead_hours) if row.lead_hours == row.lead_hours else "—",
                }
            )
    names = dict(Repository.objects.filter(id__in=set(mine["repository_id"])).values_list("id", "full_name"))
    out = []
    for row in mine.itertuples():
        d = stored.get(int(row.id))
        if d is None:
            continue
        out.append(
            {
                "d": d,
                "repository": names.get(d.repository_id, ""),
                "at": row.at.to_pydatetime(),
                "failed": bool(row.failed),
                "rework": bool(row.rework),
                "ai": bool(row.ai),
                "prs": int(row.prs),
                "shipped": sorted(shipped.get(int(row.id), []), key=lambda p: p["number"])[:SHIPPED_SHOWN],
                "recovery": display.format_value("failed_deployment_recovery_time_p50", row.recovery_hours),
            }
        )
    return out


def _incidents(repos: list[int] | None, start: dt.datetime, end: dt.datetime) -> list[Incident]:
    qs = Incident.objects.filter(started_at__gte=start, started_at__lt=end)
    if repos is not None:
        qs = qs.filter(repository_id__in=repos)
    return list(qs.select_related("repository", "deployment").order_by("started_at")[:DRILL_ROWS])


def _timeline(incidents: list[Incident], now: dt.datetime) -> dict[str, Any] | None:
    """Each incident a bar from its start to its resolution (open ones to now), one colour per severity."""
    if not incidents:
        return None
    severities = sorted({i.severity or "unknown" for i in incidents})
    traces = []
    for k, severity in enumerate(severities):
        x: list[str | None] = []
        y: list[str | None] = []
        for i in incidents:
            if (i.severity or "unknown") != severity:
                continue
            label = f"{i.source}:{i.external_id}"
            x += [i.started_at.isoformat(), (i.resolved_at or now).isoformat(), None]
            y += [label, label, None]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": x,
                "y": y,
                "name": severity,
                "line": {"color": SEVERITY_COLORS[k % len(SEVERITY_COLORS)], "width": 8},
                "hovertemplate": "%{y}<br>%{x}<extra>" + severity + "</extra>",
            }
        )
    height = max(160, 60 + 22 * len(incidents))
    spec = charts.layout("Incident timeline", "", empty=False, height=height)
    spec["yaxis"] = {"automargin": True, "autorange": "reversed", "gridcolor": charts.GRID}
    spec["hovermode"] = "closest"
    return {"data": traces, "layout": spec}


def _split() -> dict[str, Any]:
    rows = list(DeliverySplit.objects.all())
    groups: dict[str, dict[str, DeliverySplit]] = {}
    for r in rows:
        if r.method == "group":
            groups.setdefault(r.key, {})[r.group] = r
    table = [
        {
            "metric": key,
            "ai": display.format_value(key, groups[key]["ai"].value) if "ai" in groups[key] else "—",
            "ai_n": groups[key]["ai"].n if "ai" in groups[key] else 0,
            "rest": display.format_value(key, groups[key]["rest"].value) if "rest" in groups[key] else "—",
            "rest_n": groups[key]["rest"].n if "rest" in groups[key] else 0,
        }
        for key in KEYS
        if key in groups
    ]
    adjusted = []
    for r in rows:
        if r.method != "adjusted":
            continue
        unit = "%" if r.unit == "percent_change" else " pp"
        ok = r.value is not None and r.ci_low is not None and r.ci_high is not None
        adjusted.append(
            {
                "label": catalog.label(
                    "change_failure_rate" if r.key == "change_failure_rate" else f"{r.key}_p50"
                ),
                "text": f"{r.value:+.1f}{unit}" if ok else "not enough data",
                "interval": f"95% interval [{r.ci_low:+.1f}{unit}, {r.ci_high:+.1f}{unit}]" if ok else "",
                "n": r.n,
                "n_treated": r.n_treated,
                "n_clusters": r.n_clusters,
                "ok": ok,
                "significant": ok and (r.ci_low > 0 or r.ci_high < 0),  # type: ignore[operator]
            }
        )
    return {"table": table, "adjusted": adjusted}


@login_required
@params.param_errors_are_400
def delivery(request: HttpRequest) -> HttpResponse:
    access = request_access(request)
    if not access.sees_delivery:
        raise Http404
    period = params.choice(request.GET, "period", catalog.PERIODS, "week")
    team = params.team_value(request.GET)
    if team is not None and not access.allows_team(team.id):
        raise Http404
    first, last = params.date_value(request.GET, "merged_from"), params.date_value(request.GET, "merged_to")
    data = _series(access, period, team)
    base = {"period": period, **({"team": team.slug} if team else {})}
    click = f"?{urlencode(base)}"
    trends = [
        {
            "metric": m,
            "html": display.chart_html(_trend(m, data.get(m, []), period), f"chart-{m}", click, period),
        }
        for m in KEYS
    ]
    repos = _repositories(team)
    drill = None
    if first is not None and last is not None and first <= last:
        start, end = _window(first, last)
        incidents = _incidents(repos, start, end)
        drill = {
            "first": first,
            "last": last,
            "deployments": _drill_deployments(repos, start, end),
            "incidents": incidents,
            "timeline": _timeline(incidents, dt.datetime.now(dt.UTC)),
            "clear": click,
        }
    else:
        recent = Incident.objects.order_by("-started_at")
        if repos is not None:
            recent = recent.filter(repository_id__in=repos)
        newest = recent.values_list("started_at", flat=True).first()
        if newest is not None:
            incidents = _incidents(repos, newest - dt.timedelta(days=90), newest + dt.timedelta(seconds=1))
            drill = {"timeline": _timeline(incidents, dt.datetime.now(dt.UTC)), "recent": True}
    timeline = drill.get("timeline") if drill else None
    context = {
        "section": "delivery",
        "period": period,
        "periods": [(p, f"?{urlencode({**base, 'period': p})}") for p in catalog.PERIODS],
        "team": team,
        "teams": [(t, "· " * depth) for t, depth in queries.team_tree()],
        "kpis": [_kpi(m, data.get(m, []), period) for m in KEYS],
        "trends": trends,
        "has_data": any(data.get(m) for m in KEYS),
        "drill": drill,
        "timeline_html": display.chart_html(timeline, "chart-incident-timeline") if timeline else None,
        "split": _split() if team is None else None,
        "link_rule": LINK_RULE,
        "bands": catalog.BANDS,
        "plotly_js_url": plotly_url(),
    }
    return render(request, "dashboards/delivery.html", context)
