"""Issue 16, items 1 and 2 on the demo (its data ends on 23 November 2026; the clock is later): November
is provisional on the overview, in the API and in the report, and recent merges wait for their revert
observation window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from metrics.ingestion.completeness import data_through
from metrics.ingestion.models import MetricSnapshot
from metrics.reports.content import report_build
from metrics.reports.periods import period_containing
from metrics.reports.services import report_render
from tests.reports.conftest import make_schedule, pdf_text

pytestmark = pytest.mark.django_db
NOVEMBER = period_containing("monthly", dt.date(2026, 11, 1))


def admin() -> Client:
    user, _ = User.objects.get_or_create(
        username="cfo-check", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(user)
    return client


def test_the_demo_data_runs_through_23_november(demo: None) -> None:
    through = data_through()
    assert through is not None and through.date() <= dt.date(2026, 11, 23)
    assert through.date() >= dt.date(2026, 11, 20)


def test_the_november_overview_has_no_arrows_and_says_provisional(demo: None) -> None:
    client = admin()
    november = client.get("/?period=month&at=2026-11-01").content.decode()
    table = november[november.index("<table") :]
    assert "provisional — data through" in november and "Nov 2026" in november
    assert "▲" not in table and "▼" not in table and "trend-bad" not in table and "trend-good" not in table
    october = client.get("/?period=month&at=2026-10-01").content.decode()
    assert "provisional — data through" not in october
    assert "▲" in october or "▼" in october  # a complete month is still compared


def test_the_api_marks_november_provisional_and_october_not(demo: None) -> None:
    client = admin()
    url = "/api/v1/metrics/?scope=organization&period=month&since=2026-10-01&until=2026-11-30&limit=500"
    rows = client.get(url, HTTP_ACCEPT="application/json").json()["results"]
    by_month = {(r["period_start"], r["metric"]): r["provisional"] for r in rows}
    assert by_month[("2026-11-01", "merged_prs")] is True
    assert by_month[("2026-10-01", "merged_prs")] is False
    assert by_month[("2026-10-01", "revert_rate")] is False  # 31 Oct + 14 days is before 23 Nov
    assert all(p for (start, _), p in by_month.items() if start == "2026-11-01")
    response = client.get(url + "&format=csv")
    csv = b"".join(response.streaming_content).decode().splitlines()
    header = csv[0].split(",")
    assert "provisional" in header
    at, metric, flag = header.index("period_start"), header.index("metric"), header.index("provisional")
    flags = {(c[at], c[metric]): c[flag] for c in (line.split(",") for line in csv[1:])}
    assert flags[("2026-11-01", "merged_prs")] == "true" and flags[("2026-10-01", "merged_prs")] == "false"


def test_the_november_report_says_it_is_incomplete_and_compares_nothing(
    demo: None, var_dir: Path, tmp_path: Path
) -> None:
    text = pdf_text(report_render(schedule=make_schedule(), period=NOVEMBER).pdf, tmp_path)
    first = " ".join(text.split("\f")[0].split()) if "\f" in text else " ".join(text.split())
    assert "This period is incomplete: the data runs through" in first and "November 2026" in first
    report = report_build(period=NOVEMBER, team_ids=[])
    assert all("satisfaction" in line.lower() for line in report.notable), report.notable
    assert all(card.cell.change == "" for card in report.cards if card.key != "satisfaction")


def test_a_merge_three_days_before_the_data_ends_is_not_in_the_revert_rate(demo: None) -> None:
    from metrics.ingestion.models import PullRequest

    through = data_through()
    assert through is not None
    recent = PullRequest.objects.filter(
        merged_at__gt=through - dt.timedelta(days=4),
        merged_at__lte=through - dt.timedelta(days=3),
        is_bot=False,
    )
    assert recent.exists()
    week = (through - dt.timedelta(days=3)).date()
    week -= dt.timedelta(days=week.weekday())
    merged = MetricSnapshot.objects.get(
        scope="organization", period="week", metric="merged_prs", period_start=week
    )
    assert merged.n > 0
    # The whole week is inside the 14-day window: no merge of it is counted yet.
    assert not MetricSnapshot.objects.filter(
        scope="organization", period="week", metric="revert_rate", period_start=week
    ).exists()
    window_closed = PullRequest.objects.filter(
        state="merged",
        is_bot=False,
        merged_at__gte=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
        merged_at__lt=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    ).count()
    october = MetricSnapshot.objects.get(
        scope="organization", period="month", metric="revert_rate", period_start=dt.date(2026, 10, 1)
    )
    assert october.n == window_closed
