"""Reference implementations of per-group metrics, written the plain pandas way.

The snapshot engine (``metrics/analytics/snapshots.py`` with ``grouped.py``) computes every metric in one
fast pass; ``test_snapshot_engine.py`` checks it against these straightforward versions, which the
product does not use (they lived in ``metrics/analytics`` before, as dead code there).
"""

from __future__ import annotations

import pandas as pd

from metrics.analytics.flow import QUANTILES, grouped_quantiles


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
        metric="throughput_per_engineer",
        value=both["prs"] / both["engineers"].where(both["engineers"] > 0),
        n=both["engineers"],
    )
    columns = [*by, "metric", "value", "n"]
    return pd.concat([merged[columns], per_engineer[columns]], ignore_index=True)


def revert_rate(prs: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Share of merged PRs later reverted (a standing revert), grouped by ``by``.

    Input: merged PRs with ``reverted_at`` (NaT when never reverted) and the ``by`` columns.
    Output columns: *by, value (0..1), n (merged PRs in the group).
    """
    grouped = prs.assign(_reverted=prs["reverted_at"].notna()).groupby(by, observed=True)["_reverted"]
    out = grouped.agg(value="mean", n="size").reset_index()
    return out
