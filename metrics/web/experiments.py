"""Experiments: planned AI rollouts.  Everyone reads the (aggregate) results; admins plan, freeze and
revise, and download the assignment list (names) for whoever hands out the licences.  The page reads the
stored plan and ``ExperimentResult``; it recomputes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from metrics.analytics import experiments as ex
from metrics.core.models import Team
from metrics.ingestion import experiments as service
from metrics.ingestion.models import Experiment, ExperimentPlan, FrozenPlanError
from metrics.ingestion.recompute import recompute_request
from metrics.web import display
from metrics.web.access import request_access
from metrics.web.charts import BLUE, GRID, MUTED, SLATE, error_bars, layout
from metrics.web.views import plotly_url


def planners_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login required, then ``Access.plans_experiments`` (else a 403 page that says who may)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request_access(request).plans_experiments:
            context = {"title": "Not allowed", "message": "Only admins plan, freeze and revise experiments."}
            return render(request, "dashboards/error.html", context, status=403)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


DEFAULT_WEEKS = 12


def _effects(result: Any) -> list[dict[str, Any]]:
    if result is None:
        return []
    rows = []
    for e in result.data.get("effects", []):
        shown = e.get("shown") or {}
        unit = {"percent_change": "%", "percentage_points": " pp"}.get(e["unit"], " PRs/wk")
        ok = e["status"] == "ok"
        rows.append(
            {
                **e,
                "label": ex.OUTCOME_LABELS.get(e["outcome"], e["outcome"]),
                "method_label": {
                    "itt": "Intent to treat (everyone assigned)",
                    "iv": "Effect on users (assignment as instrument)",
                    "staggered": "Staggered waves (group-time effects aggregated)",
                }.get(e["method"], e["method"]),
                "text": f"{shown['estimate']:+.1f}{unit}" if ok else e["status"],
                "interval": f"[{shown['ci_low']:+.1f}{unit}, {shown['ci_high']:+.1f}{unit}]" if ok else "",
            }
        )
    return rows


def event_study_chart(rows: list[dict[str, Any]], *, title: str) -> dict[str, Any]:
    """Weeks since the wave started vs effect (% change in cycle time) with 95% intervals; week -1 is the
    base (zero by construction)."""
    x = [r["event"] for r in rows]
    y = [r["shown_estimate"] for r in rows]
    data = [
        {
            "type": "scatter",
            "mode": "markers+lines",
            "x": x,
            "y": y,
            "line": {"color": BLUE, "width": 1.5},
            "marker": {"size": 7, "color": [SLATE if e < 0 else BLUE for e in x]},
            "error_y": error_bars(
                y,
                [r["shown_ci_low"] for r in rows],
                [r["shown_ci_high"] for r in rows],
                color=SLATE,
                thickness=1.5,
                width=3,
            ),
            "customdata": [r.get("n", 0) for r in rows],
            "hovertemplate": "week %{x}: %{y:+.1f}% (n=%{customdata})<extra></extra>",
            "showlegend": False,
        }
    ]
    spec = layout(title, "% change in cycle time", empty=not rows, hovermode="closest")
    spec["yaxis"].update({"rangemode": "normal", "zeroline": True, "zerolinecolor": MUTED, "ticksuffix": "%"})
    spec["xaxis"].update({"title": {"text": "weeks since the wave got the tool", "font": {"size": 11}}})
    spec["shapes"] = [
        {"type": "line", "x0": -0.5, "x1": -0.5, "yref": "paper", "y0": 0, "y1": 1, "line": {"color": GRID}}
    ]
    return {"data": data, "layout": spec}


def compliance_chart(weekly: list[dict[str, Any]]) -> dict[str, Any]:
    x = [w["week"] for w in weekly]
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": x,
            "y": [w.get(f"{group}_used") for w in weekly],
            "name": name,
            "line": {"color": color, "width": 2},
            "marker": {"size": 4},
            "connectgaps": False,
            "hovertemplate": "%{y:.0%}<extra>" + name + "</extra>",
        }
        for group, name, color in (
            ("with_tool", "given the tool: used it", BLUE),
            ("without_tool", "not (yet) given it: used it anyway", SLATE),
        )
    ]
    empty = not any(w.get("with_tool_used") is not None for w in weekly)
    return {
        "data": data,
        "layout": layout("Compliance per week", "share of people", empty=empty, percent=True),
    }


def _plan_view(plan: ExperimentPlan | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    content = plan.content
    power = _power_grid(plan.power)
    return {
        "plan": plan,
        "content": content,
        "intact": service.plan_intact(plan),
        "outcome_labels": [ex.OUTCOME_LABELS.get(o, o) for o in content.get("outcomes", [])],
        "power": power,
        "people": len(content.get("people", [])),
        "teams": Team.objects.filter(pk__in=content.get("eligible_team_ids", [])).order_by("name"),
    }


def _mde_text(outcome: str, value: float | None) -> str:
    if value is None:
        return "not enough data"
    if outcome == "cycle_time":
        return f"{value:.0f}% faster"
    if outcome == "revert_rate":
        return f"{value:.1f} pp"
    return f"{value:.2f} PRs/wk"


def _power_grid(power: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The power table as outcome x units enrolled (rows) by duration in weeks (columns)."""
    rows = [r for r in power if r.get("weeks") is not None]
    if not rows:
        return None
    weeks = sorted({r["weeks"] for r in rows})
    cells: dict[tuple[str, int], dict[int, str]] = {}
    for r in rows:
        cells.setdefault((r["outcome"], r["units"]), {})[r["weeks"]] = _mde_text(
            r["outcome"], r.get("mde_shown")
        )
    order = {o: i for i, o in enumerate(ex.OUTCOMES)}
    grid = [
        {
            "label": ex.OUTCOME_LABELS.get(o, o),
            "units": units,
            "cells": [(w, by_week.get(w, "")) for w in weeks],
        }
        for (o, units), by_week in sorted(cells.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][1]))
        if units > 0
    ]
    return {"weeks": weeks, "rows": grid}


@login_required
def experiment_list(request: HttpRequest) -> HttpResponse:
    experiments = Experiment.objects.prefetch_related("plans").select_related("result")
    rows = [
        {"e": e, "plan": e.frozen_plan(), "draft": e.plans.filter(frozen_at__isnull=True).exists()}
        for e in experiments
    ]
    context = {"rows": rows, "section": "impact", "teams": Team.objects.order_by("name")}
    context["defaults"] = _defaults()
    return render(request, "experiments/list.html", context)


def _defaults() -> dict[str, str]:
    start = dt.date.today() + dt.timedelta(days=14)  # noqa: DTZ011 - a form default, the user's calendar
    return {"start": start.isoformat(), "end": (start + dt.timedelta(weeks=DEFAULT_WEEKS)).isoformat()}


def _parse_dates(text: str) -> list[dt.date]:
    try:
        return [
            dt.date.fromisoformat(part.strip()) for part in text.replace(";", ",").split(",") if part.strip()
        ]
    except ValueError as exc:
        raise service.PlanError(f"dates must be YYYY-MM-DD: {exc}") from exc


@planners_only
@require_POST
def experiment_create(request: HttpRequest) -> HttpResponse:
    post = request.POST
    try:
        end = _parse_dates(post.get("end", ""))
        seed_text = post.get("seed", "").strip()
        if seed_text and not seed_text.isdigit():
            raise service.PlanError("the seed must be a whole number (or empty: drawn at random)")
        plan = service.plan_create(
            name=post.get("name", ""),
            tool=post.get("tool", ""),
            unit=post.get("unit", ""),
            design=post.get("design", ""),
            team_ids=[int(t) for t in post.getlist("teams") if t.isdigit()],
            waves=_parse_dates(post.get("waves", "")),
            end=end[0] if end else dt.date.min,
            outcomes=post.getlist("outcomes"),
            seed=int(seed_text) if seed_text else None,
        )
    except service.PlanError as exc:
        context = {"title": "The plan was not saved", "message": str(exc)}
        return render(request, "dashboards/error.html", context, status=400)
    return redirect("web:experiment", pk=plan.experiment_id)


@login_required
def experiment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    access = request_access(request)
    plans = list(experiment.plans.order_by("version"))
    ruling = experiment.frozen_plan()
    draft = next((p for p in plans if not p.is_frozen), None)
    result = getattr(experiment, "result", None)
    data = result.data if result is not None else {}
    charts = {}
    for outcome, rows in (data.get("event_study") or {}).items():
        if outcome == "cycle_time" and rows:
            title = "Event study: cycle time"
            charts["event"] = display.chart_html(event_study_chart(rows, title=title), "chart-event-study")
    if data.get("weekly"):
        charts["compliance"] = display.chart_html(compliance_chart(data["weekly"]), "chart-compliance")
    context = {
        "experiment": experiment,
        "plans": [_plan_view(p) for p in reversed(plans)],
        "ruling": _plan_view(ruling),
        "draft": _plan_view(draft) if ruling is None else None,
        "result": result,
        "data": data,
        "effects": _effects(result),
        "charts": charts,
        "weekly": data.get("weekly", []),
        "is_admin": access.plans_experiments,
        "section": "impact",
        "plotly_js_url": plotly_url(),
        "all_outcomes": [(o, ex.OUTCOME_LABELS[o]) for o in ex.OUTCOMES],
    }
    return render(request, "experiments/detail.html", context)


def _refused(message: str, status: int = 409) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@planners_only
@require_POST
def experiment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a draft's outcomes or end.  A frozen plan answers 409: a changed analysis is a revision."""
    experiment = get_object_or_404(Experiment, pk=pk)
    plan = experiment.plans.order_by("-version").first()
    if plan is None or plan.is_frozen:
        return _refused("This plan is frozen and cannot be edited; revise it into a new version instead.")
    content = dict(plan.content)
    if request.POST.getlist("outcomes"):
        content["outcomes"] = request.POST.getlist("outcomes")
    try:
        if request.POST.get("end"):
            content["end"] = _parse_dates(request.POST["end"])[0].isoformat()
        service.validate(content)
    except service.PlanError as exc:
        return _refused(str(exc), status=400)
    plan.content = content
    plan.power = service.power_for(content)
    plan.save()
    return redirect("web:experiment", pk=pk)


@planners_only
@require_POST
def experiment_freeze(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    plan = experiment.plans.filter(frozen_at__isnull=True).order_by("-version").first()
    if plan is None:
        return _refused("Nothing to freeze: the plan is already frozen.")
    try:
        service.plan_freeze(plan)
    except (service.PlanError, FrozenPlanError) as exc:
        return _refused(str(exc), status=400)
    recompute_request(reason=f"experiment {pk} frozen", part="ai_impact")
    return redirect("web:experiment", pk=pk)


@planners_only
@require_POST
def experiment_revise(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    try:
        service.plan_revise(
            experiment, outcomes=request.POST.getlist("outcomes"), reason=request.POST.get("reason", "")
        )
    except service.PlanError as exc:
        return _refused(str(exc), status=400)
    recompute_request(reason=f"experiment {pk} revised", part="ai_impact")
    return redirect("web:experiment", pk=pk)
