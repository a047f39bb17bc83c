from __future__ import annotations

import functools
import math

import pandas as pd
import pytest

from metrics.analytics import roi


def test_saved_fraction() -> None:
    assert roi.saved_fraction(-20.0) == pytest.approx(0.25)
    assert roi.saved_fraction(0.0) == 0.0
    assert roi.saved_fraction(25.0) == pytest.approx(-0.2)  # slower with AI: negative saving


def test_roi_table_measured_and_reported_side_by_side() -> None:
    keys = ["month", "tool"]
    ai_prs = pd.DataFrame({"month": ["2026-10"], "tool": ["Claude Code"], "ai_prs": [40]})
    spend = pd.DataFrame({"month": ["2026-10"], "tool": ["Claude Code"], "spend": [400.0]})
    survey = pd.DataFrame(
        {
            "month": ["2026-10"],
            "tool": ["Claude Code"],
            "respondents": [9],
            "mean_hours": [2.0],
            "sd_hours": [1.0],
            "active_users": [10],
        }
    )
    out = roi.roi_table(
        ai_prs=ai_prs,
        survey=survey,
        spend=spend,
        keys=keys,
        effect=(-20.0, -30.0, -10.0),
        hours_per_pr=5.0,
        hourly_cost=100.0,
        min_group_size=5,
    ).iloc[0]
    assert out.measured_hours == pytest.approx(50.0)  # 40 PRs x 5 h x 0.25
    assert out.measured_hours_low == pytest.approx(40 * 5 * (0.1 / 0.9))
    assert out.measured_hours_high == pytest.approx(40 * 5 * (0.3 / 0.7))
    assert out.measured_net == pytest.approx(50 * 100 - 400)
    assert out.reported_hours == pytest.approx(2.0 * 10 * 52 / 12)
    half = 2.306004135 * 1.0 / 3  # t(0.975, 8) x sd / sqrt(9)
    assert out.reported_hours_low == pytest.approx((2.0 - half) * 10 * 52 / 12, rel=1e-6)


def test_below_the_privacy_floor_there_is_no_reported_number() -> None:
    survey = pd.DataFrame(
        {"tool": ["x"], "respondents": [4], "mean_hours": [3.0], "sd_hours": [1.0], "active_users": [4]}
    )
    out = roi.roi_table(
        ai_prs=pd.DataFrame({"tool": ["x"], "ai_prs": [3]}),
        survey=survey,
        spend=pd.DataFrame({"tool": ["x"], "spend": [50.0]}),
        keys=["tool"],
        effect=None,
        hours_per_pr=4.0,
        hourly_cost=90.0,
        min_group_size=5,
    ).iloc[0]
    assert math.isnan(out.reported_hours) and math.isnan(out.measured_hours) and math.isnan(out.reported_net)


def test_team_keys_of_different_types_on_each_side_merge_instead_of_stopping_the_recompute() -> None:
    """No AI PRs and no seats: the PRs' team ids are an empty float column, the seats' an empty object
    one, and pandas refused to merge them, which failed every AI-impact recompute (seen on a resumed
    sync whose first repository was not derived yet)."""
    ai_prs = pd.DataFrame(
        {
            "tool": pd.Series([], dtype=object),
            "team_id": pd.Series([], dtype="float64"),
            "ai_prs": pd.Series([], dtype="int64"),
        }
    )
    spend = pd.DataFrame({"tool": [], "team_id": [], "spend": pd.Series([], dtype="float64")}, dtype=object)
    table = functools.partial(
        roi.roi_table,
        survey=pd.DataFrame(),
        spend=spend,
        keys=["tool", "team_id"],
        effect=None,
        hours_per_pr=4.0,
        hourly_cost=90.0,
        min_group_size=5,
    )
    out = table(ai_prs=ai_prs)
    assert out.empty and {"ai_prs", "spend", "measured_net"} <= set(out.columns)
    with_prs = table(ai_prs=pd.DataFrame({"tool": ["x"], "team_id": [1.0], "ai_prs": [3]}))
    rows = with_prs[["tool", "team_id", "ai_prs"]].to_dict("records")
    assert rows == [{"tool": "x", "team_id": 1.0, "ai_prs": 3}]


def test_team_rows_that_would_reveal_a_small_group_by_subtraction_are_blanked() -> None:
    org = pd.DataFrame({"month": ["m"], "tool": ["t"], "respondents": [7], "reported_hours": [70.0]})
    teams = pd.DataFrame(
        {
            "month": ["m", "m"],
            "tool": ["t", "t"],
            "team_id": [1, 2],
            "respondents": [5, 2],
            "reported_hours": [50.0, 20.0],
        }
    )
    shown_org, shown_teams = roi.floor_reported(org, teams, min_size=5)
    assert shown_org["reported_hours"].tolist() == [70.0]
    assert shown_teams["reported_hours"].isna().all()  # team 1 (5) would reveal team 2 (2) by 7 - 5
    big = teams.assign(respondents=[5, 6])
    _, shown_big = roi.floor_reported(org.assign(respondents=[11]), big, min_size=5)
    assert shown_big["reported_hours"].tolist() == [50.0, 20.0]
