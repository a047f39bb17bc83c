"""Synthetic organizations with a planted AI effect and realistic confounding, for validation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

START = pd.Timestamp("2025-01-06", tz="UTC")


def synthetic_prs(
    seed: int,
    *,
    effect: float = -0.2,
    revert_effect: float = -0.02,
    teams: int = 8,
    authors_per_team: int = 8,
    weeks: int = 52,
) -> pd.DataFrame:
    """Merged PRs where AI changes cycle time by ``effect`` (-0.2 = -20%) and revert probability by
    ``revert_effect`` (absolute), with confounding: AI users open smaller PRs, early-adopting teams
    are already faster, everyone speeds up over time, authors differ in skill."""
    rng = np.random.default_rng(seed)
    adoption = np.array([8, 10, 12, 20, 28, 36, 10**6, 10**6])[:teams]  # two teams never adopt
    team_speed = np.where(adoption <= 12, -0.35, 0.0) + rng.normal(0, 0.1, teams)
    rows = []
    for author in range(teams * authors_per_team):
        team = author // authors_per_team
        skill, propensity = rng.normal(0, 0.3), rng.uniform(0.3, 0.9)
        for week in range(weeks):
            for _ in range(rng.poisson(1.2)):
                ai = week >= adoption[team] and rng.random() < propensity
                rows.append((author, team, week, ai, skill))
    frame = pd.DataFrame(rows, columns=["author_id", "team_id", "week_no", "ai", "skill"])
    n = len(frame)
    ai = frame["ai"].to_numpy(dtype=float)
    log_size = rng.normal(4.0, 1.0, n) - 0.6 * ai  # AI users open smaller PRs
    log_cycle = (
        2.5
        + 0.35 * log_size
        + team_speed[frame["team_id"]]
        + frame["skill"]
        - 0.004 * frame["week_no"]
        + np.log1p(effect) * ai
        + rng.normal(0, 0.8, n)
    )
    p_revert = np.clip(0.06 + revert_effect * ai + 0.01 * (log_size - 4), 0.001, 0.999)
    created_at = START + pd.to_timedelta(frame["week_no"] * 7 + rng.uniform(0, 5, n), unit="D")
    merged_at = created_at + pd.to_timedelta(np.exp(log_cycle), unit="h")
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "author_id": frame["author_id"],
            "team_id": frame["team_id"],
            "repository_id": rng.integers(0, 3, n),
            "ai_assisted": frame["ai"],
            "created_at": created_at,
            "first_commit_at": created_at,
            "merged_at": merged_at,
            "cycle_hours": np.exp(log_cycle),
            "size_lines": np.round(np.exp(log_size)),
            "changed_files": 1 + rng.poisson(np.exp(log_size) / 40),
            "reverted": rng.random(n) < p_revert,
        }
    )
