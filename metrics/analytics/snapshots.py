"""All metric snapshots in long format, from PRs, memberships, the team tree and deployments.

Scopes: ``organization`` (everything), ``team`` (PRs whose author was in the team, or in any team
below it, when the PR merged; an author in no team counts for the repository's owning team),
``repository`` and ``person`` (monthly only; shown only to roles allowed to see it).  Periods: ISO
``week`` (starting Monday) and calendar ``month``, by merge date (deployment date for the change
failure rate).  Bots are excluded from every people metric and counted separately as ``bot_merged_prs``.
"""
from __future__ import annotations

import pandas as pd

from metrics.analytics import flow, quality

DEFINITION_VERSION = "1.1"
OUTPUT_COLUMNS = [
    "scope", "team_id", "repository_id", "person_id", "period", "period_start", "metric", "value", "n",
]
# span column -> metric name prefix (each gives _p50, _p75, _p90)
SPAN_METRICS = {
    "cycle_hours": "cycle_time", "coding_hours": "coding_time", "pickup_hours": "pickup_time",
    "rework_hours": "rework_time", "merge_wait_hours": "merge_wait_time", "review_hours": "review_time",
    "deploy_hours": "deploy_time", "size_lines": "pr_size", "revert_hours": "time_to_revert",
}


def period_start(merged_at: pd.Series, period: str) -> pd.Series:
    """The Monday (week) or the first day (month) of the UTC date, as a date."""
    day = merged_at.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    if period == "week":
        start = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    else:
        start = day - pd.to_timedelta(day.dt.day - 1, unit="D")
    return start.dt.date


def team_ancestors(teams: pd.DataFrame) -> pd.DataFrame:
    """(team_id, rollup_team_id) pairs: every team with itself and each ancestor (cycles are cut)."""
    parent = dict(zip(teams["team_id"], teams["parent_id"], strict=True))
    rows = []
    for team in teams["team_id"]:
        seen: set[int] = set()
        current = team
        while current is not None and not pd.isna(current) and current not in seen:
            seen.add(current)
            rows.append((team, int(current)))
            current = parent.get(current)
    return pd.DataFrame(rows, columns=["team_id", "rollup_team_id"])


def assign_teams(prs: pd.DataFrame, memberships: pd.DataFrame, teams: pd.DataFrame) -> pd.DataFrame:
    """(pr id, team_id) for the team(s) the author belonged to at merge time, rolled up the tree.

    A PR whose author was in no team then counts for its repository's owning team
    (``repository_team_id``, when the column is there and set).
    """
    joined = prs[["id", "author_id", "merged_at"]].merge(
        memberships, left_on="author_id", right_on="person_id"
    )
    active = joined[
        (joined["start"].isna() | (joined["start"] <= joined["merged_at"]))
        & (joined["end"].isna() | (joined["merged_at"] < joined["end"]))
    ][["id", "team_id"]]
    if "repository_team_id" in prs:
        orphans = prs[~prs["id"].isin(active["id"]) & prs["repository_team_id"].notna()]
        owned = orphans[["id", "repository_team_id"]].rename(columns={"repository_team_id": "team_id"})
        active = pd.concat([active, owned.astype({"team_id": "int64"})], ignore_index=True)
    rolled = active.merge(team_ancestors(teams), on="team_id")
    return rolled[["id", "rollup_team_id"]].rename(columns={"rollup_team_id": "team_id"}).drop_duplicates()


def _metrics_for(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    people = frame[~frame["is_bot"]]
    parts = [flow.span_quantiles(people, column, by, metric) for column, metric in SPAN_METRICS.items()]
    parts += [
        flow.throughput(people, by),
        quality.revert_rate(people, by).assign(metric="revert_rate"),
        people.groupby(by, observed=True)["ai_assisted"].agg(value="mean", n="size").reset_index()
        .assign(metric="ai_assisted_share"),
        frame[frame["is_bot"]].groupby(by, observed=True).size().rename("n").reset_index()
        .assign(metric="bot_merged_prs", value=lambda f: f["n"].astype(float)),
    ]
    return pd.concat([p for p in parts if not p.empty], ignore_index=True)


def _prepare(prs: pd.DataFrame, deployments: pd.DataFrame | None) -> pd.DataFrame:
    merged = prs[(prs["state"] == "merged") & prs["merged_at"].notna()]
    merged = flow.phase_spans(merged).assign(
        is_bot=lambda f: f["is_bot"].astype(bool), ai_assisted=lambda f: f["ai_assisted"].astype(float),
        revert_hours=lambda f: flow.hours_between(f["merged_at"], f["reverted_at"]),
    )
    if {"additions", "deletions"} <= set(merged.columns):
        merged["size_lines"] = flow.pr_size(merged)
    else:
        merged["size_lines"] = float("nan")
    if deployments is not None and "repository_id" in merged:
        merged["deploy_hours"] = flow.deploy_spans(merged, deployments)
    else:
        merged["deploy_hours"] = float("nan")
    return merged


def _change_failure(prs: pd.DataFrame, deployments: pd.DataFrame | None) -> list[pd.DataFrame]:
    if deployments is None or deployments.empty:
        return []
    deploys = quality.deployment_failures(deployments, prs)
    parts = []
    for period in ("week", "month"):
        keyed = deploys.assign(period_start=period_start(deploys["created_at"], period))
        scopes = (("organization", ["period_start"]), ("repository", ["repository_id", "period_start"]))
        for scope, by in scopes:
            rate = keyed.groupby(by, observed=True)["failed"].agg(value="mean", n="size").reset_index()
            parts.append(rate.assign(metric="change_failure_rate", scope=scope, period=period))
    return parts


def metric_snapshots(
    prs: pd.DataFrame, memberships: pd.DataFrame, teams: pd.DataFrame, deployments: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every snapshot row.

    Input — prs: id, repository_id, author_id, state, is_bot, ai_assisted, first_commit_at,
    created_at, merged_at, reverted_at, and where known ready_at, first_review_at, approved_at,
    additions, deletions, repository_team_id; memberships: person_id, team_id, start, end;
    teams: team_id, parent_id; deployments (optional): repository_id, created_at, status,
    is_production.  Output columns: ``OUTPUT_COLUMNS`` (the id columns are nullable integers; value
    is float, NaN when undefined; n is the count behind the value).
    """
    merged = _prepare(prs, deployments)
    if merged.empty:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    by_team = merged.merge(assign_teams(merged, memberships, teams), on="id")
    parts = []
    for period in ("week", "month"):
        keyed = merged.assign(period_start=period_start(merged["merged_at"], period))
        team_keyed = by_team.assign(period_start=period_start(by_team["merged_at"], period))
        parts += [
            _metrics_for(keyed, ["period_start"]).assign(scope="organization", period=period),
            _metrics_for(keyed, ["repository_id", "period_start"]).assign(scope="repository", period=period),
        ]
        if not team_keyed.empty:
            parts.append(
                _metrics_for(team_keyed, ["team_id", "period_start"]).assign(scope="team", period=period)
            )
    people = keyed.assign(person_id=keyed["author_id"]).dropna(subset=["person_id"])
    parts.append(_metrics_for(people, ["person_id", "period_start"]).assign(scope="person", period="month"))
    parts += _change_failure(merged, deployments)
    out = pd.concat(parts, ignore_index=True)
    for column in ("team_id", "repository_id", "person_id"):
        if column not in out:
            out[column] = pd.NA
        out[column] = out[column].astype("Int64")
    out["n"] = out["n"].astype(int)
    return out[OUTPUT_COLUMNS]


def primary_teams(prs: pd.DataFrame, memberships: pd.DataFrame) -> pd.DataFrame:
    """(id, team_id): the one team the author was in at merge time (the most recently joined)."""
    joined = prs[["id", "author_id", "merged_at"]].merge(
        memberships, left_on="author_id", right_on="person_id"
    )
    active = joined[
        (joined["start"].isna() | (joined["start"] <= joined["merged_at"]))
        & (joined["end"].isna() | (joined["merged_at"] < joined["end"]))
    ]
    latest = active.sort_values("start", na_position="first").drop_duplicates("id", keep="last")
    return latest[["id", "team_id"]]
