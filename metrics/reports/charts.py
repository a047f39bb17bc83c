"""Pure chart builders: long-format metric frames -> plotly Figures.  No Django imports.

Every builder takes a frame with the columns

- ``period_start``: date, datetime or ISO string; the first day of the week or month,
- ``metric``: metric name as materialized in ``MetricSnapshot`` (``cycle_time_p50``, ``revert_rate``, ...),
- ``value``: float, may be NaN/None (no data for that period: drawn as a gap, never as zero),
- ``n``: int, the number of PRs (or engineers) behind the value, shown on hover,

and ignores metrics it does not draw, so one frame with all of a team's metrics feeds every chart.
Units: hours for times, 0..1 for shares (drawn as percentages), counts for merged PRs.
A frame without rows for the chart still gives a figure, annotated "No data".

``render`` turns a figure into an HTML fragment that expects plotly.js to be loaded by the page.
"""
from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

COLUMNS = ("period_start", "metric", "value", "n")

INK = "#1f2937"
BLUE = "#2563eb"
BLUE_LIGHT = "#93c5fd"
BLUE_PALE = "#bfdbfe"
GREEN = "#059669"
RED = "#dc2626"
VIOLET = "#7c3aed"


def _series(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows of one metric, sorted by period, with a datetime ``period_start`` and a float ``value``."""
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"chart frame is missing column(s): {', '.join(missing)}")
    rows = frame.loc[frame["metric"] == metric, ["period_start", "value", "n"]]
    rows = rows.assign(
        period_start=pd.to_datetime(rows["period_start"]),
        value=pd.to_numeric(rows["value"], errors="coerce"),
        n=pd.to_numeric(rows["n"], errors="coerce").fillna(0).astype(int),
    )
    return rows.sort_values("period_start")


def _line(rows: pd.DataFrame, *, name: str, color: str, unit: str, width: float = 2.0,
          dash: str | None = None) -> go.Scatter:
    value_format = "%{y:.1%}" if unit == "%" else "%{y:.1f}" + unit
    return go.Scatter(
        x=rows["period_start"],
        y=rows["value"],
        customdata=rows["n"],
        name=name,
        mode="lines+markers",
        connectgaps=False,
        line={"color": color, "width": width, "dash": dash},
        marker={"size": 5},
        hovertemplate=f"{value_format} (n=%{{customdata}})<extra>{name}</extra>",
    )


def _has_values(*series: pd.DataFrame) -> bool:
    return any(rows["value"].notna().any() for rows in series)


def _layout(fig: go.Figure, *, title: str, yaxis_title: str, empty: bool, percent: bool = False) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15, "color": INK}},
        template="plotly_white",
        height=320,
        margin={"l": 56, "r": 24, "t": 48, "b": 40},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        hovermode="x unified",
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
    )
    fig.update_yaxes(title_text=yaxis_title, rangemode="tozero", tickformat=".0%" if percent else None)
    if empty:
        fig.add_annotation(
            text="No data for this period", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
            font={"size": 14, "color": "#6b7280"},
        )
    return fig


def cycle_time_chart(frame: pd.DataFrame) -> go.Figure:
    """PR cycle time p50/p75/p90 in hours per period: three lines, the median drawn boldest."""
    lines = (
        ("cycle_time_p90", "p90", BLUE_PALE, 1.5),
        ("cycle_time_p75", "p75", BLUE_LIGHT, 1.5),
        ("cycle_time_p50", "p50", BLUE, 3.0),
    )
    series = [_series(frame, metric) for metric, *_ in lines]
    fig = go.Figure()
    for rows, (_, name, color, width) in zip(series, lines, strict=True):
        fig.add_trace(_line(rows, name=name, color=color, unit=" h", width=width))
    return _layout(fig, title="Cycle time (first commit → merge)", yaxis_title="hours",
                   empty=not _has_values(*series))


def throughput_chart(frame: pd.DataFrame) -> go.Figure:
    """Merged PRs per period as bars, merged PRs per active engineer as a line on a second axis."""
    merged = _series(frame, "merged_prs")
    per_engineer = _series(frame, "throughput_per_engineer")
    fig = go.Figure()
    fig.add_trace(go.Bar(
        x=merged["period_start"], y=merged["value"], name="merged PRs", marker_color=BLUE_LIGHT,
        hovertemplate="%{y:.0f} merged PRs<extra></extra>",
    ))
    line = _line(per_engineer, name="per engineer", color=GREEN, unit="")
    line.update(yaxis="y2", hovertemplate="%{y:.2f} per engineer (n=%{customdata} engineers)<extra></extra>")
    fig.add_trace(line)
    fig.update_layout(yaxis2={"title": {"text": "PRs per engineer"}, "overlaying": "y", "side": "right",
                              "rangemode": "tozero", "showgrid": False})
    return _layout(fig, title="Throughput", yaxis_title="merged PRs",
                   empty=not _has_values(merged, per_engineer))


def revert_rate_chart(frame: pd.DataFrame) -> go.Figure:
    """Share of merged PRs later reverted, per merge period (n = merged PRs)."""
    rows = _series(frame, "revert_rate")
    fig = go.Figure(_line(rows, name="revert rate", color=RED, unit="%"))
    return _layout(fig, title="Revert rate", yaxis_title="of merged PRs", percent=True,
                   empty=not _has_values(rows))


def ai_share_chart(frame: pd.DataFrame) -> go.Figure:
    """Share of merged PRs with evidence of AI assistance (a lower bound: trailers are optional)."""
    rows = _series(frame, "ai_assisted_share")
    fig = go.Figure(_line(rows, name="AI-assisted", color=VIOLET, unit="%"))
    fig.update_traces(fill="tozeroy", fillcolor="rgba(124, 58, 237, 0.12)")
    return _layout(fig, title="AI-assisted PRs", yaxis_title="of merged PRs", percent=True,
                   empty=not _has_values(rows))


def render(fig: go.Figure, *, div_id: str) -> str:
    """An HTML fragment for a page that loads plotly.js and static/web/sextant.js: a placeholder and the
    figure as a JSON data block (``type="application/json"``: never executed, so the CSP needs no
    'unsafe-inline' script), which sextant.js draws with ``Plotly.newPlot``."""
    data = fig.to_json().replace("&", "\\u0026").replace("<", "\\u003C").replace(">", "\\u003E")
    name = html.escape(div_id, quote=True)
    return (f'<div class="chart" id="{name}" data-chart="{name}-spec" style="min-height: 320px"></div>'
            f'<script id="{name}-spec" type="application/json">{data}</script>')
