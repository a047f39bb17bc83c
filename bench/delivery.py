#!/usr/bin/env python
"""Benchmark: DORA's five keys at 200,000 deployments, 20,000 incidents and 300,000 PRs for 500 teams
(1,000 repositories, two years), against DuckDB computing the same per-team-per-week figures from the same
frames in the same run.

Sextant: ``delivery_snapshots`` (the snapshot engine's delivery part: the rules of
``analytics/delivery.py`` -- production deployments, shipped PRs, rollbacks, hotfixes, reverts, incident
spans -- then every key for organization, team and repository, by week and month).  DuckDB: the same
rules in SQL (window functions and ASOF joins), per team per ISO week only.  Incidents come linked (the
link is made when they are stored, not by the recompute).  Before timing, every team-week figure of both
is compared (the largest difference is printed).  Timings are interleaved, median of --repeat runs; peak
memory (RSS) is reported.
Usage: python bench/delivery.py [--deployments N] [--incidents N] [--prs N] [--repeat N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from metrics.analytics.snapshots import delivery_snapshots

START = pd.Timestamp("2024-01-01", tz="UTC")
TEAMS, REPOS, WEEKS = 500, 1000, 104


def _us(values: pd.Series | pd.DatetimeIndex) -> pd.Series:
    """Whole microseconds (DuckDB's resolution), so both sides see the same moments."""
    return pd.Series(values).dt.floor("us")


def build(deployments: int, incidents: int, prs: int, seed: int = 1) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    repo = rng.integers(0, REPOS, deployments)
    created = _us(START + pd.to_timedelta(rng.uniform(0, WEEKS * 7, deployments), unit="D"))
    # a commit id per deployment; 3% redeploy the commit of an earlier deployment of the repository
    sha = np.arange(deployments)
    again = np.flatnonzero(rng.random(deployments) < 0.03)
    sha[again] = rng.integers(0, deployments, len(again))
    frame = pd.DataFrame({"repository_id": repo, "created_at": created, "sha": sha}).sort_values("created_at")
    same_repo = frame.groupby("repository_id")["sha"].shift(1).fillna(-1).astype(np.int64)
    frame["sha"] = np.where(np.isin(frame.index, again) & (same_repo >= 0), same_repo, frame["sha"])
    frame = frame.sort_index()
    deploys = pd.DataFrame(
        {
            "id": np.arange(deployments),
            "repository_id": repo,
            "repository_team_id": repo % TEAMS,
            "sha": frame["sha"].map(lambda s: f"{s:040x}").to_numpy(),
            "created_at": created,
            "finished_at": _us(created + pd.to_timedelta(rng.uniform(5, 30, deployments), unit="min")),
            "status": rng.choice(
                ["success"] * 94 + ["failure"] * 3 + ["error"] + ["in_progress"] * 2, deployments
            ),
            "is_production": rng.random(deployments) < 0.9,
        }
    )
    merged = _us(START + pd.to_timedelta(rng.uniform(0, WEEKS * 7, prs), unit="D"))
    pulls = pd.DataFrame(
        {
            "id": np.arange(prs),
            "repository_id": rng.integers(0, REPOS, prs),
            "state": "merged",
            "merged_at": merged,
            "first_commit_at": _us(merged - pd.to_timedelta(rng.lognormal(3.0, 1.2, prs), unit="h")),
            "is_bot": rng.random(prs) < 0.03,
            "ai_assisted": rng.random(prs) < 0.3,
            "head_branch": np.where(rng.random(prs) < 0.02, "hotfix/fix", "feature/work"),
            "labels": None,
            "revert_of_id": pd.array(np.where(rng.random(prs) < 0.01, 1, -1), dtype="Int64"),
            "reverted_at": merged.where(rng.random(prs) < 0.02)
            + pd.to_timedelta(rng.uniform(0, 10, prs), unit="D"),
        }
    )
    pulls.loc[pulls["revert_of_id"] < 0, "revert_of_id"] = pd.NA
    prod = deploys.index[deploys["is_production"].to_numpy()]
    cause = rng.choice(prod, incidents)
    started = _us(
        deploys["finished_at"].iloc[cause].reset_index(drop=True)
        + pd.to_timedelta(rng.uniform(0, 24, incidents), unit="h")
    )
    linked = rng.random(incidents) < 0.85
    incs = pd.DataFrame(
        {
            "id": np.arange(incidents),
            "started_at": started,
            "resolved_at": _us(started + pd.to_timedelta(rng.lognormal(0.7, 1.0, incidents), unit="h")).where(
                rng.random(incidents) > 0.02
            ),
            "deployment_id": pd.array(np.where(linked, deploys["id"].to_numpy()[cause], -1), dtype="Int64"),
        }
    )
    incs.loc[~linked, "deployment_id"] = pd.NA
    teams = pd.DataFrame({"team_id": np.arange(TEAMS), "parent_id": pd.array([pd.NA] * TEAMS, dtype="Int64")})
    return {"deployments": deploys, "incidents": incs, "prs": pulls, "teams": teams}


def sextant(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return delivery_snapshots(data["prs"], data["teams"], data["deployments"], data["incidents"])


DUCKDB_SQL = """
WITH prod AS (
    SELECT id, repository_id, repository_team_id AS team_id, lower(sha) AS sha,
           coalesce(finished_at, created_at) AS done_at, status = 'success' AS ok
    FROM deployments WHERE is_production AND status IN ('success', 'failure', 'error')
), ranked AS (
    SELECT *, row_number() OVER (ORDER BY done_at, id) AS rn FROM prod
), okd AS (
    SELECT id, repository_id, done_at, sha, rn,
           lag(sha) OVER (PARTITION BY repository_id ORDER BY rn) AS prev_sha,
           row_number() OVER (PARTITION BY repository_id, sha ORDER BY rn) > 1 AS again
    FROM ranked WHERE ok
), nxt AS (
    SELECT r.id, k.id AS next_id, k.done_at AS next_at
    FROM ranked r ASOF LEFT JOIN okd k ON r.repository_id = k.repository_id AND k.rn > r.rn
), ships AS (
    SELECT p.*, d.id AS deployment_id, d.done_at AS deployed_at
    FROM (SELECT * FROM prs WHERE state = 'merged' AND merged_at IS NOT NULL) p
    ASOF JOIN okd d ON p.repository_id = d.repository_id AND d.done_at >= p.merged_at
), shipped AS (
    SELECT deployment_id,
           bool_or(regexp_matches(lower(head_branch), '^hotfix[/_-]') OR revert_of_id IS NOT NULL) AS fixes,
           bool_or(reverted_at IS NOT NULL) AS reverted
    FROM ships WHERE NOT is_bot GROUP BY deployment_id
), inc AS (
    SELECT deployment_id, min(started_at) AS first_start, max(resolved_at) AS last_end,
           bool_or(resolved_at IS NULL) AS open
    FROM incidents WHERE deployment_id IS NOT NULL GROUP BY deployment_id
), flags AS (
    SELECT r.id, r.team_id, r.done_at, r.ok,
           r.ok AND ((o.again AND r.sha <> '' AND (o.prev_sha IS NULL OR r.sha <> o.prev_sha))
                     OR coalesce(s.fixes, false)) AS rework,
           n.next_id, n.next_at, i.deployment_id IS NOT NULL AS has_incident,
           i.first_start, i.last_end, i.open,
           coalesce(s.reverted, false) AS reverted
    FROM ranked r LEFT JOIN okd o USING (id) LEFT JOIN nxt n USING (id)
         LEFT JOIN shipped s ON s.deployment_id = r.id LEFT JOIN inc i ON i.deployment_id = r.id
), outcome AS (
    SELECT f.*,
           NOT f.ok OR f.has_incident OR coalesce(nf.rework, false) OR f.reverted AS failed,
           CASE WHEN f.has_incident THEN (CASE WHEN f.open THEN NULL
                     ELSE (epoch_us(f.last_end) - epoch_us(f.first_start)) / 3600000000.0 END)
                ELSE (epoch_us(f.next_at) - epoch_us(f.done_at)) / 3600000000.0 END AS span
    FROM flags f LEFT JOIN flags nf ON nf.id = f.next_id
), keyed AS (
    SELECT team_id, date_trunc('week', done_at)::DATE AS week, ok, rework, failed,
           CASE WHEN failed AND span >= 0 THEN span END AS recovery
    FROM outcome
), lead AS (
    SELECT d.team_id, date_trunc('week', s.deployed_at)::DATE AS week,
           CASE WHEN epoch_us(s.deployed_at) >= epoch_us(s.first_commit_at)
                THEN (epoch_us(s.deployed_at) - epoch_us(s.first_commit_at)) / 3600000000.0 END AS hours
    FROM ships s JOIN prod d ON d.id = s.deployment_id WHERE NOT s.is_bot
)
SELECT team_id, week, 'deployment_frequency' AS metric, sum(ok::INT)::DOUBLE AS value, sum(ok::INT) AS n
FROM keyed GROUP BY ALL
UNION ALL SELECT team_id, week, 'change_failure_rate', avg(failed::INT), count(*) FROM keyed GROUP BY ALL
UNION ALL SELECT team_id, week, 'deployment_rework_rate', avg(rework::INT), count(*)
FROM keyed WHERE ok GROUP BY ALL
UNION ALL SELECT team_id, week, 'failed_deployment_recovery_time_p50',
                 quantile_cont(recovery, 0.5), count(recovery)
FROM keyed WHERE recovery IS NOT NULL GROUP BY ALL
UNION ALL SELECT team_id, week, 'failed_deployment_recovery_time_p90',
                 quantile_cont(recovery, 0.9), count(recovery)
FROM keyed WHERE recovery IS NOT NULL GROUP BY ALL
UNION ALL SELECT team_id, week, 'lead_time_for_changes_p50', quantile_cont(hours, 0.5), count(hours)
FROM lead WHERE hours IS NOT NULL GROUP BY ALL
UNION ALL SELECT team_id, week, 'lead_time_for_changes_p75', quantile_cont(hours, 0.75), count(hours)
FROM lead WHERE hours IS NOT NULL GROUP BY ALL
UNION ALL SELECT team_id, week, 'lead_time_for_changes_p90', quantile_cont(hours, 0.9), count(hours)
FROM lead WHERE hours IS NOT NULL GROUP BY ALL
"""


def _naive(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    return out


def duck_tables(data: dict[str, pd.DataFrame]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    for name in ("deployments", "incidents"):
        con.register(name, _naive(data[name]))
    con.register("prs", _naive(data["prs"].drop(columns=["labels"])))
    return con


def duck(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(DUCKDB_SQL).df()


def compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> float:
    mine = ours[(ours["scope"] == "team") & (ours["period"] == "week")].copy()
    mine = mine.assign(
        team_id=mine["team_id"].astype("int64"),
        week=pd.to_datetime(mine["period_start"].astype(str)).dt.date,
        metric=mine["metric"].astype(str),
    )[["team_id", "week", "metric", "value", "n"]]
    theirs = theirs.assign(
        week=pd.to_datetime(theirs["week"]).dt.date, team_id=theirs["team_id"].astype("int64")
    )
    joined = mine.merge(
        theirs, on=["team_id", "week", "metric"], how="outer", suffixes=("", "_duck"), indicator=True
    )
    only = joined[joined["_merge"] != "both"]
    if len(only):
        raise SystemExit(f"{len(only)} team-week figures on one side only:\n{only.head(10)}")
    if not (joined["n"] == joined["n_duck"]).all():
        bad = joined[joined["n"] != joined["n_duck"]]
        raise SystemExit(f"n differs on {len(bad)} team-week figures:\n{bad.head(10)}")
    return float(np.nanmax(np.abs(joined["value"].to_numpy(float) - joined["value_duck"].to_numpy(float))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deployments", type=int, default=200_000)
    parser.add_argument("--incidents", type=int, default=20_000)
    parser.add_argument("--prs", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    data = build(args.deployments, args.incidents, args.prs)
    print(
        f"built {args.deployments:,} deployments, {args.incidents:,} incidents, {args.prs:,} PRs, "
        f"{TEAMS} teams, {REPOS} repositories in {time.perf_counter() - started:.1f} s"
    )
    con = duck_tables(data)
    ours, theirs = sextant(data), duck(con)
    diff = compare(ours, theirs)
    team_weeks = int(((ours["scope"] == "team") & (ours["period"] == "week")).sum())
    print(f"checked {team_weeks:,} team-week figures against DuckDB: largest difference {diff:.2e}")
    print(f"Sextant writes {len(ours):,} rows (organization, team, repository x week, month)")
    timings: dict[str, list[float]] = {"sextant": [], "duckdb": []}
    for _ in range(args.repeat):
        for name, run in (("sextant", lambda: sextant(data)), ("duckdb", lambda: duck(con))):
            t0 = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - t0)
    ours_s, duck_s = statistics.median(timings["sextant"]), statistics.median(timings["duckdb"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Sextant delivery keys: {ours_s:.2f} s (median of {args.repeat})")
    print(f"DuckDB team-week keys: {duck_s:.2f} s (median of {args.repeat}, 2 threads)")
    print(f"ratio Sextant / DuckDB: {ours_s / duck_s:.2f}x (target <= 2x)")
    print(f"peak memory (RSS): {peak:,.0f} MB")


if __name__ == "__main__":
    main()
