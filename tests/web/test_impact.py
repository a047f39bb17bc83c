"""The AI impact page: headline with interval, forest plot, naive beside adjusted, coverage, ROI per tool."""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pytest
from django.test import Client

from metrics.ingestion.models import AIImpactEstimate, AIRoiMonth
from metrics.web.impact import window_start
from tests.factories import make_estimate, make_user
from tests.web.conftest import Org, client_for


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


# Issue 16, item 5: verdict, parent teams, all-tools total, period selector.


def test_the_page_says_what_to_conclude_from_adjusted_and_did(admin_client: Client, org: Org) -> None:
    html = admin_client.get("/ai-impact/").content.decode()
    assert "What to conclude: Likely, not confirmed" in html
    assert "points to shorter cycle times" in html and "cannot confirm it" in html
    assert "-4.9% [-16.5%, +8.3%]" in html
    # Revert rate has no DiD: one method, and it cannot tell an effect from no change.
    assert "no second method to check it" in html


def test_parent_teams_are_plotted_or_listed_as_not_enough_data(admin_client: Client, org: Org) -> None:
    html = admin_client.get("/ai-impact/").content.decode()
    # Every team without an estimate is listed, parents (Product) and teams without rows included.
    assert "Not enough data for: Checkout, Platform, Product, Search" in html
    make_estimate(
        scope="team",
        team=org.product,
        estimate=-11.0,
        ci_low=-17.0,
        ci_high=-5.0,
        n=300,
        n_treated=90,
        n_clusters=20,
    )
    html = admin_client.get("/ai-impact/").content.decode()
    assert "Product" in spec(html, "chart-forest-cycle_time")["data"][0]["y"]
    assert "Not enough data for: Checkout, Platform, Search" in html


def test_team_estimates_roll_up_to_parent_teams(org: Org) -> None:
    from metrics.ingestion.impact import _team_models

    teams = [org.checkout.id, org.search.id, org.platform.id, None]
    model = pd.DataFrame({"id": [1, 2, 3, 4], "team_id": teams})
    groups = {team: sorted(frame["id"]) for team, frame in _team_models(model)}
    assert groups == {
        org.product.id: [1, 2],
        org.checkout.id: [1],
        org.search.id: [2],
        org.platform.id: [3],
    }


def _roi_rows(tool: str, spend: float | None, net: float | None) -> None:
    AIRoiMonth.objects.create(
        month=dt.date(2025, 6, 1),
        tool=tool,
        ai_prs=5,
        spend=spend,
        measured_hours=6.0,
        measured_hours_low=3.0,
        measured_hours_high=9.0,
        measured_net=net,
        measured_net_low=None if net is None else net - 100,
        measured_net_high=None if net is None else net + 100,
        spend_note="" if spend is not None else "seats unknown",
    )


def test_roi_has_an_all_tools_total_row(admin_client: Client, org: Org) -> None:
    _roi_rows("Cursor", 120.0, 200.0)
    html = admin_client.get("/ai-impact/").content.decode()
    foot = html[html.index("<tfoot>") : html.index("</tfoot>")]
    assert "All tools" in foot and ">20<" in foot  # 15 + 5 AI PRs
    assert "24 h" in foot and "[13\u201336]" in foot  # 18.3 + 6.0 hours, 9.8 + 3.0 .. 27.4 + 9.0
    assert "500 USD" in foot and "1,650" in foot  # spend 380 + 120, net 1,450 + 200
    # The viewer sees hours, never money.
    viewer = client_for(make_user("v-roi", "viewer"))
    foot = (lambda h: h[h.index("<tfoot>") : h.index("</tfoot>")])(viewer.get("/ai-impact/").content.decode())
    assert "All tools" in foot and "USD" not in foot and "1,650" not in foot


def test_the_total_spend_is_unknown_when_a_tool_has_no_seats(admin_client: Client, org: Org) -> None:
    _roi_rows("Cursor", None, None)
    html = admin_client.get("/ai-impact/").content.decode()
    foot = html[html.index("<tfoot>") : html.index("</tfoot>")]
    assert "seats unknown for Cursor" in foot and "1,450" not in foot


def test_the_period_selector_lives_in_the_url(admin_client: Client, org: Org) -> None:
    AIRoiMonth.objects.create(month=dt.date(2025, 1, 1), tool="Claude Code", ai_prs=100)
    html = admin_client.get("/ai-impact/").content.decode()  # default: 12 months up to June 2025
    assert "since July 2024" in html and ">115<" in html
    html = admin_client.get("/ai-impact/", {"months": "3"}).content.decode()
    assert "since April 2025" in html and ">15<" in html and ">115<" not in html
    assert 'href="?months=3" class="active" aria-current="true"' in html
    assert 'href="?months=all"' in html and 'href="?months=12"' in html
    assert "/prs/?ai=yes&amp;state=merged&amp;merged_from=2025-04-01" in html  # the PR link carries it
    html = admin_client.get("/ai-impact/", {"months": "all"}).content.decode()
    assert "all history" in html and ">115<" in html
    response = admin_client.get("/ai-impact/", {"months": "7"})
    assert response.status_code == 400 and "months" in response.content.decode()
