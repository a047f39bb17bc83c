"""Review load: what reviewing costs each reviewer and team, and how much of it AI and agent PRs take.

Pure pandas.  Inputs — prs: id, author_id, created_at, ready_at, additions, deletions, klass (``human``,
``ai_assisted`` or ``agent``); reviews: pr_id, reviewer_id, state (``APPROVED``, ``CHANGES_REQUESTED``,
``COMMENTED``, ...), submitted_at.  A reviewer's own PR and reviews without a reviewer are left out.

Definitions (the catalog's ``review_*`` metrics say the same):

- a **review** is one (PR, reviewer) pair; **reviews given** counts them, in the month of the reviewer's
  first submission on the PR;
- **review hours**: review requested (ready for review, else opened) -> the reviewer's first approval;
- **review rounds** of a PR: its reviewers' submissions up to and including its last approval (1 = approved
  at first look); per reviewer, the mean over the PRs they reviewed;
- **comments per 100 changed lines**: submissions that comment or request changes, per 100 lines changed
  of the PRs reviewed (a line comment inside one submission counts once: its count is not stored);
- the **AI and agent shares** of a reviewer's reviews: reviews on AI-assisted and on agent-authored PRs;
- a **quick approval of a large PR**: approved within ``quick_minutes`` of being ready, on a PR of more
  than ``large_lines`` changed lines (organization settings).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

QUICK_MINUTES = 10.0
LARGE_LINES = 500
APPROVED = "APPROVED"
COMMENTS = ("COMMENTED", "CHANGES_REQUESTED")


def _month(values: pd.Series) -> pd.Series:
    return values.dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M").dt.start_time.dt.date


def review_pairs(
    prs: pd.DataFrame,
    reviews: pd.DataFrame,
    *,
    quick_minutes: float = QUICK_MINUTES,
    large_lines: int = LARGE_LINES,
) -> pd.DataFrame:
    """One row per (PR, reviewer): month, submissions, comments, first approval, review_hours, rounds of the
    PR, lines, klass and ``quick_large`` (a quick approval of a large PR)."""
    columns = ["pr_id", "reviewer_id", "month", "submissions", "comments", "review_hours", "rounds"]
    if reviews.empty or prs.empty:
        return pd.DataFrame(columns=[*columns, "lines", "klass", "quick_large"])
    pr = prs.set_index("id")
    data = reviews.dropna(subset=["reviewer_id", "submitted_at"])
    data = data[data["pr_id"].isin(pr.index)]
    data = data[data["reviewer_id"].to_numpy() != pr.loc[data["pr_id"], "author_id"].to_numpy()]
    if data.empty:
        return pd.DataFrame(columns=[*columns, "lines", "klass", "quick_large"])
    data = data.assign(
        approval=data["state"].str.upper().eq(APPROVED),
        comment=data["state"].str.upper().isin(COMMENTS),
    )
    last_approval = data[data["approval"]].groupby("pr_id")["submitted_at"].max()
    upto = data["submitted_at"] <= data["pr_id"].map(last_approval)
    rounds = data[upto].groupby("pr_id").size()
    first_approval = (
        data[data["approval"]].groupby(["pr_id", "reviewer_id"])["submitted_at"].min().rename("approved_at")
    )
    pairs = data.groupby(["pr_id", "reviewer_id"]).agg(
        first_at=("submitted_at", "min"), submissions=("state", "size"), comments=("comment", "sum")
    )
    pairs = pairs.join(first_approval).reset_index()
    requested = pr["ready_at"].fillna(pr["created_at"]) if "ready_at" in pr else pr["created_at"]
    start = pairs["pr_id"].map(requested)
    hours = (pairs["approved_at"] - start).dt.total_seconds() / 3600
    lines = pr["additions"].fillna(0).astype(float) + pr["deletions"].fillna(0).astype(float)
    pairs["review_hours"] = hours.where(hours >= 0)
    pairs["rounds"] = pairs["pr_id"].map(rounds).astype(float)
    pairs["lines"] = pairs["pr_id"].map(lines)
    pairs["klass"] = pairs["pr_id"].map(pr["klass"]).fillna("human")
    pairs["month"] = _month(pairs["first_at"])
    pairs["quick_large"] = (pairs["review_hours"] * 60 <= quick_minutes) & (pairs["lines"] > large_lines)
    return pairs[[*columns, "lines", "klass", "quick_large"]]


def approver_of(reviews: pd.DataFrame) -> pd.Series:
    """pr_id -> the reviewer whose approval was the PR's last (the reviewer-time model's reviewer)."""
    approvals = reviews[reviews["state"].str.upper().eq(APPROVED)].dropna(subset=["reviewer_id"])
    if approvals.empty:
        return pd.Series(dtype=float)
    last = approvals.sort_values("submitted_at").groupby("pr_id").tail(1)
    return last.set_index("pr_id")["reviewer_id"]


def load(pairs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Review load per ``keys`` group (e.g. reviewer_id and month, or team_id and month), long format:
    keys + metric, value, n (the reviews behind the value; hours: the approvals)."""
    if pairs.empty:
        return pd.DataFrame(columns=[*keys, "metric", "value", "n"])
    rows = []
    for key, group in pairs.groupby(keys, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        n = len(group)
        hours = group["review_hours"].dropna()
        lines = float(group["lines"].sum())
        values = {
            "reviews_given": (float(n), n),
            "review_hours_p50": (float(hours.median()) if len(hours) else np.nan, len(hours)),
            "review_rounds": (float(group["rounds"].mean()), int(group["rounds"].notna().sum())),
            "review_comments_per_100_lines": (
                float(group["comments"].sum()) / lines * 100 if lines > 0 else np.nan,
                n,
            ),
            "review_ai_share": (float((group["klass"] == "ai_assisted").mean()), n),
            "review_agent_share": (float((group["klass"] == "agent").mean()), n),
            "quick_large_approvals": (float(group["quick_large"].sum()), n),
        }
        for metric, (value, count) in values.items():
            if not np.isnan(value):
                rows.append((*key, metric, value, count))
    return pd.DataFrame(rows, columns=[*keys, "metric", "value", "n"])
