from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import pytest

from metrics.reports import charts


def long_frame(rows: list[tuple[str, str, float | None, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["period_start", "metric", "value", "n"])


FRAME = long_frame([
    ("2025-01-13", "cycle_time_p50", 30.0, 8),
    ("2025-01-06", "cycle_time_p50", 10.0, 4),
    ("2025-01-06", "cycle_time_p75", 20.0, 4),
    ("2025-01-06", "cycle_time_p90", 40.0, 4),
    ("2025-01-06", "merged_prs", 4.0, 4),
    ("2025-01-06", "throughput_per_engineer", 2.0, 2),
    ("2025-01-06", "revert_rate", 0.25, 4),
    ("2025-01-13", "revert_rate", None, 0),
    ("2025-01-06", "ai_assisted_share", 0.5, 4),
])


def test_cycle_time_chart_draws_percentiles_in_period_order() -> None:
    fig = charts.cycle_time_chart(FRAME)
    by_name = {trace.name: trace for trace in fig.data}
    assert set(by_name) == {"p50", "p75", "p90"}
    p50 = by_name["p50"]
    assert list(p50.y) == [10.0, 30.0]  # sorted by period_start although given out of order
    assert list(p50.customdata) == [4, 8]
    assert pd.Timestamp(p50.x[0]) == pd.Timestamp("2025-01-06")
    assert not fig.layout.annotations


def test_throughput_chart_has_bars_and_a_per_engineer_line_on_a_second_axis() -> None:
    fig = charts.throughput_chart(FRAME)
    bar, line = fig.data
    assert bar.type == "bar" and list(bar.y) == [4.0]
    assert line.yaxis == "y2" and list(line.y) == [2.0]


def test_revert_rate_keeps_missing_values_as_gaps_not_zero() -> None:
    fig = charts.revert_rate_chart(FRAME)
    (trace,) = fig.data
    assert trace.y[0] == 0.25
    assert math.isnan(trace.y[1])
    assert fig.layout.yaxis.tickformat == ".0%"


def test_ai_share_chart() -> None:
    (trace,) = charts.ai_share_chart(FRAME).data
    assert list(trace.y) == [0.5]


ALL_CHARTS = [
    charts.cycle_time_chart, charts.throughput_chart, charts.revert_rate_chart, charts.ai_share_chart,
]


@pytest.mark.parametrize("build", ALL_CHARTS)
def test_empty_frame_gives_a_figure_saying_no_data(build: Callable[[pd.DataFrame], go.Figure]) -> None:
    fig = build(FRAME.iloc[0:0])
    assert [a.text for a in fig.layout.annotations] == ["No data for this period"]


def test_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match="n"):
        charts.cycle_time_chart(FRAME.drop(columns=["n"]))


def test_render_is_a_fragment_without_plotly_js() -> None:
    html = charts.render(charts.cycle_time_chart(FRAME), div_id="chart-x")
    assert 'id="chart-x"' in html
    assert "<html" not in html
    assert len(html) < 50_000  # plotly.js itself (MBs) is not inlined
    # Only a JSON data block, which no browser executes: the CSP allows no inline script (issue 15).
    assert html.count("<script") == 1 and '<script id="chart-x-spec" type="application/json">' in html
    assert "Plotly.newPlot" not in html
