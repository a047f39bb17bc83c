"""Review load and agent PRs on the team and AI-impact pages, and the new estimates in the API: the privacy
floor, per-reviewer rows only where people may be seen, money only for money roles."""

from __future__ import annotations

import datetime as dt

from django.test import Client

from metrics.ingestion.models import MetricSnapshot
from metrics.reports import review_agents_section
from tests.factories import make_estimate
from tests.web.conftest import Org, page

MAY, JUNE, APRIL = dt.date(2025, 5, 1), dt.date(2025, 6, 1), dt.date(2025, 4, 1)


def _rows(org: Org) -> None:
    # Checkout is large (42 engineers) in May and June; in April it has no engineer count: below the floor.
    for start, reviews in ((APRIL, 3.0), (MAY, 31.0), (JUNE, 37.0)):
        for metric, value in (
            ("reviews_given", reviews),
            ("review_agent_share", 0.25),
            ("agent_merged_prs", 4.0),
        ):
            MetricSnapshot.objects.create(
                scope="team",
                team=org.checkout,
                period="month",
                period_start=start,
                metric=metric,
                value=value,
                n=int(reviews),
                definition_version="1.3",
            )
    MetricSnapshot.objects.create(
        scope="person",
        person=org.alice,
        period="month",
        period_start=JUNE,
        metric="reviews_given",
        value=17.0,
        n=17,
        definition_version="1.3",
    )
    common = {"n_treated": 60, "definition_version": "1.3"}
    make_estimate(outcome="review_hours", method="agent", estimate=41.5, ci_low=12.25, ci_high=77.0, **common)
    make_estimate(
        outcome="throughput_value",
        unit="money_per_week",
        estimate=812.0,
        ci_low=95.0,
        ci_high=1530.0,
        **common,
    )


def test_team_page_floors_review_load_and_shows_reviewers_only_to_who_may_see_people(
    clients: dict[str, Client], org: Org
) -> None:
    _rows(org)
    admin = page(clients["admin"], "/teams/checkout/?period=month")
    assert 'data-label="April 2025">3 ' in admin and 'data-label="June 2025">37 ' in admin  # every month
    assert "Per reviewer" in admin and "Alice Anders" in admin
    viewer = page(clients["viewer"], "/teams/checkout/?period=month")
    section = viewer[viewer.index('id="review-load"') : viewer.index('id="agent-prs"')]
    assert "June 2025" in section and "May 2025" in section
    assert "April 2025" not in section  # below the floor: one person's figures
    assert "Per reviewer" not in viewer
    assert "25.0%" in section  # the share on agent PRs


def test_impact_page_and_api_show_the_new_estimates_with_money_only_for_money_roles(
    clients: dict[str, Client], org: Org
) -> None:
    _rows(org)
    executive = page(clients["executive"], "/ai-impact/")
    assert "Reviewer hours to approval, agent vs human PRs" in executive
    assert "+41.5%" in executive and "[+12.2, +77.0]" in executive
    assert "+812 USD/week" in executive
    viewer = page(clients["viewer"], "/ai-impact/")
    assert "+41.5%" in viewer and "812" not in viewer
    outcomes = {
        r["outcome"] for r in clients["viewer"].get("/api/v1/ai-impact/?scope=organization").json()["results"]
    }
    assert "review_hours" in outcomes and "throughput_value" not in outcomes
    money = {r["outcome"] for r in clients["admin"].get("/api/v1/ai-impact/?method=agent").json()["results"]}
    assert money == {"review_hours"}
    bad = clients["admin"].get("/api/v1/ai-impact/?method=dosage")
    assert bad.status_code == 400 and "method" in bad.content.decode()


def test_report_lines_sum_counts_over_the_months_above_the_floor(org: Org) -> None:
    _rows(org)
    lines = dict(review_agents_section.lines([APRIL, MAY, JUNE], org.checkout.pk))
    assert lines["Reviews given"] == "68"  # May + June; April is below the floor
    assert lines["Reviews on agent PRs"] == "25.0%"
    assert lines["Agent PRs merged"] == "8"
    effect = lines["Reviewer hours to approval, agent vs human PRs"]
    assert effect == "+41.5% (95% interval +12.2 to +77.0; n=400)"
