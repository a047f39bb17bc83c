"""ai_impact on small frames with exact expected values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from metrics.analytics import ai_impact


def exact_frame(effect: float = 0.5, n_authors: int = 12, weeks: int = 10) -> pd.DataFrame:
    """y = effect*ai + 0.3*log_size + author + week, no noise: OLS must return ``effect`` exactly."""
    rows = []
    for a in range(n_authors):
        for w in range(weeks):
            for k in range(2):
                ai = float((a + w + k) % 3 == 0)
                log_size = 1.0 + ((a * 7 + w * 3 + k) % 5)
                rows.append(
                    {
                        "author_id": a,
                        "week": f"w{w}",
                        "repository_id": k,
                        "ai": ai,
                        "log_size": log_size,
                        "log_files": (a + k) % 2,
                        "log_cycle": effect * ai + 0.3 * log_size + 0.1 * a - 0.05 * w,
                        "reverted": 0.0,
                    }
                )
    return pd.DataFrame(rows)


def test_absorb_removes_both_group_means() -> None:
    frame = pd.DataFrame({"a": [0, 0, 1, 1], "b": [0, 1, 0, 1], "y": [1.0, 2.0, 3.0, 6.0]})
    out = ai_impact.absorb(frame, ["y"], ["a", "b"])
    assert out["y"].round(9).tolist() == [0.5, -0.5, -0.5, 0.5]


def test_fixed_effect_regression_recovers_an_exact_effect() -> None:
    estimate = ai_impact.fe_effect(
        exact_frame(),
        outcome="cycle_time",
        y="log_cycle",
        treat="ai",
        controls=["log_size", "log_files"],
        fixed_effects=["repository_id", "author_id", "week"],
        cluster="author_id",
    )
    assert estimate.status == "ok" and estimate.n == 240 and estimate.n_clusters == 12
    assert estimate.estimate == pytest.approx((np.exp(0.5) - 1) * 100, rel=1e-6)
    assert estimate.ci_low == pytest.approx(estimate.estimate, rel=1e-4)


def test_small_samples_say_not_enough_data() -> None:
    small = exact_frame(n_authors=4, weeks=3)
    estimate = ai_impact.fe_effect(
        small,
        outcome="revert_rate",
        y="reverted",
        treat="ai",
        controls=[],
        fixed_effects=["author_id"],
        cluster="author_id",
    )
    assert estimate.status == "not enough data" and estimate.estimate is None and estimate.n_treated == 8


def test_naive_difference_of_means() -> None:
    frame = pd.DataFrame(
        {
            "ai": [1.0] * 30 + [0.0] * 30,
            "log_cycle": [1.0, 3.0] * 15 + [2.0, 4.0] * 15,
            "reverted": [0.0] * 60,
            "author_id": range(60),
        }
    )
    cycle, _ = ai_impact.naive_effects(frame)
    assert cycle.estimate == pytest.approx((np.exp(-1.0) - 1) * 100)
    se = np.sqrt(2 * (1.0 * 30 / 29) / 30)  # both sides: variance 1 (ddof=1 -> 30/29)
    assert cycle.ci_high == pytest.approx((np.exp(-1.0 + 1.959963984540054 * se) - 1) * 100)


def test_adoption_weeks_and_did_on_exact_data() -> None:
    rows = []
    for team in range(8):
        adopt = 3 + team if team < 6 else 99
        for w in range(10):
            for k in range(6):
                post = float(w >= adopt)
                rows.append(
                    {
                        "team_id": team,
                        "week": f"w{w:02d}",
                        "ai": post,
                        "log_size": float(k % 3),
                        "log_files": 0.0,
                        "log_cycle": -0.2 * post + 0.3 * (k % 3) + 0.1 * team + 0.01 * w,
                    }
                )
    frame = pd.DataFrame(rows)
    adoption = ai_impact.adoption_weeks(frame)
    assert adoption.to_dict() == {t: f"w{3 + t:02d}" for t in range(6)}
    did = ai_impact.did_effect(frame, adoption)
    assert did.status == "ok" and did.estimate == pytest.approx((np.exp(-0.2) - 1) * 100, rel=1e-6)


def test_detection_coverage_counts_telemetry_prs_without_evidence() -> None:
    day = pd.Timestamp("2026-03-02", tz="UTC")
    prs = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "author_id": [7, 7, 8],
            "first_commit_at": [day] * 3,
            "created_at": [day] * 3,
            "merged_at": [day + pd.Timedelta(days=2)] * 3,
            "ai_assisted": [True, False, False],
        }
    )
    usage = pd.DataFrame(
        {"person_id": [7, 8], "day": [dt.date(2026, 3, 3), dt.date(2026, 3, 9)], "active": [True, True]}
    )
    assert ai_impact.detection_coverage(prs, usage) == {
        "prs_with_telemetry": 2,
        "without_evidence": 1,
        "share_without_evidence": 0.5,
    }


def test_adoption_levels() -> None:
    at = pd.Timestamp("2026-03-10", tz="UTC")
    prs = pd.DataFrame(
        {"author_id": [1, 1, 2, 2, 3], "merged_at": [at] * 5, "ai_assisted": [True, True, True, False, False]}
    )
    usage = pd.DataFrame(
        {
            "person_id": [3] * 8 + [4],
            "day": [dt.date(2026, 3, d) for d in range(1, 9)] + [dt.date(2026, 3, 1)],
            "active": [True] * 9,
        }
    )
    levels = ai_impact.adoption_levels(prs, usage).set_index("person_id")["level"].to_dict()
    assert levels == {1: "regular", 2: "regular", 3: "regular", 4: "occasional"}
    fewer = pd.DataFrame(
        {
            "author_id": [1, 2, 2, 2, 3],
            "merged_at": [at] * 5,
            "ai_assisted": [False, True, False, False, False],
        }
    )
    levels = ai_impact.adoption_levels(fewer).set_index("person_id")["level"].to_dict()
    assert levels == {1: "none", 2: "occasional", 3: "none"}


def test_sensitivity_has_a_row_per_detection_rule() -> None:
    frame = exact_frame().reset_index(names="id")
    evidence = pd.DataFrame({"id": frame.loc[frame["ai"] == 1, "id"], "kind": "trailer"})
    table = ai_impact.sensitivity(frame, evidence)
    assert table["rule"].tolist() == ["any", "trailer"]
    assert table["estimate"].iloc[0] == pytest.approx(table["estimate"].iloc[1])  # same PRs flagged
