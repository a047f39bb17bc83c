"""A chart on a page is a placeholder and its figure as a JSON data block (never executed: the CSP allows
no inline script, issue 15), drawn by static/web/sextant.js; plotly.js itself is never inlined."""

from __future__ import annotations

from metrics.web.display import chart_html


def test_a_chart_is_a_placeholder_and_a_json_block_without_plotly_js() -> None:
    spec = {
        "data": [{"type": "scatter", "y": [1, 2], "name": "</script><script>alert(1)</script>"}],
        "layout": {"height": 280},
    }
    html = chart_html(spec, "chart-x", click_url="/prs/?a=1&b=2", period="week")
    assert html.startswith('<div class="chart" id="chart-x" data-chart="chart-x-spec"')
    assert 'data-click-url="/prs/?a=1&amp;b=2"' in html and "min-height: 280px" in html
    assert html.count("<script") == 1 and '<script id="chart-x-spec" type="application/json">' in html
    assert "</script><script>" not in html and "\\u003C/script\\u003E" in html  # a name cannot end the block
    assert "Plotly.newPlot" not in html and len(html) < 5_000
