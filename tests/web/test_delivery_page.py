"""The Delivery page on the planted organization of ``tests/ingestion/test_delivery_keys.py``: the latest
keys with their DORA band, the deployments and incidents behind a period, the incident timeline, the AI
split, and the team scope.  Every role sees it (figures only)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.factories import make_user
from tests.ingestion.test_delivery_keys import planted_organization

pytestmark = pytest.mark.django_db
WEEK = "/delivery/?period=week&merged_from=2025-03-03&merged_to=2025-03-09"


@pytest.fixture
def viewer(settings: Any) -> Client:
    settings.MIN_GROUP_SIZE = 1  # the planted organization has two engineers
    planted_organization("Elsewhere")
    client = Client()
    client.force_login(make_user("vera", role="viewer"))
    return client


def text(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_latest_keys_with_bands(viewer: Client) -> None:
    page = text(viewer, "/delivery/?period=month")
    assert 'href="/delivery/"' in page and 'aria-current="page">Delivery' in page
    # March 2025: 6 successful deployments in a 31-day month = 1.35 a week: High
    kpis = re.findall(r'<div class="kpi-value">([^<]+)</div>', page)
    assert kpis == ["6", "12.5 h", "57.1%", "5.5 h", "33.3%"]
    assert page.count('class="badge band-') == 4  # rework rate has no band
    assert 'band-high">High' in page and 'band-low">Low' in page  # frequency High; CFR 57% Low


def test_drill_down_lists_the_rows_behind_the_week(viewer: Client) -> None:
    page = text(viewer, WEEK)
    behind = page[page.index('id="behind"') :]
    deployments = behind[: behind.index("<h3>Incidents</h3>")]
    assert re.findall(r"data-label=\"Deployment\">(D\d) <span", deployments) == [
        "D1",
        "D2",
        "D3",
        "D4",
        "D5",
        "D6",
        "D7",
    ]
    assert deployments.count(">failed<") == 4 and deployments.count(">rework<") == 2
    assert deployments.count("badge badge-ai") == 1
    # each deployment links the PRs it shipped (bots left out): D2 shipped #2 and #3, D3 #4 and #7
    shipped = re.findall(r'href="/prs/acme/shop/(\d+)/"', deployments)
    assert shipped == ["1", "2", "3", "4", "7", "5", "6"]
    incidents = behind[behind.index("<h3>Incidents</h3>") :]
    for found in ("pagerduty:I1", "pagerduty:I2", "pagerduty:I3", "opsgenie:I4"):
        assert found in incidents
    assert incidents.count("(last before)") == 2 and "service unmapped (not mapped)" in incidents
    assert 'id="chart-incident-timeline"' in page


def test_ai_split_and_link_rule(viewer: Client) -> None:
    page = text(viewer, "/delivery/")
    split = page[page.index('id="ai-split"') :]
    assert "not enough data" in split and "AI-assisted" in split
    assert "last successful production deployment of its repository" in page


def test_team_scope(viewer: Client) -> None:
    page = text(viewer, "/delivery/?period=week&team=engineering")
    assert re.findall(r'<div class="kpi-value">([^<]+)</div>', page)[0] == "6"
    elsewhere = text(viewer, "/delivery/?period=week&team=elsewhere")
    assert "No deployments yet" in elsewhere
    assert viewer.get("/delivery/?team=nope").status_code == 400
    assert viewer.get("/delivery/?period=year").status_code == 400


def test_below_the_privacy_floor_a_viewer_sees_no_figures(viewer: Client, settings: Any) -> None:
    settings.MIN_GROUP_SIZE = 5  # two engineers merged that month: their figures are per-person figures
    assert "No deployments yet" in text(viewer, "/delivery/?period=month")
    admin = Client()
    admin.force_login(make_user("ada", superuser=True))
    assert (
        re.findall(r'<div class="kpi-value">([^<]+)</div>', text(admin, "/delivery/?period=month"))[0] == "6"
    )
