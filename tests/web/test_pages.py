"""Overview, team dashboard, assets: what they show, empty states, freshness, and 400s for bad parameters."""

from __future__ import annotations

import datetime as dt
import json
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from metrics.ingestion.metric_definitions import DEFINITIONS
from metrics.ingestion.models import SyncRun
from metrics.web.overview import sparkline
from tests.web.conftest import Org


@pytest.mark.parametrize("url", ["/", "/teams/checkout/", "/prs/", "/ai-impact/", "/settings/sources/"])
def test_pages_require_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_login_page_renders(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Sextant" in response.content
    assert b'name="password"' in response.content


@pytest.mark.django_db
def test_overview_empty_state_guides_to_a_data_source(admin_client: Client) -> None:
    html = admin_client.get("/").content.decode()
    assert "No data yet" in html
    assert 'href="/settings/sources/"' in html and "Add a data source" in html
    assert "No data synced yet" in html  # freshness, even with nothing


def test_overview_lists_the_team_tree_with_values_trends_and_sparklines(
    admin_client: Client, org: Org
) -> None:
    html = admin_client.get("/").content.decode()
    assert "June 2025" in html
    for slug in ("product", "checkout", "search", "platform"):
        assert f'href="/teams/{slug}/?period=month"' in html  # the team page opens on the same period
    row = re.search(r'<tr data-order="\d+" data-team="checkout">.*?</tr>', html, re.S).group(0)
    # June, not May: 12.5 h, 42 PRs, 5.0%, 37.5%.  The fixture's data runs through 19 June, so June is
    # provisional: marked, and never compared with May (no arrows: tests/reports/test_provisional_demo.py
    # shows a complete month's arrows).
    for shown in ("12.5 h", ">42<", "5.0%", "37.5%", "provisional", '<svg class="spark"'):
        assert shown in row, shown
    assert "trend-good" not in row and "trend-bad" not in row
    assert 'data-sort="12.5"' in row
    assert "Whole organization" in html
    assert escape(DEFINITIONS["revert_rate"]) in html  # definitions as tooltips
    assert "Metrics computed" in html


def test_overview_period_and_team_filters(admin_client: Client, org: Org) -> None:
    html = admin_client.get("/?team=product").content.decode()
    assert 'data-team="checkout"' in html and 'data-team="search"' in html
    assert 'data-team="platform"' not in html
    may = admin_client.get("/?period=month&at=2025-05-01").content.decode()
    assert "May 2025" in may and "30.0 h" in may
    weekly = admin_client.get("/?period=week").content.decode()
    assert "week of 02 Jun 2025" in weekly


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=year", "Invalid period &#x27;year&#x27;: use one of week, month."),
        ("team=nope", "Invalid team &#x27;nope&#x27;: no team has this slug."),
        ("at=yesterday", "Invalid at &#x27;yesterday&#x27;: use a date like 2026-05-01."),
        ("at=2020-01-01", "no monthly data starts on that day"),
    ],
)
def test_overview_bad_parameters_are_400(admin_client: Client, org: Org, query: str, message: str) -> None:
    response = admin_client.get(f"/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_freshness_shows_the_last_successful_sync(admin_client: Client, org: Org) -> None:
    run = SyncRun.objects.create(kind="git", source="acme", status=SyncRun.Status.SUCCEEDED)
    SyncRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - dt.timedelta(minutes=12))
    html = admin_client.get("/prs/").content.decode()
    assert "Synced 12 min ago" in html


def _spec(html: str, div_id: str) -> dict:
    found = re.search(rf'<script id="{div_id}-spec" type="application/json">(.*?)</script>', html, re.S)
    assert found, div_id
    return json.loads(found.group(1))


def test_team_dashboard_charts_link_to_their_prs(admin_client: Client, org: Org) -> None:
    response = admin_client.get("/teams/checkout/?range=all")
    html = response.content.decode()
    assert response.status_code == 200
    for div_id in (
        "chart-cycle-time",
        "chart-phases",
        "chart-throughput",
        "chart-pr-size",
        "chart-revert-rate",
        "chart-ai-share",
    ):
        assert f'id="{div_id}"' in html
    assert "/assets/plotly.min.js?v=" in html
    phases = _spec(html, "chart-phases")
    names = [t["name"] for t in phases["data"]]
    assert names == [
        "coding",
        "draft",
        "pickup",
        "rework",
        "merge wait",
        "mean cycle time (= stack)",
        "median cycle time",
    ]
    assert phases["data"][0]["y"] == [4.5, 3.5] and phases["layout"]["barmode"] == "stack"
    parts = [t["y"] for t in phases["data"][:5]]
    assert [sum(week) for week in zip(*parts, strict=True)] == phases["data"][5]["y"]  # the stack adds up
    band = _spec(html, "chart-cycle-time")
    assert band["data"][1]["fill"] == "tonexty"  # p50 shaded up to p90
    assert _spec(html, "chart-revert-rate")["data"][0]["y"] == [0.0, None]  # a gap, never a zero
    assert (
        'href="/prs/?team=checkout&amp;state=merged&amp;reverted=yes&amp;merged_from=2025-06-02&amp;'
        'merged_to=2025-06-15"'
    ) in html
    assert 'data-click-url="/prs/?team=checkout&amp;state=merged&amp;ai=yes"' in html


def test_team_dashboard_kpis_latest_values_and_definitions(admin_client: Client, org: Org) -> None:
    html = admin_client.get("/teams/checkout/").content.decode()
    assert "week of 09 Jun 2025" in html
    for shown in ("10.0 h", "3.0 d", "2.75", "50.0%", "—", "-50% vs previous period"):
        assert shown in html, shown
    assert escape(DEFINITIONS["cycle_time_p50"]) in html
    # breadcrumb to the parent team, keeping the period and range
    assert 'href="/teams/product/?period=week&amp;range=6m"' in html
    assert "No survey round has included Checkout yet." in html  # satisfaction empty state


def test_team_dashboard_monthly(admin_client: Client, org: Org) -> None:
    html = admin_client.get("/teams/checkout/?period=month").content.decode()
    assert "June 2025" in html and "12.5 h" in html


@pytest.mark.parametrize("query", ["period=year", "range=5y"])
def test_team_dashboard_bad_parameters_are_400(admin_client: Client, org: Org, query: str) -> None:
    response = admin_client.get(f"/teams/checkout/?{query}")
    assert response.status_code == 400
    assert "Invalid" in response.content.decode()


def test_team_dashboard_unknown_team_is_404(admin_client: Client, org: Org) -> None:
    assert admin_client.get("/teams/nope/").status_code == 404


def test_team_without_figures_guides_to_members(admin_client: Client, org: Org) -> None:
    html = admin_client.get("/teams/platform/").content.decode()
    assert "No weekly figures for Platform yet" in html
    assert 'href="/settings/teams/platform/"' in html


def test_sparkline_keeps_gaps_and_needs_two_points() -> None:
    assert sparkline([None, 3.0]) == ""
    svg = sparkline([1.0, 2.0, None, 4.0, 5.0])
    assert svg.count("<polyline") == 2  # the gap splits the line
    assert sparkline([2.0, 2.0, 2.0]).count("<polyline") == 1  # a flat line still draws


def test_assets_are_served_without_login(client: Client) -> None:
    for name, kind in (("sextant.css", "text/css"), ("sextant.js", "text/javascript")):
        response = client.get(f"/assets/{name}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith(kind)
        assert response["Cache-Control"] == "no-cache"
        assert client.get(f"/assets/{name}", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304

    import plotly

    js = client.get(f"/assets/plotly.min.js?v={plotly.__version__}")
    assert js.status_code == 200
    assert "immutable" in js["Cache-Control"]
    assert b"plotly" in b"".join(js.streaming_content)[:2000].lower()
    assert client.get("/assets/..%2Fsettings.py").status_code == 404
    assert client.get("/assets/secret_key").status_code == 404


@pytest.mark.django_db
def test_ensure_admin_creates_a_superuser_once() -> None:
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    match = re.search(r"Admin login: http://127\.0\.0\.1:8000/  user: admin  password: (\S+)", out.getvalue())
    assert match, out.getvalue()
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.check_password(match.group(1))

    again = StringIO()
    call_command("ensure_admin", stdout=again)
    assert "already exists" in again.getvalue()
    assert "python manage.py changepassword admin" in again.getvalue()
    assert match.group(1) not in again.getvalue()
    assert get_user_model().objects.get(is_superuser=True) == user
