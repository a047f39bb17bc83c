"""Chart specs for the pages: plain plotly.js JSON (``{"data": [...], "layout": {...}}``), no Django.

Building dicts instead of ``plotly.graph_objects`` figures (or going through pandas) keeps a dashboard
with eight charts within a few milliseconds; plotly.js draws them in the browser (``static/web/sextant.js``).
Inputs are ``Series``: metric name -> ``[(period_start, value, n), ...]`` sorted by period, as from
``metrics.web.queries.snapshot_series``; a missing value (None or NaN) is a gap, never a zero.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from metrics.analytics import catalog

INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#eef0f3"
BLUE = "#2563eb"
BLUE_LIGHT = "#93c5fd"
BLUE_PALE = "rgba(37, 99, 235, 0.14)"
GREEN = "#059669"
RED = "#dc2626"
AMBER = "#d97706"
VIOLET = "#7c3aed"
VIOLET_LIGHT = "#c4b5fd"
SLATE = "#94a3b8"
PHASE_COLORS = {
    "coding": "#60a5fa",
    "draft": "#cbd5e1",
    "pickup": "#f59e0b",
    "rework": "#a78bfa",
    "merge_wait": "#34d399",
}
# (mean metric, label, colour) of each stacked part, in PR order: the explorer's timeline with the draft
# time (opened -> ready, which pickup excludes) after coding; the parts add up to phase_mean_cycle.
_ORDER = ("coding", "draft", "pickup", "rework", "merge_wait")
PHASES = tuple(
    (f"phase_mean_{key}", catalog.PHASE[key].label if key in catalog.PHASE else "draft", PHASE_COLORS[key])
    for key in _ORDER
)
Spec = dict[str, Any]
Series = Mapping[str, Sequence[tuple[dt.date, float | None, int]]]


def error_bars(
    estimates: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    **style: Any,
) -> dict[str, Any]:
    """Plotly's asymmetric error bars (``error_x``/``error_y``) for estimates with their interval bounds; an
    unknown figure counts as 0.  ``style``: color, thickness, width."""

    def gap(a: float | None, b: float | None) -> float:
        return (a if a is not None else 0) - (b if b is not None else 0)

    return {
        "type": "data",
        "symmetric": False,
        "array": [gap(h, e) for e, h in zip(estimates, highs, strict=True)],
        "arrayminus": [gap(e, lo) for e, lo in zip(estimates, lows, strict=True)],
        **style,
    }


def _clean(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def series(data: Series, metric: str) -> tuple[list[str], list[float | None], list[int]]:
    """(x as ISO dates, y with None for gaps, n) of one metric, by period."""
    rows = data.get(metric, ())
    return [d.isoformat() for d, _, _ in rows], [_clean(v) for _, v, _ in rows], [int(n) for _, _, n in rows]


def _has_values(*ys: Sequence[float | None]) -> bool:
    return any(v is not None for y in ys for v in y)


def layout(title: str, y_title: str, *, empty: bool, percent: bool = False, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15, "color": INK}},
        "height": 300,
        "margin": {"l": 52, "r": 16, "t": 44, "b": 36},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {
            "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
            "size": 12,
            "color": INK,
        },
        # "normal": plotly reverses the legend of charts with filled areas unless told otherwise.
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": -0.14,
            "xanchor": "left",
            "yanchor": "top",
            "font": {"size": 11},
            "traceorder": "normal",
        },
        "hovermode": "x unified",
        "xaxis": {"gridcolor": GRID, "linecolor": GRID, "automargin": True},
        "yaxis": {
            "title": {"text": y_title, "font": {"size": 11, "color": MUTED}},
            "gridcolor": GRID,
            "rangemode": "tozero",
            "zerolinecolor": GRID,
            "automargin": True,
            **({"tickformat": ".0%"} if percent else {}),
        },
    }
    if empty:
        spec["annotations"] = [
            {
                "text": "No data for this period",
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "font": {"size": 14, "color": MUTED},
            }
        ]
        spec["xaxis"]["visible"] = False
        spec["yaxis"]["visible"] = False
    spec.update(extra)
    return spec


def line(
    x: list[str],
    y: list[float | None],
    n: list[int],
    *,
    name: str,
    color: str,
    unit: str,
    width: float = 2.0,
    dash: str = "solid",
    **extra: Any,
) -> dict[str, Any]:
    value = "%{y:.1%}" if unit == "%" else "%{y:,.1f}" + unit
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "x": x,
        "y": y,
        "customdata": n,
        "name": name,
        "line": {"color": color, "width": width, "dash": dash},
        "marker": {"size": 4},
        "connectgaps": False,
        "hovertemplate": f"{value} (n=%{{customdata}})<extra>{name}</extra>",
        **extra,
    }


def cycle_phases_chart(frame: Series) -> Spec:
    """Mean hours of each phase over the same PRs, stacked: the stack's top is their mean cycle time
    (drawn as a line to show it); the median cycle time of all merged PRs is a separate dashed line."""
    data = []
    ys = []
    for metric, name, color in PHASES:
        x, y, n = series(frame, metric)
        if not _has_values(y):
            continue
        ys.append(y)
        data.append(
            {
                "type": "bar",
                "x": x,
                "y": y,
                "customdata": n,
                "name": name,
                "marker": {"color": color},
                "hovertemplate": f"%{{y:.1f}} h mean (n=%{{customdata}})<extra>{name}</extra>",
            }
        )
    x, y, n = series(frame, "phase_mean_cycle")
    data.append(line(x, y, n, name="mean cycle time (= stack)", color=INK, unit=" h", width=2.5))
    mx, my, mn = series(frame, "cycle_time_p50")
    data.append(line(mx, my, mn, name="median cycle time", color=MUTED, unit=" h", width=1.5, dash="dot"))
    return {
        "data": data,
        "layout": layout(
            "Where the time goes (mean hours per phase)",
            "hours",
            empty=not _has_values(y, my, *ys),
            barmode="stack",
            bargap=0.25,
        ),
    }


def cycle_band_chart(frame: Series) -> Spec:
    """Cycle time p50 with the p50-p90 band shaded and p75 dashed."""
    x90, y90, n90 = series(frame, "cycle_time_p90")
    x50, y50, n50 = series(frame, "cycle_time_p50")
    x75, y75, n75 = series(frame, "cycle_time_p75")
    data = [
        line(x90, y90, n90, name="p90", color=BLUE_LIGHT, unit=" h", width=1, legendrank=3),
        line(
            x50,
            y50,
            n50,
            name="p50 (shaded to p90)",
            color=BLUE,
            unit=" h",
            width=3,
            fill="tonexty",
            fillcolor=BLUE_PALE,
            legendrank=1,
        ),
        line(x75, y75, n75, name="p75", color=BLUE, unit=" h", width=1.5, dash="dot", legendrank=2),
    ]
    return {
        "data": data,
        "layout": layout(
            "Cycle time (first commit → merge): p50, p75, p90", "hours", empty=not _has_values(y50, y75, y90)
        ),
    }


def _right_axis(spec: dict[str, Any], title: str, *, tickformat: str) -> None:
    """A second y axis on the right, its ticks aligned with the left one's, for a second unit."""
    spec["yaxis2"] = {
        "title": {"text": title, "font": {"size": 11, "color": MUTED}},
        "overlaying": "y",
        "side": "right",
        "rangemode": "tozero",
        "showgrid": False,
        "tickmode": "sync",
        "tickformat": tickformat,
    }
    spec["margin"]["r"] = 48


def throughput_chart(frame: Series) -> Spec:
    x, merged, _ = series(frame, "merged_prs")
    xe, per, ne = series(frame, "throughput_per_engineer")
    data = [
        {
            "type": "bar",
            "x": x,
            "y": merged,
            "name": "merged PRs",
            "marker": {"color": BLUE_LIGHT},
            "hovertemplate": "%{y:.0f} merged PRs<extra></extra>",
        },
        {
            **line(xe, per, ne, name="per engineer", color=GREEN, unit=""),
            "yaxis": "y2",
            "hovertemplate": "%{y:.2f} per engineer (%{customdata} engineers)<extra></extra>",
        },
    ]
    spec = layout("Throughput", "merged PRs", empty=not _has_values(merged, per))
    _right_axis(spec, "per engineer", tickformat=".1f")
    return {"data": data, "layout": spec}


def pr_size_chart(frame: Series) -> Spec:
    traces = []
    ys = []
    for metric, name, color, width in (
        ("pr_size_p50", "p50", BLUE, 3.0),
        ("pr_size_p75", "p75", BLUE_LIGHT, 1.5),
        ("pr_size_p90", "p90", BLUE_LIGHT, 1.5),
    ):
        x, y, n = series(frame, metric)
        ys.append(y)
        traces.append(
            line(
                x,
                y,
                n,
                name=name,
                color=color,
                unit=" lines",
                width=width,
                dash="dot" if name == "p75" else "solid",
            )
        )
    return {"data": traces, "layout": layout("PR size (lines changed)", "lines", empty=not _has_values(*ys))}


def revert_chart(frame: Series) -> Spec:
    x, rate, n = series(frame, "revert_rate")
    xt, ttr, nt = series(frame, "time_to_revert_p50")
    data = [
        line(x, rate, n, name="revert rate", color=RED, unit="%"),
        {
            "type": "bar",
            "x": xt,
            "y": ttr,
            "customdata": nt,
            "name": "time to revert p50",
            "yaxis": "y2",
            "marker": {"color": "rgba(220, 38, 38, 0.18)"},
            "hovertemplate": "%{y:.1f} h to revert (n=%{customdata})<extra></extra>",
        },
    ]
    spec = layout(
        "Revert rate and time to revert", "of merged PRs", percent=True, empty=not _has_values(rate, ttr)
    )
    _right_axis(spec, "hours to revert", tickformat=",.0f")
    return {"data": data, "layout": spec}


def adoption_chart(frame: Series, *, title: str = "AI adoption") -> Spec:
    x, share, n = series(frame, "ai_assisted_share")
    xa, anyone, na = series(frame, "ai_adoption_any_share")
    xr, regular, nr = series(frame, "ai_adoption_regular_share")
    data = [
        {
            **line(x, share, n, name="AI-assisted PRs", color=VIOLET, unit="%"),
            "fill": "tozeroy",
            "fillcolor": "rgba(124, 58, 237, 0.10)",
        },
        line(xa, anyone, na, name="engineers using AI", color=VIOLET_LIGHT, unit="%", dash="dot"),
        line(xr, regular, nr, name="regular AI users", color=AMBER, unit="%", width=1.5),
    ]
    return {
        "data": data,
        "layout": layout(title, "share", percent=True, empty=not _has_values(share, anyone, regular)),
    }


def satisfaction_chart(points: Sequence[dict[str, Any]]) -> Spec:
    """Per survey round (oldest first): ``name``, ``overall``/``ease`` (None = hidden by the floor), ``n``."""
    names = [p["name"] for p in points]
    data = []
    for key, name, color in (("overall", "satisfaction", BLUE), ("ease", "ease of shipping", GREEN)):
        values = [p[key] for p in points]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": names,
                "y": values,
                "name": name,
                "customdata": [p["n"] for p in points],
                "line": {"color": color, "width": 2},
                "connectgaps": False,
                "hovertemplate": f"%{{y:.2f}} (n=%{{customdata}})<extra>{name}</extra>",
            }
        )
    spec = layout(
        "Satisfaction by survey round",
        "mean (1-5)",
        empty=not _has_values(*[[p[k] for p in points] for k in ("overall", "ease")]),
    )
    spec["yaxis"].update({"range": [1, 5], "rangemode": "normal"})
    spec["xaxis"]["type"] = "category"
    return {"data": data, "layout": spec}
