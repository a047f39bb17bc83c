"""Static chart images for the PDF (SVG, vector) and the e-mail (PNG).  Pure matplotlib, no Django.

The interactive pages use plotly (``charts.py``); a report must be a self-contained file, and plotly's
image export needs a browser download (kaleido), so reports draw with matplotlib's Agg and SVG
backends, without pyplot (no global state: safe in a threaded worker).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # never a GUI backend, even if a display is set

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
BLUE = "#2563eb"
BLUE_LIGHT = "#bfdbfe"
RED = "#dc2626"
VIOLET = "#7c3aed"
GREEN = "#059669"
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.edgecolor": GRID,
    "axes.labelcolor": MUTED,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",  # text stays text: crisp, and searchable in the PDF
    "svg.hashsalt": "sextant",  # stable ids: the same data gives the same file
}
WIDTH_IN, HEIGHT_IN = 3.5, 1.9


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str
    png: bytes
    alt: str


def _render(fig: Figure, title: str, alt: str) -> Chart:
    svg = io.StringIO()
    fig.savefig(svg, format="svg", metadata={"Date": None})
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=150)
    text = svg.getvalue()
    return Chart(title=title, svg=text[text.index("<svg") :], png=png.getvalue(), alt=alt)


def _axes(title: str) -> tuple[Figure, object]:
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, loc="left", fontsize=9, color=INK, fontweight="bold")
    ax.grid(axis="y", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(length=0)
    return fig, ax


def _values(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def trend_chart(
    *,
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    formatter: Callable[[float], str],
    kind: str = "line",
    color: str = BLUE,
) -> Chart:
    """One KPI over the last base periods; the last one (the report's period) is emphasised.

    ``kind`` is ``line`` (gaps where a value is missing, never zero) or ``bar``.
    """
    with matplotlib.rc_context(STYLE):
        fig, ax = _axes(title)
        xs = list(range(len(labels)))
        ys = _values(values)
        if kind == "bar":
            colors = [BLUE_LIGHT] * (len(xs) - 1) + [color]
            ax.bar(xs, [0 if math.isnan(y) else y for y in ys], color=colors, width=0.7)
        else:
            ax.plot(xs, ys, color=color, linewidth=1.6, marker="o", markersize=2.5)
            if ys and not math.isnan(ys[-1]):
                ax.plot([xs[-1]], [ys[-1]], marker="o", markersize=5, color=color)
        ax.set_xticks(xs, labels)
        step = max(1, math.ceil(len(xs) / 6))
        for i, tick in enumerate(ax.get_xticklabels()):
            tick.set_visible((len(xs) - 1 - i) % step == 0)  # keep the last (current) label
        ax.set_ylim(bottom=0)
        if all(math.isnan(y) for y in ys) or not ys:
            ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center", color=MUTED)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, min_n_ticks=3))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: formatter(v)))
        known = [f"{label}: {formatter(y)}" for label, y in zip(labels, ys, strict=True) if not math.isnan(y)]
        chart = _render(fig, title, f"{title}. " + "; ".join(known[-6:]))
    return chart


@dataclass(frozen=True)
class Interval:
    label: str
    value: float | None
    low: float | None
    high: float | None


def interval_chart(*, title: str, rows: Sequence[Interval], formatter: Callable[[float], str]) -> Chart:
    """Horizontal bars with 95% interval whiskers, one per row (e.g. net value per AI tool)."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH_IN * 2 + 0.2, 0.45 + 0.32 * max(1, len(rows))), layout="constrained")
        ax = fig.add_subplot()
        ax.set_title(title, loc="left", fontsize=9, color=INK, fontweight="bold")
        ax.grid(axis="x", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(length=0)
        ys = list(range(len(rows)))[::-1]
        values = _values([r.value for r in rows])
        colors = [GREEN if not math.isnan(v) and v >= 0 else RED for v in values]
        ax.barh(ys, [0 if math.isnan(v) else v for v in values], color=colors, height=0.55, alpha=0.85)
        for y, row in zip(ys, rows, strict=True):
            if row.low is not None and row.high is not None:
                ax.plot([row.low, row.high], [y, y], color=INK, linewidth=1)
                ax.plot([row.low, row.low], [y - 0.15, y + 0.15], color=INK, linewidth=1)
                ax.plot([row.high, row.high], [y - 0.15, y + 0.15], color=INK, linewidth=1)
        ax.axvline(0, color=MUTED, linewidth=0.8)
        ax.set_yticks(ys, [r.label for r in rows])
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: formatter(v)))
        if not rows:
            ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center", color=MUTED)
        alt = "; ".join(f"{r.label}: {formatter(r.value)}" for r in rows if r.value is not None)
        chart = _render(fig, title, f"{title}. {alt}")
    return chart
