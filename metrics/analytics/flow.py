"""Flow: PR cycle time and its phases, throughput.

Definitions (DESIGN.md): cycle time = first commit authored -> merged; coding = first commit ->
PR opened.  Spans are in hours; negative spans (clock skew, rebased history) are dropped, never
clipped; quantiles are reported with the number of PRs behind them, never averaged.
"""
from __future__ import annotations

import pandas as pd

QUANTILES = {"p50": 0.5, "p75": 0.75, "p90": 0.9}


def hours_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """``end - start`` in hours; NaN where either is missing or the span is negative."""
    hours = (end - start).dt.total_seconds() / 3600.0
    return hours.where(hours >= 0)


def cycle_time_spans(prs: pd.DataFrame) -> pd.DataFrame:
    """Per-PR phase spans.

    Input columns: first_commit_at, created_at, merged_at (tz-aware UTC, NaT allowed).
    Output: the input plus ``cycle_hours`` and ``coding_hours`` (float hours, NaN when unknown or negative).
    """
    return prs.assign(
        cycle_hours=hours_between(prs["first_commit_at"], prs["merged_at"]),
        coding_hours=hours_between(prs["first_commit_at"], prs["created_at"]),
    )


def span_quantiles(frame: pd.DataFrame, column: str, by: list[str], metric: str) -> pd.DataFrame:
    """p50/p75/p90 of ``column`` per group, long format: *by, metric (``<metric>_p50``...), value, n.

    Groups with no known value are left out (there is nothing to report, not a zero).
    """
    known = frame.dropna(subset=[column])
    if known.empty:
        return pd.DataFrame(columns=[*by, "metric", "value", "n"])
    grouped = known.groupby(by, observed=True)[column]
    n = grouped.size().rename("n")
    parts = []
    for name, q in QUANTILES.items():
        values = grouped.quantile(q).rename("value")
        parts.append(pd.concat([values, n], axis=1).reset_index().assign(metric=f"{metric}_{name}"))
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
