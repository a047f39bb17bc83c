"""AI impact: adoption, adjusted effects with intervals (forest plot), naive beside adjusted, detection
coverage and ROI per tool, read from the tables the analytics recompute (AIImpactEstimate, AIRoiMonth)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from metrics.analytics import impact_verdict, roi, sensitivity
from metrics.core.models import AITool, Organization, Team
from metrics.core.versions import data_version
from metrics.ingestion.impact import org_settings
from metrics.ingestion.models import AIImpactEstimate, AIRoiMonth, MetricSnapshot
from metrics.web import charts, display, impact_charts, params, queries, review_agents
from metrics.web.access import request_access
from metrics.web.memo import cache, key
from metrics.web.views import plotly_url

# The period selector (``?months=``): the window of the ROI table and the adoption chart.  The estimates
# use every PR (an interval needs them all); the page says so.
WINDOWS = {"3": "3 months", "6": "6 months", "12": "12 months", "all": "All history"}
DEFAULT_WINDOW = "12"
ADOPTION_CACHE_SECONDS = 600  # the key changes with the data; the timeout only bounds memory
RULE_LABELS = {
    "trailer": "trailers only",
    "author": "AI authors only",
    "branch": "agent branches only",
    "label": "labels only",
    "telemetry": "telemetry only",
    "explicit": "declared only",
}
OUTCOMES = {"cycle_time": "Cycle time", "revert_rate": "Revert rate"}


def _robustness(estimate: AIImpactEstimate) -> sensitivity.Robustness | None:
    """The robustness value beside an adjusted estimate (metrics/analytics/sensitivity.py)."""
    if estimate.method != "adjusted":
        return None
    return sensitivity.from_interval(
        estimate.estimate, estimate.ci_low, estimate.ci_high, estimate.n, estimate.unit
    )


def _fmt(estimate: AIImpactEstimate) -> dict[str, Any]:
    unit = "%" if estimate.unit == "percent_change" else " pp"
    ok = estimate.estimate is not None and estimate.ci_low is not None and estimate.ci_high is not None
    robust = _robustness(estimate) if ok else None
    return {
        "robustness": robust.words() if robust else "",
        "rv": robust.rv if robust else None,
        "e": estimate,
        "ok": ok,
        "method": estimate.method,
        "unit": unit,
        "text": f"{estimate.estimate:+.1f}{unit}" if ok else "not enough data",
        "interval": f"[{estimate.ci_low:+.1f}{unit}, {estimate.ci_high:+.1f}{unit}]" if ok else "",
        "significant": ok and (estimate.ci_low > 0 or estimate.ci_high < 0),  # type: ignore[operator]
    }


def _forest_rows(
    rows: list[AIImpactEstimate], outcome: str, teams: dict[int, str]
) -> tuple[list[dict], list[str]]:
    """(plotted rows: organization, detection rules, teams; names of teams without enough data: every team,
    parents included, without a team estimate, whether it had too few PRs or none)."""
    plotted, missing = [], []
    org = [e for e in rows if e.scope == "organization" and e.outcome == outcome and e.method == "adjusted"]
    org.sort(key=lambda e: (e.rule != "any", e.rule))
    for e in org:
        if e.estimate is None:
            continue
        label = "Organization" if e.rule == "any" else f"Organization, {RULE_LABELS.get(e.rule, e.rule)}"
        plotted.append(
            {
                "label": label,
                "estimate": e.estimate,
                "low": e.ci_low,
                "high": e.ci_high,
                "n": e.n,
                "headline": e.rule == "any",
                "rv": _fmt(e)["rv"],
            }
        )
    team_rows = [
        e
        for e in rows
        if e.scope == "team" and e.outcome == outcome and e.method == "adjusted" and e.rule == "any"
    ]
    estimated = {e.team_id: e for e in team_rows if e.estimate is not None}
    for team_id, name in sorted(teams.items(), key=lambda item: item[1]):
        e = estimated.get(team_id)
        if e is None:
            missing.append(name)
        else:
            plotted.append(
                {
                    "label": name,
                    "estimate": e.estimate,
                    "low": e.ci_low,
                    "high": e.ci_high,
                    "n": e.n,
                    "rv": _fmt(e)["rv"],
                }
            )
    return plotted, missing


def _verdicts(side: dict[str, list[dict[str, Any]]]) -> dict[str, impact_verdict.Verdict]:
    """outcome -> the plain-language reading of its adjusted and DiD estimates together."""
    out = {}
    for outcome, pairs in side.items():
        found = {p["method"]: p for p in pairs if p["ok"]}
        intervals = {
            m: impact_verdict.Interval(p["estimate"], p["low"], p["high"], p["unit"])
            for m, p in found.items()
        }
        out[outcome] = impact_verdict.verdict(outcome, intervals.get("adjusted"), intervals.get("did"))
    return out


def _side_by_side(rows: list[AIImpactEstimate], outcome: str) -> list[dict[str, Any]]:
    labels = {
        "naive": "Naive difference",
        "adjusted": "Adjusted (headline)",
        "did": "Difference-in-differences",
    }
    found = {
        e.method: e for e in rows if e.scope == "organization" and e.outcome == outcome and e.rule == "any"
    }
    return [
        {
            "method": m,
            "label": labels[m],
            "estimate": found[m].estimate,
            "low": found[m].ci_low,
            "high": found[m].ci_high,
            **_fmt(found[m]),
        }
        for m in ("naive", "adjusted", "did")
        if m in found
    ]


def _adoption_series() -> charts.Series:
    """Cached under the newest snapshot row: every recompute replaces the rows, so it changes the key
    (counting a month of every engineer's adoption level takes 50-80 ms with 5,000 engineers)."""
    name = key("impact-adoption", queries.snapshots_version())
    return cache.get_or_set(name, _adoption_levels, ADOPTION_CACHE_SECONDS)


def _adoption_levels() -> charts.Series:
    """Organization by month: AI-assisted share of PRs, and shares of engineers by adoption level (from the
    person rows, aggregated here: no person is shown)."""
    data = dict(queries.snapshot_series(period="month", scope="organization", metrics=("ai_assisted_share",)))
    levels = (
        MetricSnapshot.objects.filter(scope="person", period="month", metric="ai_adoption_level")
        .values("period_start")
        .annotate(
            total=Count("id"),
            any=Count("id", filter=Q(value__gte=1)),
            regular=Count("id", filter=Q(value__gte=2)),
        )
        .order_by("period_start")
    )
    for row in levels:
        for metric, level in (("ai_adoption_any_share", "any"), ("ai_adoption_regular_share", "regular")):
            data.setdefault(metric, []).append((row["period_start"], row[level] / row["total"], row["total"]))
    return data


def _sum(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def window_start(latest: dt.date, months: int) -> dt.date:
    """The first day of the ``months``-month window ending with the month of ``latest``."""
    index = latest.year * 12 + latest.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


def roi_by_tool(since: dt.date) -> list[dict[str, Any]]:
    """Organization ROI per tool since ``since``.  Interval ends add up month by month: the measured ones
    all come from the same effect interval, so their sum is that interval applied to the whole window."""
    months: dict[str, list[AIRoiMonth]] = defaultdict(list)
    for row in AIRoiMonth.objects.filter(team__isnull=True, month__gte=since).order_by("month"):
        months[row.tool].append(row)
    tools = []
    for tool, rows in sorted(months.items()):
        total = {field: _sum([getattr(r, field) for r in rows]) for field in roi.FIGURES}
        tools.append(
            {
                "tool": tool,
                "ai_prs": sum(r.ai_prs for r in rows),
                "months": len(rows),
                **total,
                **_spend_total(rows, total),
                **_cost_parts(rows),
            }
        )
    return tools


def _cost_parts(rows: list[AIRoiMonth]) -> dict[str, Any]:
    """Issue 17: seat cost and usage cost over the window (each None when no month knows it), merged agent
    PRs and their cost per merged PR over the months with cost telemetry."""
    with_cost = [r for r in rows if r.agent_cost_per_merged_pr is not None and r.agent_merged_prs]
    agent_prs = sum(r.agent_merged_prs or 0 for r in with_cost)
    agent_cost = sum((r.agent_cost_per_merged_pr or 0.0) * (r.agent_merged_prs or 0) for r in with_cost)
    return {
        "seat_cost": _sum([r.seat_cost for r in rows]),
        "usage_cost": _sum([r.usage_cost for r in rows]),
        "agent_merged_prs": sum(r.agent_merged_prs or 0 for r in rows),
        "agent_cost_per_merged_pr": agent_cost / agent_prs if agent_prs else None,
    }


def _spend_total(rows: list[AIRoiMonth], total: dict[str, float | None]) -> dict[str, Any]:
    """Spend over the window, or None with the reason when a month's spend is unknown (a price and no
    seats): then the net values are unknown too, since a sum over the known months would overstate them."""
    unknown = [r for r in rows if r.spend is None]
    if not unknown:
        return {"spend": sum(r.spend or 0.0 for r in rows), "spend_note": "", "seats_known": True}
    for field in [f for f in total if f.endswith(("_net", "_net_low", "_net_high"))]:
        total[field] = None
    note = unknown[0].spend_note or "seats unknown"
    if len(unknown) < len(rows):
        note += f" for {len(unknown)} of {len(rows)} months"
    return {"spend": None, "spend_note": note, "seats_known": False, **total}


_NET_FIELDS = ("spend", *(f for f in roi.FIGURES if "_net" in f))


def roi_total(tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The all-tools row: each column summed over the tools that have it (a tool without survey answers adds
    no self-reported hours), except that an unknown spend (seats unknown) makes the spend and every net value
    unknown: a sum without that tool's spend would overstate the net value."""
    if len(tools) < 2:
        return None
    fields = [
        f
        for f in tools[0]
        if f.endswith(("_hours", "_hours_low", "_hours_high", "_net", "_net_low", "_net_high"))
    ]
    total: dict[str, Any] = {f: _sum([t[f] for t in tools]) for f in fields}
    unknown = [t["tool"] for t in tools if not t["seats_known"]]
    spends = [t["spend"] for t in tools]
    total["spend"] = None if unknown or None in spends else sum(spends)
    if total["spend"] is None:
        total.update(dict.fromkeys(_NET_FIELDS))
    total["spend_note"] = f"seats unknown for {', '.join(unknown)}" if unknown else ""
    return {"tool": "All tools", "ai_prs": sum(t["ai_prs"] for t in tools), **total}


def _page(window: str) -> dict[str, Any]:
    """Everything the page shows whoever looks: cached under the versions of the estimates, ROI rows, tools,
    team names and settings it reads, the newest snapshot row (the adoption chart) and the window."""
    version = data_version(AIImpactEstimate, AIRoiMonth, AITool, Team, Organization)
    name = key("impact-page", version, queries.snapshots_version(), window)
    return cache.get_or_set(name, lambda: _build_page(window), ADOPTION_CACHE_SECONDS)


def _window_text(since: dt.date) -> str:
    return "all history" if since == dt.date.min else f"since {since:%B %Y}"


def _window_since(window: str) -> dt.date:
    latest_roi = AIRoiMonth.objects.order_by("-month").values_list("month", flat=True).first()
    return window_start(latest_roi, int(window)) if latest_roi and window != "all" else dt.date.min


def _build_page(window: str = DEFAULT_WINDOW) -> dict[str, Any]:
    rows = list(AIImpactEstimate.objects.all())
    teams = dict(Team.objects.values_list("id", "name"))
    headline = {
        o: next(
            (
                _fmt(e)
                for e in rows
                if e.scope == "organization" and e.outcome == o and e.method == "adjusted" and e.rule == "any"
            ),
            None,
        )
        for o in OUTCOMES
    }
    coverage = next((e for e in rows if e.outcome == "detection_coverage"), None)
    since = _window_since(window)
    tools = roi_by_tool(since)
    forest = {}
    missing = {}
    for outcome, title in OUTCOMES.items():
        plotted, missing[outcome] = _forest_rows(rows, outcome, teams)
        unit = "percent_change" if outcome == "cycle_time" else "percentage_points"
        heading = f"{title}: AI-assisted vs other PRs, adjusted"
        spec = impact_charts.forest_chart(plotted, title=heading, unit=unit) if plotted else None
        forest[outcome] = display.chart_html(spec, f"chart-forest-{outcome}") if spec else None
    side = {o: _side_by_side(rows, o) for o in OUTCOMES}
    currency = AITool.objects.values_list("currency", flat=True).first() or "USD"
    adoption = {m: [r for r in rows if r[0] >= since] for m, rows in _adoption_series().items()}
    return {
        "has_estimates": bool(rows),
        "headline": headline,
        "coverage": _fmt(coverage) if coverage else None,
        "coverage_n": coverage.n if coverage else 0,
        "forest": forest,
        "missing": missing,
        "side": side,
        "verdicts": _verdicts(side),
        "side_charts": {
            o: display.chart_html(
                impact_charts.naive_adjusted_chart(
                    [p for p in side[o] if p["ok"]],
                    title=f"{OUTCOMES[o]}: naive vs adjusted",
                    unit="percent_change" if o == "cycle_time" else "percentage_points",
                ),
                f"chart-side-{o}",
            )
            for o in OUTCOMES
            if side[o]
        },
        "adoption": display.chart_html(
            charts.adoption_chart(adoption, title="AI adoption, whole organization"), "chart-adoption"
        )
        if adoption
        else None,
        "tools": tools,
        "total": roi_total(tools),
        "roi_chart": display.chart_html(
            impact_charts.roi_chart(
                tools, currency=currency, title=f"Net value ({currency}), {_window_text(since)}"
            ),
            "chart-roi",
        )
        if tools
        else None,
        "currency": currency,
        "knobs": org_settings(),
        "since": since if since != dt.date.min else None,
        "has_tool_costs": AITool.objects.exists(),
        "seats_unknown": [t["tool"] for t in tools if not t["seats_known"]],
    }


@login_required
@params.param_errors_are_400
def impact(request: HttpRequest) -> HttpResponse:
    access = request_access(request)
    window = params.choice(request.GET, "months", tuple(WINDOWS), DEFAULT_WINDOW)
    page = _page(window)
    since = page["since"]
    ai_prs = {"ai": "yes", "state": "merged", **({"merged_from": f"{since:%Y-%m-%d}"} if since else {})}
    context = {
        **page,
        "sees_money": access.sees_money,
        "plotly_js_url": plotly_url(),
        "window": window,
        "windows": [(w, text, f"?{urlencode({'months': w})}") for w, text in WINDOWS.items()],
        "ai_prs_url": f"{reverse('web:prs')}?{urlencode(ai_prs)}",
        # Issue 17: agent PRs, dose-response, reviewer time, throughput (stored estimates and snapshot rows).
        "class_effects": review_agents.class_effects(sees_money=access.sees_money, currency=page["currency"]),
        "ra": review_agents.summary(None, floored=not access.sees_all_people, sees_money=access.sees_money),
    }
    return render(request, "dashboards/impact.html", context)
