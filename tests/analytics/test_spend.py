"""Spend per ROI group (metrics/analytics/spend.py): seats x price from entered counts or API assignments,
usage cost, and unknown spend (a price and no seats) as NaN with its reason, never a silent 0."""

from __future__ import annotations

import math

import pandas as pd

from metrics.analytics import roi, spend

M = "2026-10-01"
EMPTY_SEATS = pd.DataFrame(columns=["month", "tool", "team_id", "person_id"])
EMPTY_DECLARED = pd.DataFrame(columns=["month", "tool", "seats"])
EMPTY_USAGE = pd.DataFrame(columns=["month", "tool", "team_id", "per_user", "cost"])


def rows(keys: list[str], groups: list[tuple], **inputs: object) -> list[tuple]:
    frame = pd.DataFrame(groups, columns=keys)
    given = {"seats": EMPTY_SEATS, "declared": EMPTY_DECLARED, "usage": EMPTY_USAGE, "prices": {}, **inputs}
    out = spend.spend_for(frame, keys, **given)  # type: ignore[arg-type]
    return [
        tuple(None if isinstance(v, float) and math.isnan(v) else v for v in r)
        for r in out[["seats", "spend", "spend_note"]].itertuples(index=False)
    ]


def test_a_price_without_seats_is_unknown_spend_not_zero() -> None:
    assert rows(["month", "tool"], [(M, "Cursor")], prices={"Cursor": 40.0}) == [(None, None, spend.UNKNOWN)]
    assert rows(["month", "tool"], [(M, "Cursor")]) == [(None, 0.0, spend.NO_PRICE)]


def test_entered_seats_win_over_assignments_and_are_organization_wide() -> None:
    seats = pd.DataFrame({"month": [M, M], "tool": ["Cursor"] * 2, "team_id": [1, 2], "person_id": [10, 20]})
    declared = pd.DataFrame({"month": [M], "tool": ["Cursor"], "seats": [12]})
    prices = {"Cursor": 40.0}
    assert rows(["month", "tool"], [(M, "Cursor")], seats=seats, prices=prices) == [(2, 80.0, spend.SEATS)]
    assert rows(["month", "tool"], [(M, "Cursor")], seats=seats, declared=declared, prices=prices) == [
        (12, 480.0, spend.SEATS)
    ]
    keys = ["month", "tool", "team_id"]
    team = rows(keys, [(M, "Cursor", 1)], seats=seats, declared=declared, prices=prices)
    assert team == [(None, None, spend.ORG_ONLY)]
    # Assignments name people: a team holding none of them holds 0 seats, a known 0.
    teams = rows(keys, [(M, "Cursor", 1), (M, "Cursor", 3)], seats=seats, prices=prices)
    assert teams == [(1, 40.0, spend.SEATS), (0, 0.0, spend.SEATS)]


def test_usage_cost_where_there_are_no_seats_and_org_totals_win_for_the_organization() -> None:
    usage = pd.DataFrame(
        {
            "month": [M, M, M],
            "tool": ["Claude Code"] * 3,
            "team_id": [1, 1, None],
            "per_user": [True, True, False],
            "cost": [5.0, 7.0, 30.0],
        }
    )
    prices = {"Claude Code": 100.0}
    assert rows(["month", "tool"], [(M, "Claude Code")], usage=usage, prices=prices) == [
        (None, 30.0, spend.USAGE)
    ]
    assert rows(["month", "tool", "team_id"], [(M, "Claude Code", 1)], usage=usage, prices=prices) == [
        (None, 12.0, spend.USAGE)
    ]


def test_unknown_spend_leaves_the_net_value_unknown_in_the_roi_table() -> None:
    ai_prs = pd.DataFrame({"month": [M, M], "tool": ["Cursor", "Claude Code"]})
    declared = pd.DataFrame({"month": [M], "tool": ["Claude Code"], "seats": [3]})
    out = roi.roi_by(
        ["month", "tool"],
        ai_prs=ai_prs,
        responses=pd.DataFrame(columns=["month", "tool", "hours"]),
        users=EMPTY_SEATS,
        seats=EMPTY_SEATS,
        declared=declared,
        usage=EMPTY_USAGE,
        prices={"Cursor": 40.0, "Claude Code": 100.0},
        effect=(-20.0, -30.0, -10.0),
        hours_per_pr=5.0,
        hourly_cost=100.0,
        min_group_size=5,
    ).set_index("tool")
    assert math.isnan(out.loc["Cursor", "spend"]) and math.isnan(out.loc["Cursor", "measured_net"])
    assert out.loc["Cursor", "spend_note"] == spend.UNKNOWN and out.loc["Cursor", "measured_hours"] > 0
    claude = out.loc["Claude Code"]
    assert claude["spend"] == 300.0 and claude["measured_net"] == claude["measured_hours"] * 100 - 300
