#!/usr/bin/env python
"""Benchmark: full snapshot recompute (pure analytics) at 1,000,000 PRs, 500 teams, 104 weeks,
against DuckDB computing per-team-per-week quantiles on the same data in the same run.

Two DuckDB baselines, both per team (rolled up the tree) per ISO week, from the raw timestamps:
  A. p50/p75/p90 and n of cycle time only;
  B. p50/p75/p90 and n of every span the snapshots hold per team-week (cycle, coding, pickup,
     rework, merge wait, review, PR size, time to revert): the same per-team-per-week quantiles.
Sextant's full recompute (``metric_snapshots``: every metric, for organization, team, repository by
week and month and person by month, ~7M rows) is timed against both, interleaved, median of
--repeat runs.  Before timing, every team-week quantile of the full recompute is checked against
baseline B (largest difference printed).

Peak memory (RSS) is reported twice.  "recompute peak RSS" is the target's figure: a fresh process
(``--memory-child``) that builds the same input frames, tunes malloc as ``snapshots_recompute`` does,
runs one full recompute and reads its own lifetime peak (``getrusage``); it counts the interpreter,
the libraries the recompute imports, the input frames (PRs, memberships, teams) and the recompute,
but not DuckDB.  "this process" is the benchmark's own lifetime peak, which also holds DuckDB, its
results, the checked output and the timed runs' output.
Usage: python bench/analytics.py [--prs N] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from metrics.analytics.snapshots import metric_snapshots
from metrics.core.memory import keep_freed_memory

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


SPANS = {  # span -> (DuckDB expression in hours, Sextant metric prefix)
    "cycle": ("epoch(p.merged_at - p.first_commit_at) / 3600.0", "cycle_time"),
    "coding": ("epoch(p.created_at - p.first_commit_at) / 3600.0", "coding_time"),
    "pickup": (
        "epoch(coalesce(p.first_review_at, p.approved_at, p.merged_at) - coalesce(p.ready_at, p.created_at))"
        " / 3600.0",
        "pickup_time",
    ),
    "rework": (
        "CASE WHEN p.approved_at IS NULL THEN NULL WHEN p.first_review_at IS NULL THEN 0.0 "
        "ELSE epoch(p.approved_at - p.first_review_at) / 3600.0 END",
        "rework_time",
    ),
    "merge_wait": ("epoch(p.merged_at - p.approved_at) / 3600.0", "merge_wait_time"),
    "review": ("epoch(p.merged_at - p.first_review_at) / 3600.0", "review_time"),
    "size_lines": ("(p.additions + p.deletions)::DOUBLE", "pr_size"),
    "revert": ("epoch(p.reverted_at - p.merged_at) / 3600.0", "time_to_revert"),
}
DUCK_ALL_SQL = """
WITH RECURSIVE up(team_id, rollup) AS (
    SELECT team_id, team_id FROM teams
    UNION ALL SELECT up.team_id, t.parent_id FROM up JOIN teams t ON t.team_id = up.rollup
    WHERE t.parent_id IS NOT NULL
), spans AS (SELECT p.author_id, p.merged_at, {columns} FROM prs p WHERE NOT p.is_bot)
SELECT up.rollup AS team_id, date_trunc('week', s.merged_at) AS week, {quantiles}
FROM spans s JOIN members m ON m.person_id = s.author_id JOIN up ON up.team_id = m.team_id
GROUP BY ALL
""".format(  # noqa: S608 (constant expressions of this file, no input)
    columns=", ".join(f"{sql} AS {name}" for name, (sql, _) in SPANS.items()),
    quantiles=", ".join(
        f"quantile_cont({name}, [0.5, 0.75, 0.9]) FILTER (WHERE {name} >= 0) AS {name}, "
        f"count({name}) FILTER (WHERE {name} >= 0) AS {name}_n"
        for name in SPANS
    ),
)


def largest_difference(theirs: pd.DataFrame, ours: pd.DataFrame) -> tuple[float, int]:
    """Largest |DuckDB - Sextant| over every team-week quantile, and how many values were compared."""
    team_week = ours[(ours["scope"] == "team") & (ours["period"] == "week")]
    theirs = theirs.assign(team_id=theirs["team_id"].astype("int64"), period_start=theirs["week"].dt.date)
    worst, compared = 0.0, 0
    for name, (_, metric) in SPANS.items():
        for i, q in enumerate(("p50", "p75", "p90")):
            mine = team_week[team_week["metric"] == f"{metric}_{q}"].astype({"team_id": "int64"})
            both = mine.merge(theirs.dropna(subset=[name]), on=["team_id", "period_start"], how="outer")
            unmatched = both["value"].isna().any() or both[name].isna().any()
            if unmatched or (both["n"] != both[f"{name}_n"]).any():
                raise SystemExit(f"{metric}_{q}: DuckDB and Sextant disagree on the team-weeks or their n")
            worst = max(worst, float((both["value"] - both[name].str[i]).abs().max()))
            compared += len(both)
    return worst, compared


def rss_mb() -> float:
    """The current resident set size (Linux), in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_child(args: argparse.Namespace) -> None:
    """One full recompute in this fresh process; prints its time, rows and memory as JSON."""
    tuned = False if args.default_malloc else keep_freed_memory()
    prs, members, teams = build(args.prs, args.teams, args.weeks)
    before = rss_mb()
    start = time.perf_counter()
    rows = len(metric_snapshots(prs, members, teams))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps({"seconds": seconds, "rows": rows, "before_mb": before, "peak_mb": peak, "tuned": tuned})
    )


def recompute_memory(args: argparse.Namespace) -> dict[str, float]:
    """:func:`memory_child` in a fresh interpreter (so neither DuckDB nor this process's frames count)."""
    command = [sys.executable, __file__, "--memory-child", "--prs", str(args.prs), "--teams", str(args.teams)]
    command += ["--weeks", str(args.weeks), *(["--default-malloc"] if args.default_malloc else [])]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prs", type=int, default=1_000_000)
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="leave glibc malloc as it is (snapshots_recompute tunes it: metrics/core/memory.py)",
    )
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args)
        return
    memory = recompute_memory(args)  # first, while the machine is as quiet as this run gets
    import duckdb  # only the comparison needs it, not the memory child

    tuned = False if args.default_malloc else keep_freed_memory()
    prs, members, teams = build(args.prs, args.teams, args.weeks)
    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count()}")
    con.register("prs", prs)
    con.register("members", members)
    con.register("teams", teams.astype({"parent_id": "float"}))
    cycle_groups = len(con.execute(DUCK_SQL).df())
    ours = metric_snapshots(prs, members, teams)
    worst, compared = largest_difference(con.execute(DUCK_ALL_SQL).df(), ours)
    duck, duck_all, full = [], [], []
    for _ in range(args.repeat):
        duck.append(timed(lambda: con.execute(DUCK_SQL).df()))
        duck_all.append(timed(lambda: con.execute(DUCK_ALL_SQL).df()))
        full.append(timed(lambda: metric_snapshots(prs, members, teams)))
    d, a, f = (statistics.median(x) for x in (duck, duck_all, full))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"data: {args.prs:,} PRs, {args.teams} teams (+{args.teams // 10} parents), {args.weeks} weeks, "
        f"{os.cpu_count()} cores, malloc {'tuned as in snapshots_recompute' if tuned else 'default'}; "
        f"team-week groups {cycle_groups:,}; "
        f"{compared:,} team-week quantiles equal to DuckDB's (largest difference {worst:.1e} h)"
    )
    print(f"A duckdb team-week cycle-time quantiles:       {d:.2f} s")
    print(f"B duckdb team-week quantiles of every span:    {a:.2f} s")
    print(
        f"sextant full recompute ({len(ours):,} rows): {f:.2f} s  "
        f"ratio {f / a:.2f}x B, {f / d:.2f}x A (target <= 2x)"
    )
    print(
        "recompute peak RSS (fresh process: interpreter, libraries, input frames, one recompute; "
        f"no DuckDB): {memory['peak_mb']:.0f} MB (target < 1 GB; {memory['before_mb']:.0f} MB before "
        "the recompute; "
        f"that recompute {memory['seconds']:.2f} s)"
    )
    print(f"this process's peak RSS (with DuckDB and its results, and two outputs): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
