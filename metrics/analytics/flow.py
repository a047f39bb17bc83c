"""Flow: PR cycle time and its phases, throughput, PR size.

The phases (cycle, coding, pickup, rework, merge wait, review, deploy) are defined in
:mod:`metrics.analytics.catalog` as start and end rules; :func:`phase_spans` applies those rules to a
frame, as ``catalog.pr_spans`` does to one PR, so the snapshots, the PR explorer and the API agree.
All spans are in hours.  A span that would be negative (clock skew, a review before the PR was opened, a
rebased history) is dropped, never clipped.  Quantiles are reported with the number of PRs behind them;
never averaged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metrics.analytics import catalog

QUANTILES = {name: int(name[1:]) / 100 for name in catalog.QUANTILES}  # "p50" -> 0.5
PHASES = tuple(phase.key for phase in catalog.PHASES)


def hours_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """``end - start`` in hours; NaN where either is missing or the span is negative.

    Whole microseconds / ``catalog.MICROSECONDS_PER_HOUR``, as ``catalog.hours_between``: the same float
    for the same PR (exact integers below 2**53, one rounded division)."""
    delta = end - start
    micros = delta.to_numpy(dtype="timedelta64[us]").astype("int64")  # NaT: a sentinel, masked below
    hours = pd.Series(micros / catalog.MICROSECONDS_PER_HOUR, index=delta.index)
    return hours.where(delta.notna() & (hours >= 0))


def _first_known(*columns: pd.Series) -> pd.Series:
    out = columns[0]
    for column in columns[1:]:
        out = out.fillna(column)
    return out


def phase_spans(prs: pd.DataFrame) -> pd.DataFrame:
    """Per-PR phase spans, by the catalog's rules.

    Input columns: first_commit_at, created_at, merged_at, and where known ready_at,
    first_review_at, approved_at (last approval) — tz-aware UTC, NaT allowed; a missing column
    counts as unknown.  Output: the input plus ``<phase>_hours`` for every phase but deploy
    (see :func:`deploy_spans`), float hours, NaN when unknown or negative.
    """
    empty = pd.Series(pd.NaT, index=prs.index, dtype="datetime64[ns, UTC]")

    def first_known(names: tuple[str, ...]) -> pd.Series:
        return _first_known(*(prs.get(name, empty) for name in names))

    return prs.assign(
        **{
            phase.column: hours_between(first_known(phase.start), first_known(phase.end))
            for phase in catalog.PHASES
            if phase.key != "deploy"
        }
    )


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
        merged.reset_index(),
        prod.rename(columns={"created_at": "deployed_at"}),
        left_on="merged_at",
        right_on="deployed_at",
        by="repository_id",
        direction="forward",
    ).set_index("index")
    deploy = catalog.PHASE["deploy"]  # merged_at -> deployed_at (the deployment found above)
    out.loc[joined.index] = hours_between(joined[deploy.start[0]], joined[deploy.end[0]])
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


def pr_size(prs: pd.DataFrame) -> pd.Series:
    """Lines changed (additions + deletions); NaN when the size is unknown."""
    return prs["additions"].astype(float) + prs["deletions"].astype(float)
