#!/usr/bin/env python
"""Benchmark: full snapshot recompute (pure analytics) at 1,000,000 PRs, 500 teams, 104 weeks,
against DuckDB computing per-team-per-week cycle-time quantiles on the same data in the same run.

Prints, each a ratio against DuckDB in this run:
  1. the same work: per-team-per-week p50/p75/p90 of cycle time (pandas path of Sextant);
  2. Sextant's full recompute (every metric, scope and period: ~20x the work of 1).
Peak memory (RSS) is reported too.  Usage: python bench/analytics.py [--prs N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from metrics.analytics import flow
from metrics.analytics.snapshots import assign_teams, metric_snapshots, period_start

START = pd.Timestamp("2024-01-01", tz="UTC")


def build(n: int, teams: int, weeks: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    authors = teams * 10
    author = rng.integers(0, authors, n)
    created = START + pd.to_timedelta(rng.uniform(0, weeks * 7, n), unit="D")
    coding = pd.to_timedelta(rng.lognormal(2.0, 1.2, n), unit="h")
    cycle = pd.to_timedelta(rng.lognormal(3.0, 1.1, n), unit="h")
    review = created + pd.to_timedelta(rng.lognormal(1.5, 1.0, n), unit="h")
    prs = pd.DataFrame(
        {
            "id": np.arange(n),
            "repository_id": rng.integers(0, 200, n),
            "author_id": author,
            "state": "merged",
            "is_bot": rng.random(n) < 0.03,
            "ai_assisted": rng.random(n) < 0.3,
            "first_commit_at": created - coding,
            "created_at": created,
            "ready_at": created,
            "first_review_at": review,
            "approved_at": review + pd.to_timedelta(rng.lognormal(1.0, 1.0, n), unit="h"),
            "merged_at": created - coding + cycle,
            "additions": rng.integers(1, 2000, n),
            "deletions": rng.integers(0, 500, n),
        }
    )
    prs["reverted_at"] = prs["merged_at"].where(rng.random(n) < 0.02) + pd.Timedelta(hours=30)
    parents = pd.DataFrame({"team_id": np.arange(teams, teams + teams // 10), "parent_id": None})
    leaves = pd.DataFrame({"team_id": np.arange(teams), "parent_id": teams + np.arange(teams) // 10})
    team_frame = pd.concat([leaves, parents], ignore_index=True)
    members = pd.DataFrame(
        {"person_id": np.arange(authors), "team_id": np.arange(authors) // 10, "start": pd.NaT, "end": pd.NaT}
    )
    members["start"] = pd.to_datetime(members["start"], utc=True)
    members["end"] = pd.to_datetime(members["end"], utc=True)
    return prs, members, team_frame


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def sextant_team_week(prs: pd.DataFrame, members: pd.DataFrame, teams: pd.DataFrame) -> pd.DataFrame:
    people = prs[~prs["is_bot"]]
    spans = people.assign(cycle_hours=flow.hours_between(people["first_commit_at"], people["merged_at"]))
    keyed = spans.merge(assign_teams(spans, members, teams), on="id")
    keyed = keyed.assign(period_start=period_start(keyed["merged_at"], "week"))
    return flow.span_quantiles(keyed, "cycle_hours", ["team_id", "period_start"], "cycle_time")


DUCK_SQL = """
WITH RECURSIVE up(team_id, rollup) AS (
    SELECT team_id, team_id FROM teams
    UNION ALL SELECT up.team_id, t.parent_id FROM up JOIN teams t ON t.team_id = up.rollup
    WHERE t.parent_id IS NOT NULL
)
SELECT up.rollup AS team_id, date_trunc('week', p.merged_at) AS week,
       quantile_cont(epoch(p.merged_at - p.first_commit_at) / 3600.0, [0.5, 0.75, 0.9]) AS q, count(*) AS n
FROM prs p JOIN members m ON m.person_id = p.author_id JOIN up ON up.team_id = m.team_id
WHERE NOT p.is_bot AND p.merged_at >= p.first_commit_at
GROUP BY ALL
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prs", type=int, default=1_000_000)
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    prs, members, teams = build(args.prs, args.teams, args.weeks)
    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count()}")
    con.register("prs", prs)
    con.register("members", members)
    con.register("teams", teams.astype({"parent_id": "float"}))
    theirs = con.execute(DUCK_SQL).df()
    ours = sextant_team_week(prs, members, teams)
    rows_duck, rows_ours = len(theirs), len(ours) // 3
    # Same numbers, not just the same shape: compare the medians group by group.
    theirs = theirs.assign(p50=theirs["q"].str[0], period_start=theirs["week"].dt.date)
    mine = ours[ours["metric"] == "cycle_time_p50"].merge(theirs, on=["team_id", "period_start"])
    max_diff = float((mine["value"] - mine["p50"]).abs().max())
    duck, same, full = [], [], []
    for _ in range(args.repeat):
        duck.append(timed(lambda: con.execute(DUCK_SQL).df()))
        same.append(timed(lambda: sextant_team_week(prs, members, teams)))
        full.append(timed(lambda: metric_snapshots(prs, members, teams)))
    d, s, f = (statistics.median(x) for x in (duck, same, full))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"data: {args.prs:,} PRs, {args.teams} teams (+{args.teams // 10} parents), {args.weeks} weeks; "
        f"team-week groups: duckdb {rows_duck:,}, sextant {rows_ours:,}; "
        f"largest p50 difference {max_diff:.2e} h"
    )
    print(f"duckdb team-week quantiles:         {d:.2f} s")
    print(f"sextant team-week quantiles:        {s:.2f} s  ratio {s / d:.2f}x (target <= 2x)")
    print(f"sextant full recompute (all rows):  {f:.2f} s  ratio {f / d:.2f}x")
    print(f"peak memory (RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
