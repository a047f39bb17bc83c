"""The executive report's delivery section on the planted organization of
``tests/ingestion/test_delivery_keys.py``: DORA's keys of March 2025 (against February, which has none),
their bands, and the AI comparison, in the HTML and the plain text."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from metrics.core.models import Team
from metrics.reports.content import report_build
from metrics.reports.periods import period_containing
from metrics.reports.rendering import report_html, report_text
from tests.ingestion.test_delivery_keys import planted_organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def checkout(settings: Any) -> Team:
    settings.MIN_GROUP_SIZE = 1  # two engineers: below the default floor the report leaves the groups out
    return planted_organization()


def test_the_report_shows_the_keys_with_bands(checkout: Team) -> None:
    march = period_containing("monthly", dt.date(2025, 3, 3))
    for team_ids in ([], [checkout.parent_id]):
        section = report_build(period=march, team_ids=team_ids).extra["delivery"]
        rows = {r.key: (r.now, r.before, r.n, r.band) for r in section.rows}  # type: ignore[attr-defined]
        assert rows == {
            "deployment_frequency": ("6", "—", 6, "High"),  # 6 in 31 days: 1.35 a week
            "lead_time_for_changes_p50": ("12.5 h", "—", 7, "Elite"),
            "change_failure_rate": ("57.1%", "—", 7, "Low"),
            "failed_deployment_recovery_time_p50": ("5.5 h", "—", 4, "High"),
            "deployment_rework_rate": ("33.3%", "—", 6, ""),
        }
    report = report_build(period=march, team_ids=[])
    html, text = report_html(report, mode="email"), report_text(report)
    assert "Delivery (DORA&#x27;s keys)" in html or "Delivery (DORA's keys)" in html
    assert 'data-key="change_failure_rate"' in html
    assert "- Change failure rate: 57.1% (n=7; Feb 2025: —), DORA band Low" in text
    assert "AI-assisted vs other deployments: not enough data (1 of 7)." in text
