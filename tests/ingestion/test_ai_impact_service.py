"""AI impact and ROI recomputed from the stored (small) demo organization; the full demo's planted effect is
recovered in test_demo_first_run.py."""

from __future__ import annotations

import pytest

from metrics.core.models import AITool, Organization
from metrics.ingestion.impact import ai_impact_recompute
from metrics.ingestion.models import AIImpactEstimate, AIRoiMonth
from metrics.ingestion.snapshots import snapshots_recompute

pytestmark = pytest.mark.django_db


def test_roi_uses_seat_prices_and_the_adjusted_effect(small_demo: None) -> None:
    # The demo sets a price and monthly seats for each tool (issue 16 item 7); the price changes here.
    AITool.objects.filter(name="Claude Code").update(monthly_seat_cost=30)
    Organization.objects.update(settings={"loaded_hourly_cost": 120, "engineering_hours_per_pr": 6})
    counts = ai_impact_recompute()
    assert counts["roi_rows"] == AIRoiMonth.objects.count() > 0
    cycle = AIImpactEstimate.objects.get(
        scope="organization", method="adjusted", outcome="cycle_time", rule="any"
    )
    row = AIRoiMonth.objects.filter(team=None, tool="Claude Code").order_by("-ai_prs").first()
    assert row is not None and row.seats and row.spend == row.seats * 30  # the demo's seats x the new price
    assert row.spend_note == "seats x price"
    if cycle.status == "ok":
        saved = -cycle.estimate / (100 + cycle.estimate)
        assert row.measured_hours == pytest.approx(row.ai_prs * 6 * saved)
        assert row.measured_net == pytest.approx(row.measured_hours * 120 - row.spend)
    else:
        assert row.measured_hours is None


def test_detection_coverage_and_adoption_levels_are_stored(small_demo: None) -> None:
    from metrics.ingestion.models import AIUsageDay, MetricSnapshot, PullRequest

    unmarked = (
        PullRequest.objects.filter(state="merged", ai_assisted=False, is_bot=False)
        .exclude(author=None)
        .order_by("id")[:3]
    )
    for pr in unmarked:  # telemetry says these authors used AI on the day their unmarked PR merged
        AIUsageDay.objects.create(
            tool="Cursor",
            user_key=f"person:{pr.author_id}",
            person=pr.author,
            day=pr.merged_at.date(),
            active=True,
            source="test",
        )
    snapshots_recompute()  # the estimates, and the adoption levels with the other snapshot rows
    coverage = AIImpactEstimate.objects.get(outcome="detection_coverage")
    assert coverage.n >= 3 and coverage.n_treated >= 3 and coverage.status == "ok"
    assert coverage.estimate == pytest.approx(coverage.n_treated / coverage.n * 100)
    levels = MetricSnapshot.objects.filter(metric="ai_adoption_level", scope="person")
    assert levels.exists() and set(levels.values_list("value", flat=True)) <= {0.0, 1.0, 2.0}
    assert levels.filter(
        person=unmarked[0].author, period_start=unmarked[0].merged_at.date().replace(day=1), value__gte=1.0
    ).exists()
    shares = MetricSnapshot.objects.filter(metric="ai_adoption_any_share", scope="team")
    assert shares.exists() and all(0.0 <= v <= 1.0 for v in shares.values_list("value", flat=True))
