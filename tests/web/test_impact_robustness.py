"""The robustness value beside each adjusted estimate on the AI impact page (issue 20)."""

from __future__ import annotations

from django.test import Client

from metrics.analytics import sensitivity
from tests.factories import make_estimate, make_user


def test_every_adjusted_estimate_on_the_ai_impact_page_carries_its_robustness(db: None) -> None:
    make_estimate(estimate=-10.0, ci_low=-15.0, ci_high=-5.0, definition_version="1.2")
    make_estimate(
        outcome="revert_rate",
        unit="percentage_points",
        estimate=0.5,
        ci_low=-1.0,
        ci_high=2.0,
        definition_version="1.2",
    )
    client = Client()
    client.force_login(make_user(role="viewer"))
    page = client.get("/ai-impact/").content.decode()
    cycle = sensitivity.from_interval(-10.0, -15.0, -5.0, 400, "percent_change")
    assert cycle is not None and 0 < cycle.rv_alpha < cycle.rv
    assert cycle.words() in page.replace("&#x27;", "'")
    assert f"explain {cycle.rv:.0%} of what is left unexplained" in page
    assert "Robustness: the interval already includes no effect" in page  # the revert rate's
