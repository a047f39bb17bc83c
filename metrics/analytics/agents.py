"""Agent-authored PRs as a class of their own: a coding agent (Copilot coding agent, Codex, Devin, Jules,
Claude Code in CI, Cursor background agents) opened the PR.  Pure pandas.

Which PRs are agent PRs is decided in :mod:`metrics.analytics.ai_detection` (``is_agent_evidence``: agent
author, agent branch, agent label, agent session link, or telemetry).  Every number here counts agent PRs
only; the AI-assisted metrics count human PRs only, so the two never mix.

Input — prs (agent PRs only, bots included: agents often open PRs as ``[bot]`` accounts): id, state,
created_at, merged_at, closed_at, reverted_at, review_rounds, human_followups (commits by a human after
the PR was opened), agent_tool.  Output: long rows (month, metric, value, n) per group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REVERT_WINDOW_DAYS = 14


def _month(values: pd.Series) -> pd.Series:
    return values.dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M").dt.start_time.dt.date


def agent_metrics(prs: pd.DataFrame, keys: list[str], *, now: pd.Timestamp) -> pd.DataFrame:
    """Monthly agent-PR metrics per ``keys`` group (``[]`` for the organization): keys + month, metric,
    value, n.  Opened by opening month; merged, time to merge, rounds, follow-ups and reverts by merge month;
    abandoned (closed unmerged) by closing month; the abandon rate by opening month over the PRs opened then
    that are resolved (merged or closed).  The revert rate counts merged PRs whose 14-day window has closed
    at ``now``."""
    columns = [*keys, "month", "metric", "value", "n"]
    if prs.empty:
        return pd.DataFrame(columns=columns)
    merged = prs[prs["merged_at"].notna()].assign(month=lambda f: _month(f["merged_at"]))
    abandoned = prs[prs["merged_at"].isna() & prs["closed_at"].notna()]
    abandoned = abandoned.assign(month=_month(abandoned["closed_at"]))
    opened = prs[prs["created_at"].notna()].assign(month=lambda f: _month(f["created_at"]))
    resolved = opened[opened["merged_at"].notna() | opened["closed_at"].notna()]
    window = pd.Timedelta(days=REVERT_WINDOW_DAYS)
    watched = merged[merged["merged_at"] + window <= now]
    watched = watched.assign(
        reverted=(watched["reverted_at"].notna() & (watched["reverted_at"] - watched["merged_at"] <= window))
    )
    merged = merged.assign(
        hours=(merged["merged_at"] - merged["created_at"]).dt.total_seconds() / 3600,
    )
    rows: list[tuple] = []

    def add(frame: pd.DataFrame, metric: str, how: str, column: str = "id") -> None:
        if frame.empty:
            return
        grouped = frame.groupby([*keys, "month"], observed=True)[column]
        values = {"count": grouped.size(), "median": grouped.median(), "mean": grouped.mean()}[how]
        counts = grouped.count() if how != "count" else grouped.size()
        for key, value in values.items():
            key = key if isinstance(key, tuple) else (key,)
            if counts[key if len(key) > 1 else key[0]] > 0 and not np.isnan(value):
                rows.append((*key, metric, float(value), int(counts[key if len(key) > 1 else key[0]])))

    add(opened, "agent_opened_prs", "count")
    add(merged, "agent_merged_prs", "count")
    add(abandoned, "agent_abandoned_prs", "count")
    add(
        resolved.assign(closed=resolved["merged_at"].isna().astype(float)),
        "agent_abandon_rate",
        "mean",
        "closed",
    )
    add(merged[merged["hours"] >= 0], "agent_time_to_merge_p50", "median", "hours")
    add(merged.dropna(subset=["review_rounds"]), "agent_review_rounds", "mean", "review_rounds")
    add(merged.dropna(subset=["human_followups"]), "agent_followup_commits", "mean", "human_followups")
    add(watched.assign(reverted=watched["reverted"].astype(float)), "agent_revert_rate", "mean", "reverted")
    return pd.DataFrame(rows, columns=columns)


def merged_by_tool(prs: pd.DataFrame) -> pd.DataFrame:
    """(month, tool, merged_agent_prs): merged agent PRs per month and agent tool."""
    merged = prs[prs["merged_at"].notna()].dropna(subset=["agent_tool"])
    if merged.empty:
        return pd.DataFrame(columns=["month", "tool", "merged_agent_prs"])
    out = merged.assign(month=_month(merged["merged_at"]), tool=merged["agent_tool"])
    return out.groupby(["month", "tool"]).size().rename("merged_agent_prs").reset_index()
