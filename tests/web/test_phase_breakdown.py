"""Issue 16, item 4: "Where the time goes" adds up.

The stacked parts are the mean hours of each phase over the same PRs, so they add up to the line drawn
as their total (the mean cycle time of those PRs) for every team and month of the demo; the median cycle
time is a separate, labelled line, and the page says beside the chart what is stacked.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from metrics.core.models import Team

pytestmark = pytest.mark.django_db
ROUNDING = 0.01  # hours


def _spec(html: str, div_id: str) -> dict:
    found = re.search(rf'<script id="{div_id}-spec" type="application/json">(.*?)</script>', html, re.S)
    assert found, div_id
    return json.loads(found.group(1))


def test_the_stacked_phases_add_up_to_the_total_shown_for_every_demo_team_and_month(
    admin_client: Client, small_demo: None
) -> None:
    checked = 0
    teams = list(Team.objects.all())
    assert len(teams) >= 4
    for team in teams:
        response = admin_client.get(f"/teams/{team.slug}/", {"period": "month", "range": "all"})
        assert response.status_code == 200, team.slug
        html = response.content.decode()
        assert "Stacked: the mean hours of each phase over the same PRs" in html
        spec = _spec(html, "chart-phases")
        bars = [t for t in spec["data"] if t["type"] == "bar"]
        lines = {t["name"]: t for t in spec["data"] if t["type"] == "scatter"}
        total = lines["mean cycle time (= stack)"]
        assert "median cycle time" in lines
        assert [b["name"] for b in bars] == ["coding", "draft", "pickup", "rework", "merge wait"]
        for i, month in enumerate(total["x"]):
            if total["y"][i] is None:
                continue
            parts = [b["y"][b["x"].index(month)] for b in bars if month in b["x"]]
            assert len(parts) == len(bars), (team.slug, month)
            assert sum(parts) == pytest.approx(total["y"][i], abs=ROUNDING), (team.slug, month)
            # The same PRs behind every part and the total.
            assert {b["customdata"][b["x"].index(month)] for b in bars} == {total["customdata"][i]}
            checked += 1
    assert checked >= 20
