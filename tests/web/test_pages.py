from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils.html import escape

from metrics.core.models import Team
from metrics.ingestion.metric_definitions import DEFINITIONS
from tests.factories import make_series, make_snapshot, make_team

MAY = dt.date(2025, 5, 1)
JUNE = dt.date(2025, 6, 1)


@pytest.fixture
def platform() -> Team:
    team = make_team(name="Platform", slug="platform")
    for metric, may, june in (
        ("cycle_time_p50", 30.0, 12.5),
        ("merged_prs", 40.0, 42.0),
        ("revert_rate", 0.1, 0.05),
        ("ai_assisted_share", 0.2, 0.375),
    ):
        make_series(metric=metric, values=[may, june], start=MAY, period="month", n=42, team=team)
    weekly = {
        "cycle_time_p50": [20.0, 10.0], "cycle_time_p75": [30.0, 20.0], "cycle_time_p90": [60.0, 72.0],
        "merged_prs": [9.0, 11.0], "throughput_per_engineer": [1.5, 2.75], "revert_rate": [0.0, None],
        "ai_assisted_share": [0.25, 0.5],
    }
    for metric, values in weekly.items():
        make_series(metric=metric, values=values, start=dt.date(2025, 6, 2), period="week", n=11, team=team)
    return team


@pytest.mark.parametrize("url", ["/", "/teams/platform/"])
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
def test_overview_empty_state(admin_client: Client) -> None:
    response = admin_client.get("/")
    assert response.status_code == 200
    assert "No data yet: run <code>python manage.py import_git PATH</code>" in response.content.decode()


@pytest.mark.django_db
def test_overview_lists_teams_with_latest_month_values(admin_client: Client, platform: Team) -> None:
    make_team(name="Mobile", slug="mobile")  # a team without snapshots still appears, with blanks
    make_snapshot(metric="merged_prs", value=99.0, period_start=JUNE, period="month", n=99)  # organization
    response = admin_client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="/teams/platform/"' in html
    assert 'href="/teams/mobile/"' in html
    assert "June 2025" in html
    # June, not May: 12.5 h, 42 PRs, 5.0%, 37.5%.
    for shown in ("12.5 h", ">42<", "5.0%", "37.5%", ">99<", "Whole organization"):
        assert shown in html, shown
    assert "30.0 h" not in html
    assert "Data as of" in html
    assert escape(DEFINITIONS["revert_rate"]) in html


@pytest.mark.django_db
def test_team_page_has_charts_latest_values_and_definitions(admin_client: Client, platform: Team) -> None:
    response = admin_client.get("/teams/platform/")
    html = response.content.decode()
    assert response.status_code == 200
    for div_id in ("chart-cycle-time", "chart-throughput", "chart-revert-rate", "chart-ai-share"):
        assert f'id="{div_id}"' in html
    assert "/assets/plotly.min.js?v=" in html
    assert "week of 09 Jun 2025" in html
    # Latest week: p90 72 h shown in days, per-engineer 2.75, revert rate missing, n shown.
    for shown in ("10.0 h", "3.0 d", "2.75", "50.0%", "—", ">11<"):
        assert shown in html, shown
    assert f'title="{escape(DEFINITIONS["cycle_time_p50"])}"' in html
    assert "Data as of" in html


@pytest.mark.django_db
def test_team_page_monthly(admin_client: Client, platform: Team) -> None:
    response = admin_client.get("/teams/platform/?period=month")
    assert response.status_code == 200
    html = response.content.decode()
    assert "June 2025" in html and "12.5 h" in html


@pytest.mark.django_db
def test_team_page_bad_period_is_400_with_a_message(admin_client: Client, platform: Team) -> None:
    response = admin_client.get("/teams/platform/?period=year")
    assert response.status_code == 400
    assert "Invalid period &#x27;year&#x27;: use ?period=week or ?period=month." in response.content.decode()


@pytest.mark.django_db
def test_team_page_unknown_team_is_404(admin_client: Client) -> None:
    assert admin_client.get("/teams/nope/").status_code == 404


@pytest.mark.django_db
def test_team_page_without_snapshots(admin_client: Client) -> None:
    make_team(name="Empty", slug="empty")
    response = admin_client.get("/teams/empty/")
    assert response.status_code == 200
    assert "No weekly snapshots for this team yet." in response.content.decode()


def test_assets_are_served_without_login(client: Client) -> None:
    css = client.get("/assets/sextant.css")
    assert css.status_code == 200
    assert css["Content-Type"].startswith("text/css")
    assert css["Cache-Control"] == "no-cache"
    assert client.get("/assets/sextant.css", HTTP_IF_NONE_MATCH=css["ETag"]).status_code == 304

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
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
