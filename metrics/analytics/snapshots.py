"""All metric snapshots in long format, from PRs, memberships and the team tree.

Scopes: ``organization`` (everything), ``team`` (PRs whose author was in the team, or in any team
below it, when the PR merged) and ``repository``.  Periods: ISO ``week`` (starting Monday) and
calendar ``month``, by merge date.  Bots are excluded from every people metric and counted
separately as ``bot_merged_prs``.
"""
from __future__ import annotations

import pandas as pd

from metrics.analytics import flow, quality

DEFINITION_VERSION = "1.0"
OUTPUT_COLUMNS = ["scope", "team_id", "repository_id", "period", "period_start", "metric", "value", "n"]


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
    """(pr id, team_id) for the team(s) the author belonged to at merge time, rolled up the tree."""
    joined = prs[["id", "author_id", "merged_at"]].merge(
        memberships, left_on="author_id", right_on="person_id"
    )
    active = joined[
        (joined["start"].isna() | (joined["start"] <= joined["merged_at"]))
        & (joined["end"].isna() | (joined["merged_at"] < joined["end"]))
    ]
    rolled = active[["id", "team_id"]].merge(team_ancestors(teams), on="team_id")
    return rolled[["id", "rollup_team_id"]].rename(columns={"rollup_team_id": "team_id"}).drop_duplicates()


def _metrics_for(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    people = frame[~frame["is_bot"]]
    parts = [
        flow.span_quantiles(people, "cycle_hours", by, "cycle_time"),
        flow.span_quantiles(people, "coding_hours", by, "coding_time"),
        flow.throughput(people, by),
        quality.revert_rate(people, by).assign(metric="revert_rate"),
        flow.span_quantiles(people.assign(ttr=flow.hours_between(people["merged_at"], people["reverted_at"])),
                            "ttr", by, "time_to_revert"),
        people.groupby(by, observed=True)["ai_assisted"].agg(value="mean", n="size").reset_index()
        .assign(metric="ai_assisted_share"),
        frame[frame["is_bot"]].groupby(by, observed=True).size().rename("n").reset_index()
        .assign(metric="bot_merged_prs", value=lambda f: f["n"].astype(float)),
    ]
    return pd.concat([p for p in parts if not p.empty], ignore_index=True)


def metric_snapshots(prs: pd.DataFrame, memberships: pd.DataFrame, teams: pd.DataFrame) -> pd.DataFrame:
    """Every snapshot row.

    Input — prs: id, repository_id, author_id, state, is_bot, ai_assisted, first_commit_at,
    created_at, merged_at, reverted_at; memberships: person_id, team_id, start, end;
    teams: team_id, parent_id.  Output columns: ``OUTPUT_COLUMNS`` (team_id / repository_id are
    nullable integers; value is float, NaN when undefined; n is the count behind the value).
    """
    merged = prs[(prs["state"] == "merged") & prs["merged_at"].notna()]
    if merged.empty:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    merged = flow.cycle_time_spans(merged).assign(is_bot=lambda f: f["is_bot"].astype(bool),
                                                  ai_assisted=lambda f: f["ai_assisted"].astype(float))
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
    out = pd.concat(parts, ignore_index=True)
    for column in ("team_id", "repository_id"):
        if column not in out:
            out[column] = pd.NA
        out[column] = out[column].astype("Int64")
    out["n"] = out["n"].astype(int)
    return out[OUTPUT_COLUMNS]
