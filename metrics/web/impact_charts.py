"""Chart specs of the AI impact page (forest plot, naive vs adjusted, ROI per tool): plotly.js JSON, no
Django; see ``metrics.web.charts`` for the shared layout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metrics.web.charts import BLUE, GREEN, INK, MUTED, SLATE, Spec, error_bars, layout


def _rv_text(rv: float | None) -> str:
    """The robustness value in the hover: how strong a hidden confounder would have to be."""
    return "" if rv is None else f"· robustness {rv:.0%} (a hidden factor must explain this much to erase it)"


def forest_chart(rows: Sequence[dict[str, Any]], *, title: str, unit: str) -> Spec:
    """Effect estimates with 95% intervals, one row each (``label``, ``estimate``, ``low``, ``high``,
    ``headline``); a vertical line marks "no difference"."""
    ordered = list(reversed(rows))  # plotly draws the first category at the bottom
    suffix = "%" if unit == "percent_change" else " pp"
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "y": [r["label"] for r in ordered],
            "x": [r["estimate"] for r in ordered],
            "error_x": error_bars(
                [r["estimate"] for r in ordered],
                [r["low"] for r in ordered],
                [r["high"] for r in ordered],
                color=SLATE,
                thickness=2,
                width=4,
            ),
            "marker": {
                "size": [11 if r.get("headline") else 8 for r in ordered],
                "symbol": "square",
                "color": [BLUE if r.get("headline") else INK for r in ordered],
            },
            "customdata": [[r["low"], r["high"], r.get("n", ""), _rv_text(r.get("rv"))] for r in ordered],
            "hovertemplate": f"%{{x:+.1f}}{suffix} [%{{customdata[0]:+.1f}}, %{{customdata[1]:+.1f}}]"
            " %{customdata[3]}"
            "<extra>%{y}</extra>",
            "showlegend": False,
        }
    ]
    spec = layout(title, "", empty=not rows, height=max(180, 70 + 34 * len(rows)), hovermode="closest")
    spec["xaxis"].update(
        {
            "title": {
                "text": "% change in cycle time" if unit == "percent_change" else "percentage points",
                "font": {"size": 11, "color": MUTED},
            },
            "zeroline": True,
            "zerolinecolor": MUTED,
            "zerolinewidth": 1.5,
            "ticksuffix": suffix,
            "nticks": 5,  # a handful of ticks: more collided on a phone
            "tickangle": 0,
        }
    )
    labels = [r["label"] for r in ordered]
    # A long label on two lines: on one line it left the x axis too little room for its ticks at 390 px.
    spec["yaxis"].update(
        {
            "rangemode": "normal",
            "automargin": True,
            "title": {"text": ""},
            "tickvals": labels,
            "ticktext": [label.replace(", ", ",<br>") for label in labels],
        }
    )
    spec["margin"].update({"l": 12, "b": 44})
    return {"data": data, "layout": spec}


def naive_adjusted_chart(pairs: Sequence[dict[str, Any]], *, title: str, unit: str) -> Spec:
    """Naive and adjusted (and DiD) estimates side by side with their intervals, per method."""
    suffix = "%" if unit == "percent_change" else " pp"
    colors = {"naive": SLATE, "adjusted": BLUE, "did": GREEN}
    data = []
    for p in pairs:
        data.append(
            {
                "type": "bar",
                "name": p["label"],
                "x": [p["label"]],
                "y": [p["estimate"]],
                "marker": {"color": colors.get(p["method"], INK)},
                "error_y": error_bars([p["estimate"]], [p["low"]], [p["high"]], color=INK, thickness=1.5),
                "hovertemplate": f"%{{y:+.1f}}{suffix} [{p['low']:+.1f}, {p['high']:+.1f}]<extra></extra>",
                "showlegend": False,
            }
        )
    spec = layout(
        title,
        "% change" if unit == "percent_change" else "percentage points",
        empty=not pairs,
        hovermode="closest",
    )
    spec["yaxis"].update(
        {"rangemode": "normal", "zeroline": True, "zerolinecolor": MUTED, "ticksuffix": suffix}
    )
    return {"data": data, "layout": spec}


def roi_chart(
    tools: Sequence[dict[str, Any]], *, currency: str, title: str = "Net value per tool, last 12 months"
) -> Spec:
    """Net value per tool (measured estimate) with its interval, and spend, over the window."""
    names = [t["tool"] for t in tools]
    measured = [t["measured_net"] for t in tools]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": names,
            "x": measured,
            "name": "net value (measured)",
            "marker": {"color": GREEN},
            "error_x": error_bars(
                measured,
                [t["measured_net_low"] for t in tools],
                [t["measured_net_high"] for t in tools],
                color=INK,
            ),
            "hovertemplate": f"%{{x:,.0f}} {currency}<extra>net value (measured)</extra>",
        },
        {
            "type": "bar",
            "orientation": "h",
            "y": names,
            "x": [t["spend"] for t in tools],
            "name": "spend",
            "marker": {"color": SLATE},
            "hovertemplate": f"%{{x:,.0f}} {currency}<extra>spend</extra>",
        },
    ]
    spec = layout(
        title,
        currency,
        empty=not tools,
        height=max(200, 110 + 60 * len(tools)),
        barmode="group",
        hovermode="closest",
    )
    # The legend under the plot: beside the title it overlapped it at 390 px.  The title names the currency
    # instead of an axis title that would sit under the legend.
    spec["legend"].update({"y": -0.16, "yanchor": "top", "x": 0, "xanchor": "left"})
    spec["margin"].update({"b": 60})
    spec["xaxis"].update(
        {
            "title": {"text": ""},
            "tickformat": "~s",
            "tickangle": 0,
            "nticks": 5,
            "zeroline": True,
            "zerolinecolor": MUTED,
        }
    )
    spec["yaxis"].update({"rangemode": "normal", "title": {"text": ""}})
    return {"data": data, "layout": spec}
