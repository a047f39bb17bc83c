"""Flow phases and quantiles on small frames with exact values, including the awkward cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metrics.analytics import delivery, flow
from metrics.analytics.snapshots import metric_snapshots


def t(day: int, hour: int = 0) -> pd.Timestamp:
    return pd.Timestamp(2024, 3, day, hour, tz="UTC")


NAT = pd.NaT


def frame(rows: list[dict]) -> pd.DataFrame:
    columns = ["first_commit_at", "created_at", "ready_at", "first_review_at", "approved_at", "merged_at"]
    out = pd.DataFrame(rows)
    for c in columns:
        out[c] = pd.to_datetime(out.get(c, pd.Series([NAT] * len(out))), utc=True)
    return out


def test_all_phases_of_a_normal_pr() -> None:
    spans = flow.phase_spans(
        frame(
            [
                {
                    "first_commit_at": t(1),
                    "created_at": t(2),
                    "ready_at": t(3),
                    "first_review_at": t(4),
                    "approved_at": t(5),
                    "merged_at": t(5, 6),
                }
            ]
        )
    ).iloc[0]
    assert (spans.cycle_hours, spans.coding_hours, spans.pickup_hours) == (
        102.0,
        24.0,
        24.0,
    )  # draft day excluded
    assert (spans.rework_hours, spans.merge_wait_hours, spans.review_hours) == (24.0, 6.0, 30.0)


def test_no_reviews_pickup_ends_at_approval_or_merge() -> None:
    spans = flow.phase_spans(
        frame(
            [
                {"created_at": t(1), "approved_at": t(2), "merged_at": t(3)},
                {"created_at": t(1), "merged_at": t(1, 5)},
            ]
        )
    )
    assert spans["pickup_hours"].tolist() == [24.0, 5.0]
    assert spans["rework_hours"].tolist()[0] == 0.0 and np.isnan(spans["rework_hours"].tolist()[1])
    assert np.isnan(spans["review_hours"]).all()


def test_review_before_open_and_negative_spans_are_dropped_not_clipped() -> None:
    spans = flow.phase_spans(
        frame(
            [
                {
                    "first_commit_at": t(5),
                    "created_at": t(2),
                    "first_review_at": t(1),
                    "approved_at": t(3),
                    "merged_at": t(4),
                }
            ]
        )
    ).iloc[0]
    assert np.isnan(spans.pickup_hours) and np.isnan(spans.coding_hours) and np.isnan(spans.cycle_hours)
    assert spans.rework_hours == 48.0 and spans.merge_wait_hours == 24.0


def test_reopened_pr_counts_from_its_first_opening() -> None:
    # closed on day 2 and reopened on day 6: created_at stays the first opening
    spans = flow.phase_spans(
        frame([{"first_commit_at": t(1), "created_at": t(1, 12), "merged_at": t(8)}])
    ).iloc[0]
    assert spans.cycle_hours == 168.0 and spans.pickup_hours == 156.0


def test_quantiles_match_linear_interpolation_and_skip_empty_groups() -> None:
    data = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 2, "h": [1.0, 2.0, 3.0, 10.0, np.nan, np.nan]})
    out = flow.grouped_quantiles(data, "h", ["g"])
    assert out.to_dict("records") == [{"g": "a", "p50": 2.5, "p75": 4.75, "p90": pytest.approx(7.9), "n": 4}]
    assert flow.grouped_quantiles(data[data["g"] == "b"], "h", ["g"]).empty


def test_deploy_span_uses_the_next_production_deployment() -> None:
    prs = pd.DataFrame({"repository_id": [1, 1, 2], "merged_at": [t(1), t(3), t(1)]})
    deployments = pd.DataFrame(
        {
            "repository_id": [1, 1, 1],
            "created_at": [t(2), t(4), t(3)],
            "status": ["success", "success", "failure"],
            "is_production": [True, True, True],
        }
    )
    assert flow.deploy_spans(prs, deployments).tolist()[:2] == [24.0, 24.0]
    assert np.isnan(flow.deploy_spans(prs, deployments).tolist()[2])


def test_change_failure_rate_counts_failed_and_reverted_deployments() -> None:
    deployments = pd.DataFrame(
        {
            "repository_id": [1, 1, 1],
            "created_at": [t(2), t(4), t(6)],
            "status": ["success", "failure", "success"],
            "is_production": [True, True, True],
        }
    )
    prs = pd.DataFrame({"repository_id": [1, 1], "merged_at": [t(1), t(5)], "reverted_at": [t(3), NAT]})
    prs["reverted_at"] = pd.to_datetime(prs["reverted_at"], utc=True)
    prs["id"] = [1, 2]
    failed = delivery.outcomes(deployments, None, prs)[0]["failed"]
    assert failed.tolist() == [True, True, False]


def test_snapshots_cover_phases_sizes_people_and_bots() -> None:
    prs = frame(
        [
            {
                "first_commit_at": t(4),
                "created_at": t(4, 2),
                "first_review_at": t(4, 5),
                "approved_at": t(4, 6),
                "merged_at": t(4, 10),
            },
            {"first_commit_at": t(5), "created_at": t(5), "merged_at": t(5, 4)},
            {"first_commit_at": t(5), "created_at": t(5), "merged_at": t(5, 1)},
        ]
    ).assign(
        id=[1, 2, 3],
        repository_id=1,
        author_id=[10, 10, 99],
        state="merged",
        is_bot=[False, False, True],
        ai_assisted=[True, False, False],
        reverted_at=pd.to_datetime([t(6), NAT, NAT], utc=True),
        additions=[10, 20, 1],
        deletions=[0, 5, 0],
    )
    teams = pd.DataFrame({"team_id": [1], "parent_id": [None]})
    members = pd.DataFrame(
        {
            "person_id": [10],
            "team_id": [1],
            "start": pd.to_datetime([NAT], utc=True),
            "end": pd.to_datetime([NAT], utc=True),
        }
    )
    out = metric_snapshots(prs, members, teams)
    week = out[(out["scope"] == "team") & (out["period"] == "week")].set_index("metric")
    assert week.loc["cycle_time_p50", "value"] == 7.0 and week.loc["cycle_time_p50", "n"] == 2
    assert week.loc["pr_size_p90", "value"] == pytest.approx(23.5)
    assert week.loc["revert_rate", "value"] == 0.5 and week.loc["ai_assisted_share", "value"] == 0.5
    assert "bot_merged_prs" not in week.index  # the bot is in no team
    person = out[out["scope"] == "person"]
    assert set(person["period"]) == {"month"} and set(person["person_id"]) == {10, 99}
    org = out[(out["scope"] == "organization") & (out["period"] == "week")].set_index("metric")
    assert org.loc["bot_merged_prs", "value"] == 1.0 and org.loc["merged_prs", "value"] == 2.0
