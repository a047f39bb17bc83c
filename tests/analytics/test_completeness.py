"""Provisional periods and the revert metrics' observation window (issue 16, items 1 and 2)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from metrics.analytics import completeness
from metrics.analytics.snapshots import Observation, metric_snapshots

THROUGH = dt.datetime(2026, 11, 23, 18, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def test_a_period_past_the_data_or_still_running_is_provisional() -> None:
    upto = completeness.limit(THROUGH, NOW)
    assert upto == THROUGH
    assert completeness.is_provisional("month", dt.date(2026, 11, 1), "merged_prs", upto=upto)
    assert not completeness.is_provisional("month", dt.date(2026, 10, 1), "merged_prs", upto=upto)
    assert completeness.is_provisional("week", dt.date(2026, 11, 23), "merged_prs", upto=upto)
    assert not completeness.is_provisional("week", dt.date(2026, 11, 9), "merged_prs", upto=upto)
    # The revert metrics wait for the window after the last day: the week ends 16 Nov, + 14 days > 23 Nov.
    assert completeness.is_provisional("week", dt.date(2026, 11, 9), "revert_rate", upto=upto)
    week = dt.date(2026, 11, 9)
    assert not completeness.is_provisional("week", week, "revert_rate", upto=upto, window_days=7)
    assert not completeness.is_provisional("month", dt.date(2026, 10, 1), "revert_rate", upto=upto)
    # Data newer than the clock (a skewed commit date) never makes a running period complete.
    assert completeness.limit(NOW + dt.timedelta(days=30), NOW) == NOW
    assert completeness.through_label(upto) == "provisional — data through 23 Nov 2026"


def prs(*rows: tuple[str, str | None]) -> pd.DataFrame:
    merged = pd.to_datetime([m for m, _ in rows], utc=True)
    reverted = pd.to_datetime([r for _, r in rows], utc=True)
    n = len(rows)
    return pd.DataFrame(
        {
            "id": range(1, n + 1),
            "repository_id": 1,
            "author_id": pd.array(range(1, n + 1), dtype="Int64"),
            "state": "merged",
            "is_bot": False,
            "ai_assisted": pd.array([None] * n, dtype="boolean"),
            "first_commit_at": merged - pd.Timedelta(hours=5),
            "created_at": merged - pd.Timedelta(hours=4),
            "merged_at": merged,
            "reverted_at": reverted,
        }
    )


def org_month(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = frame[
        (frame["scope"] == "organization") & (frame["period"] == "month") & (frame["metric"] == metric)
    ]
    return rows.set_index(rows["period_start"].astype(str))


def test_revert_rate_counts_only_merges_whose_window_closed_and_reverts_inside_it() -> None:
    frame = prs(
        ("2026-10-05", "2026-10-06"),  # reverted the next day: counts
        ("2026-10-07", "2026-11-20"),  # reverted after 44 days: outside the window
        ("2026-10-20", None),
        ("2026-11-20", "2026-11-21"),  # merged 3 days before the data ends: its window is still open
        ("2026-11-02", None),
    )
    empty = pd.DataFrame(
        {
            "person_id": [1],
            "team_id": [1],
            "start": pd.to_datetime(["2020-01-01"], utc=True),
            "end": pd.to_datetime([None], utc=True),
        }
    )
    teams = pd.DataFrame({"team_id": [1], "parent_id": [None]})
    plain = org_month(metric_snapshots(frame, empty, teams), "revert_rate")
    assert plain.loc["2026-11-01", "value"] == 0.5 and plain.loc["2026-10-01", "value"] == 2 / 3
    censored = metric_snapshots(frame, empty, teams, observation=Observation(pd.Timestamp(THROUGH), 14))
    rate = org_month(censored, "revert_rate")
    assert rate.loc["2026-10-01", "value"] == 1 / 3 and rate.loc["2026-10-01", "n"] == 3
    assert rate.loc["2026-11-01", "value"] == 0.0 and rate.loc["2026-11-01", "n"] == 1  # 2 Nov only
    ttr = org_month(censored, "time_to_revert_p50")
    assert ttr.loc["2026-10-01", "value"] == 24.0 and ttr.loc["2026-10-01", "n"] == 1
    assert org_month(censored, "merged_prs").loc["2026-11-01", "value"] == 2  # volume is not censored
