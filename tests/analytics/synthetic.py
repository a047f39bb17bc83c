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


def synthetic_org(
    seed: int,
    *,
    agent_effect: float = 0.15,
    dose_slope: float = -0.04,
    review_ai: float = 0.3,
    review_agent: float = 0.6,
    teams: int = 10,
    authors_per_team: int = 8,
    weeks: int = 20,
) -> pd.DataFrame:
    """Merged PRs of three classes (human, AI-assisted, agent-authored) with planted truths and confounding.

    Truths: an agent PR changes cycle time by ``agent_effect`` (0.15 = +15%); every 10 points of AI share
    of added lines change an AI-assisted PR's cycle time by ``dose_slope`` (log scale: -0.04 = -3.9%); AI-
    assisted and agent PRs change the reviewer's hours to approval by ``review_ai`` and ``review_agent``.
    Confounding: teams adopt AI and agents at different weeks and early adopters are faster; skilled
    authors use AI more and write a larger share with it; AI and agent PRs are smaller, and small PRs get a
    larger AI share; slow reviewers are given more AI and agent PRs; everyone speeds up over time.  The AI
    share is known (line-level tracking) for about 60% of the authors."""
    rng = np.random.default_rng(seed)
    adoption = np.array([2, 4, 6, 9, 10**6, 10**6, 5, 8, 3, 7])[:teams]
    agent_start = adoption + 3
    team_speed = np.where(adoption <= 8, -0.3, 0.0) + rng.normal(0, 0.1, teams)
    n_authors = teams * authors_per_team
    skill = rng.normal(0, 0.3, n_authors)
    propensity = np.clip(0.5 - skill + rng.normal(0, 0.15, n_authors), 0.1, 0.95)  # fast authors use AI more
    tracked = rng.random(n_authors) < 0.6
    reviewer_slowness = rng.normal(0, 0.4, n_authors)
    rows = []
    for author in range(n_authors):
        team = author // authors_per_team
        for week in range(weeks):
            for _ in range(rng.poisson(1.3)):
                ai = week >= adoption[team] and rng.random() < propensity[author]
                agent = (not ai) and week >= agent_start[team] and rng.random() < 0.6 * propensity[author]
                rows.append((author, team, week, ai, agent))
    frame = pd.DataFrame(rows, columns=["author_id", "team_id", "week_no", "ai", "agent"])
    n = len(frame)
    author = frame["author_id"].to_numpy()
    ai = frame["ai"].to_numpy(dtype=float)
    agent = frame["agent"].to_numpy(dtype=float)
    log_size = rng.normal(4.0, 1.0, n) - 0.5 * ai - 0.8 * agent
    share_logit = -0.5 + 2.0 * (propensity[author] - 0.5) - 0.4 * (log_size - 4) + rng.normal(0, 0.8, n)
    share = np.where(ai > 0, 1 / (1 + np.exp(-share_logit)), 0.0)
    log_cycle = (
        2.5
        + 0.35 * log_size
        + team_speed[frame["team_id"]]
        + skill[author]
        - 0.004 * frame["week_no"]
        + dose_slope * share * 10
        + np.log1p(agent_effect) * agent
        + rng.normal(0, 0.8, n)
    )
    # Reviewers: someone else; AI and agent PRs go more often to the slow reviewers.
    slow = np.argsort(-reviewer_slowness)[: n_authors // 3]
    pick_slow = rng.random(n) < 0.25 + 0.4 * np.maximum(ai, agent)
    reviewer = np.where(pick_slow, rng.choice(slow, n), rng.integers(0, n_authors, n))
    reviewer = np.where(reviewer == author, (reviewer + 1) % n_authors, reviewer)
    log_review = (
        1.5
        + 0.25 * log_size
        + reviewer_slowness[reviewer]
        - 0.005 * frame["week_no"]
        + np.log1p(review_ai) * ai
        + np.log1p(review_agent) * agent
        + rng.normal(0, 0.7, n)
    )
    created_at = START + pd.to_timedelta(frame["week_no"] * 7 + rng.uniform(0, 5, n), unit="D")
    merged_at = created_at + pd.to_timedelta(np.exp(log_cycle), unit="h")
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "author_id": frame["author_id"],
            "team_id": frame["team_id"],
            "repository_id": rng.integers(0, 3, n),
            "reviewer_id": reviewer,
            "ai_assisted": frame["ai"] | frame["agent"],
            "agent_authored": frame["agent"],
            "ai_share": np.where(tracked[author], share, np.nan),
            "created_at": created_at,
            "ready_at": created_at,
            "first_commit_at": created_at,
            "approved_at": created_at + pd.to_timedelta(np.exp(log_review), unit="h"),
            "merged_at": merged_at,
            "cycle_hours": np.exp(log_cycle),
            "size_lines": np.round(np.exp(log_size)),
            "changed_files": 1 + rng.poisson(np.exp(log_size) / 40),
            "reverted": rng.random(n) < 0.05,
        }
    )


def synthetic_engineer_weeks(
    seed: int, *, effect: float = 0.3, engineers: int = 60, weeks: int = 26
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(merged PRs, AI telemetry days) where a week with AI use adds ``effect`` merged PRs.

    Confounding: productive engineers adopt earlier and use AI on more weeks; everyone's output grows over
    time, as does AI use.  A third of the engineers have no telemetry: they use AI every week once they
    have adopted it, and it shows only as evidence on most of their PRs."""
    rng = np.random.default_rng(seed)
    base = rng.gamma(4.0, 0.35, engineers)
    adopt = np.where(rng.random(engineers) < 0.8, rng.integers(2, weeks - 4, engineers), 10**6)
    adopt = np.where(base > np.median(base), adopt // 2, adopt)  # productive engineers adopt earlier
    telemetry = rng.random(engineers) < 0.67
    use_rate = np.clip(0.5 + 0.3 * (base - base.mean()), 0.2, 0.95)
    prs, usage = [], []
    for e in range(engineers):
        for week in range(weeks):
            used = week >= adopt[e] and (not telemetry[e] or rng.random() < use_rate[e])
            mean = base[e] + 0.02 * week + (effect if used else 0.0)
            monday = START + pd.Timedelta(days=7 * week)
            if used and telemetry[e]:
                usage.append((e, (monday + pd.Timedelta(days=int(rng.integers(0, 5)))).date(), True))
            for _ in range(rng.poisson(max(mean, 0.0))):
                at = monday + pd.Timedelta(hours=float(rng.uniform(1, 110)))
                prs.append((e, at, bool(used and rng.random() < 0.7)))
    frame = pd.DataFrame(prs, columns=["author_id", "merged_at", "ai_assisted"])
    telemetry_days = pd.DataFrame(usage, columns=["person_id", "day", "active"])
    return frame, telemetry_days
