"""The AI impact page: headline with interval, forest plot, naive beside adjusted, coverage, ROI per tool."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client

from metrics.ingestion.models import AIImpactEstimate, AIRoiMonth
from metrics.web.impact import window_start
from tests.web.conftest import Org


def spec(html: str, div_id: str) -> dict:
    found = re.search(rf'<script id="{div_id}-spec" type="application/json">(.*?)</script>', html, re.S)
    assert found, div_id
    return json.loads(found.group(1))


def test_headline_forest_plot_and_side_by_side(admin_client: Client, org: Org) -> None:
    html = admin_client.get("/ai-impact/").content.decode()
    assert "-13.2%" in html and "95% interval [-18.6%, -7.6%]" in html
    assert "+0.2 pp" in html and "could be no difference" in html  # the revert interval crosses zero
    forest = spec(html, "chart-forest-cycle_time")["data"][0]
    assert forest["y"] == ["Organization, trailers only", "Organization"]  # drawn bottom-up
    assert forest["x"] == [-10.3, -13.2]
    assert forest["error_x"]["arrayminus"][1] == pytest.approx(5.4)
    assert "Not enough data for: Checkout" in html
    side = spec(html, "chart-side-cycle_time")["data"]
    assert [t["name"] for t in side] == [
        "Naive difference",
        "Adjusted (headline)",
        "Difference-in-differences",
    ]
    assert "What they do not show" in html and "not proof of cause" in html


def test_coverage_unknown_guides_to_telemetry(admin_client: Client, org: Org) -> None:
    html = admin_client.get("/ai-impact/").content.decode()
    assert "unknown" in html and "add a Copilot source" in html


def test_roi_per_tool_with_interval_and_assumptions(admin_client: Client, org: Org) -> None:
    html = admin_client.get("/ai-impact/").content.decode()
    assert "Claude Code" in html and "18 h" in html and "[10\u201327]" in html
    assert "1,450" in html and "[600\u20132,358]" in html
    assert "8 engineering hours per PR (an assumption)" in html
    assert "No tool costs are set" in html
    AIRoiMonth.objects.create(
        month=dt.date(2024, 1, 1), tool="Claude Code", ai_prs=1000
    )  # outside the window
    assert ">15<" in admin_client.get("/ai-impact/").content.decode()


def test_not_enough_data_empty_state(admin_client: Client, org: Org) -> None:
    AIImpactEstimate.objects.all().delete()
    html = admin_client.get("/ai-impact/").content.decode()
    assert "Not enough data yet" in html and "at least 30 of each" in html


def test_window_start() -> None:
    assert window_start(dt.date(2025, 6, 1), 12) == dt.date(2024, 7, 1)
    assert window_start(dt.date(2025, 12, 1), 12) == dt.date(2025, 1, 1)
    assert window_start(dt.date(2025, 1, 1), 1) == dt.date(2025, 1, 1)
