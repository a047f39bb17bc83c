"""Flow: PR cycle time and its phases, throughput, PR size.

Definitions (DESIGN.md, definition version in ``snapshots.DEFINITION_VERSION``), all in hours:

- cycle   = first commit authored -> merged
- coding  = first commit authored -> PR opened
- pickup  = ready for review (else opened; draft time is excluded) -> first review or comment by a
            non-author non-bot; when there is none, the first approval, else the merge
- review  = first review -> merged = rework (first review -> last approval) + merge wait (last
            approval -> merged); without a review, rework is 0 and merge wait starts at the approval
- deploy  = merged -> first successful production deployment of the repository at or after the merge

A span that would be negative (clock skew, a review before the PR was opened, a rebased history) is
dropped, never clipped.  Quantiles are reported with the number of PRs behind them; never averaged.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

QUANTILES = {"p50": 0.5, "p75": 0.75, "p90": 0.9}
PHASES = ("cycle", "coding", "pickup", "rework", "merge_wait", "review", "deploy")


def hours_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """``end - start`` in hours; NaN where either is missing or the span is negative."""
    hours = (end - start).dt.total_seconds() / 3600.0
    return hours.where(hours >= 0)


def _first_known(*columns: pd.Series) -> pd.Series:
    out = columns[0]
    for column in columns[1:]:
        out = out.fillna(column)
    return out


def phase_spans(prs: pd.DataFrame) -> pd.DataFrame:
    """Per-PR phase spans.

    Input columns: first_commit_at, created_at, merged_at, and where known ready_at,
    first_review_at, approved_at (last approval) — tz-aware UTC, NaT allowed; a missing column
    counts as unknown.  Output: the input plus ``<phase>_hours`` for every phase but deploy
    (see :func:`deploy_spans`), float hours, NaN when unknown or negative.
    """
    empty = pd.Series(pd.NaT, index=prs.index, dtype="datetime64[ns, UTC]")
    first_commit, created, ready_at, reviewed, approved, merged = (
        prs.get(c, empty)
        for c in ("first_commit_at", "created_at", "ready_at", "first_review_at", "approved_at", "merged_at")
    )
    ready = _first_known(ready_at, created)
    picked_up = _first_known(reviewed, approved, merged)
    # Without a review, an approval starts the merge wait at once: rework is 0, not unknown.
    rework = hours_between(reviewed, approved).where(reviewed.notna(), 0.0).where(approved.notna())
    return prs.assign(
        cycle_hours=hours_between(first_commit, merged),
        coding_hours=hours_between(first_commit, created),
        pickup_hours=hours_between(ready, picked_up),
        rework_hours=rework,
        merge_wait_hours=hours_between(approved, merged),
        review_hours=hours_between(reviewed, merged),
    )


def cycle_time_spans(prs: pd.DataFrame) -> pd.DataFrame:
    """Backwards-compatible name for :func:`phase_spans`."""
    return phase_spans(prs)


def deploy_spans(prs: pd.DataFrame, deployments: pd.DataFrame) -> pd.Series:
    """Hours from merge to the first successful production deployment of the same repository.

    Input — prs: repository_id, merged_at; deployments: repository_id, created_at, status,
    is_production.  Output: a Series aligned to ``prs`` (NaN without a later deployment).
    """
    out = pd.Series(np.nan, index=prs.index, dtype=float)
    if deployments.empty or prs.empty:
        return out
    prod = deployments[deployments["is_production"].astype(bool) & (deployments["status"] == "success")]
    merged = prs[["repository_id", "merged_at"]].dropna().sort_values("merged_at")
    if prod.empty or merged.empty:
        return out
    prod = prod[["repository_id", "created_at"]].sort_values("created_at")
    joined = pd.merge_asof(
        merged.reset_index(), prod.rename(columns={"created_at": "deployed_at"}), left_on="merged_at",
        right_on="deployed_at", by="repository_id", direction="forward",
    ).set_index("index")
    out.loc[joined.index] = hours_between(joined["merged_at"], joined["deployed_at"])
    return out


def grouped_quantiles(frame: pd.DataFrame, column: str, by: list[str]) -> pd.DataFrame:
    """p50/p75/p90 (linear interpolation, as DuckDB's quantile_cont) and n per group.

    Groups with no known value are left out (there is nothing to report, not a zero).
    Output: *by, p50, p75, p90, n.
    """
    known = frame.loc[frame[column].notna(), [*by, column]]
    if known.empty:
        return pd.DataFrame(columns=[*by, *QUANTILES, "n"])
    grouped = known.groupby(by, observed=True, sort=False)[column]
    wide = grouped.quantile(np.array(list(QUANTILES.values()))).unstack()
    wide.columns = list(QUANTILES)
    wide["n"] = grouped.size()
    return wide.reset_index()


def span_quantiles(frame: pd.DataFrame, column: str, by: list[str], metric: str) -> pd.DataFrame:
    """Quantiles of ``column`` per group in long format: *by, metric (``<metric>_p50``...), value, n."""
    wide = grouped_quantiles(frame, column, by)
    if wide.empty:
        return pd.DataFrame(columns=[*by, "metric", "value", "n"])
    parts = [wide[[*by, "n"]].assign(metric=f"{metric}_{name}", value=wide[name]) for name in QUANTILES]
    return pd.concat(parts, ignore_index=True)


def throughput(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Merged PRs and merged PRs per active engineer per group.

    Input: merged non-bot PRs with ``author_id`` and the ``by`` columns.  An active engineer is a
    distinct author with at least one merged PR in the group.  Output: *by, metric, value, n
    (``merged_prs``: n = PRs; ``throughput_per_engineer``: n = engineers).
    """
    grouped = frame.groupby(by, observed=True)
    prs = grouped.size().rename("prs")
    engineers = grouped["author_id"].nunique().rename("engineers")
    both = pd.concat([prs, engineers], axis=1).reset_index()
    merged = both.assign(metric="merged_prs", value=both["prs"].astype(float), n=both["prs"])
    per_engineer = both.assign(
        metric="throughput_per_engineer", value=both["prs"] / both["engineers"].where(both["engineers"] > 0),
        n=both["engineers"],
    )
    columns = [*by, "metric", "value", "n"]
    return pd.concat([merged[columns], per_engineer[columns]], ignore_index=True)


def pr_size(prs: pd.DataFrame) -> pd.Series:
    """Lines changed (additions + deletions); NaN when the size is unknown."""
    return prs["additions"].astype(float) + prs["deletions"].astype(float)
