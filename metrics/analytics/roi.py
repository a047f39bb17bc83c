"""AI ROI: value of engineering time saved x loaded hourly cost - tool spend, with intervals.

Two estimates of hours saved, always shown side by side, never blended:

- **measured**: from the adjusted cycle-time effect ``e`` (a fraction, e.g. -0.2).  An AI-assisted
  PR that took ``h`` engineering hours would have taken ``h / (1 + e)`` without AI, so it saved
  ``h * (-e / (1 + e))``.  ``h`` is the configured engineering hours per PR (an assumption the
  settings page shows); the interval comes from the effect's 95% interval.
- **self-reported**: survey answers "hours saved per week" (mean over respondents, 95% t-interval)
  x active users of the tool x weeks in the month.  Groups below the privacy floor give nothing.

Spend = seats x monthly seat price, or usage cost (:mod:`metrics.analytics.spend`); unknown spend (a
price and no seats) leaves the net value unknown too.  Net value = hours x hourly cost - spend (with
low/high).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metrics.analytics import spend as spending

WEEKS_PER_MONTH = 52 / 12


def saved_fraction(effect_pct: float) -> float:
    """Hours saved per hour spent on an AI PR, for an effect in percent (-20 -> 0.25)."""
    e = effect_pct / 100.0
    return float(-e / (1 + e))


def measured_hours(
    ai_prs: pd.DataFrame, *, effect: float, low: float, high: float, hours_per_pr: float
) -> pd.DataFrame:
    """Hours saved from the adjusted effect.  ``ai_prs``: group columns + ``ai_prs`` (count).

    The interval bound that means *more* saving is the *more negative* effect, so ``ci_low`` of
    the effect gives the high end.
    """
    out = ai_prs.copy()
    base = out["ai_prs"].astype(float) * hours_per_pr
    out["measured_hours"] = base * saved_fraction(effect)
    out["measured_hours_low"] = base * saved_fraction(high)
    out["measured_hours_high"] = base * saved_fraction(low)
    return out


def reported_hours(survey: pd.DataFrame, *, min_group_size: int) -> pd.DataFrame:
    """Self-reported hours per month.  ``survey``: group columns + respondents, mean_hours,
    sd_hours (per week, per respondent) and active_users.  Below the floor: NaN."""
    out = survey.copy()
    n = out["respondents"].astype(float)
    shown = n >= min_group_size
    from scipy import stats  # statsmodels depends on scipy; imported here to keep import time low

    t = stats.t.ppf(0.975, np.maximum(n - 1, 1))
    half = t * out["sd_hours"].fillna(0) / np.sqrt(n.clip(lower=1))
    scale = out["active_users"].astype(float) * WEEKS_PER_MONTH
    out["reported_hours"] = (out["mean_hours"] * scale).where(shown)
    out["reported_hours_low"] = ((out["mean_hours"] - half).clip(lower=0) * scale).where(shown)
    out["reported_hours_high"] = ((out["mean_hours"] + half) * scale).where(shown)
    return out


def net_value(frame: pd.DataFrame, *, hourly_cost: float) -> pd.DataFrame:
    """Adds value and net value columns: hours x hourly cost - ``spend`` (both estimates, low/high).
    Unknown spend (NaN) gives an unknown net value: a silent 0 would overstate it."""
    out = frame.copy()
    spend = out["spend"].astype(float)
    for kind in ("measured", "reported"):
        if f"{kind}_hours" not in out:
            continue
        for suffix in ("", "_low", "_high"):
            out[f"{kind}_net{suffix}"] = out[f"{kind}_hours{suffix}"] * hourly_cost - spend
    return out


def _outer_merge(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Outer merge on ``keys`` whose types may differ between the sides (an empty frame's or a
    None-holding column's are objects, the other's floats): pandas refuses to merge those, which stopped
    the whole recompute when, for example, a month had AI PRs and no seats."""
    for key in keys:
        if key in left and key in right and left[key].dtype != right[key].dtype:
            try:
                left, right = left.astype({key: "float64"}), right.astype({key: "float64"})
            except (TypeError, ValueError):
                left, right = left.astype({key: object}), right.astype({key: object})
    return left.merge(right, on=keys, how="outer")


def roi_table(
    *,
    ai_prs: pd.DataFrame,
    survey: pd.DataFrame,
    spend: pd.DataFrame,
    keys: list[str],
    effect: tuple[float, float, float] | None,
    hours_per_pr: float,
    hourly_cost: float,
    min_group_size: int,
) -> pd.DataFrame:
    """One row per ``keys`` group (e.g. month, tool): AI PRs, hours saved (measured and
    self-reported, with intervals), spend and net value.  ``effect`` is (estimate, low, high) in
    percent, or None when there is not enough data (the measured columns are then NaN)."""
    table = _outer_merge(ai_prs, spend, keys)
    if effect is not None:
        table = measured_hours(
            table.fillna({"ai_prs": 0}),
            effect=effect[0],
            low=effect[1],
            high=effect[2],
            hours_per_pr=hours_per_pr,
        )
    else:
        table = table.assign(measured_hours=np.nan, measured_hours_low=np.nan, measured_hours_high=np.nan)
    if not survey.empty:
        reported = reported_hours(survey, min_group_size=min_group_size)
        columns = [*keys, "respondents", "reported_hours", "reported_hours_low", "reported_hours_high"]
        table = table.merge(reported[columns], on=keys, how="left")
    else:
        table = table.assign(
            respondents=0, reported_hours=np.nan, reported_hours_low=np.nan, reported_hours_high=np.nan
        )
    return net_value(table, hourly_cost=hourly_cost)


def _distinct(frame: pd.DataFrame, keys: list[str], name: str) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=[*keys, name])
    return frame.dropna(subset=keys).groupby(keys)["person_id"].nunique().rename(name).reset_index()


def _spend_groups(keys: list[str], *frames: pd.DataFrame) -> pd.DataFrame:
    """The ``keys`` groups that hold seats, entered seat counts or usage cost."""
    parts = [f[keys].dropna() for f in frames if not f.empty and set(keys) <= set(f.columns)]
    if not parts:
        return pd.DataFrame(columns=keys)
    return pd.concat(parts, ignore_index=True).drop_duplicates()


def roi_by(
    keys: list[str],
    *,
    ai_prs: pd.DataFrame,
    responses: pd.DataFrame,
    users: pd.DataFrame,
    seats: pd.DataFrame,
    prices: dict[str, float],
    declared: pd.DataFrame | None = None,
    usage: pd.DataFrame | None = None,
    effect: tuple[float, float, float] | None,
    hours_per_pr: float,
    hourly_cost: float,
    min_group_size: int,
) -> pd.DataFrame:
    """The ROI table grouped by ``keys`` (from month, tool, team_id).

    Inputs, one row each — ai_prs: an AI-assisted PR per tool (month, tool, team_id);
    responses: a survey answer (month, tool, team_id, person_id, hours per week); users: a
    person active with a tool in a month per telemetry (month, tool, team_id, person_id); seats:
    a seat held in a month (month, tool, team_id, person_id); prices: tool -> monthly seat price;
    declared: entered seat counts (month, tool, seats); usage: telemetry cost (month, tool, team_id,
    per_user, cost).  Active users default to the respondents when a tool has no telemetry.
    """
    declared = pd.DataFrame(columns=["month", "tool", "seats"]) if declared is None else declared
    usage = pd.DataFrame(columns=["month", "tool", "team_id", "per_user", "cost"]) if usage is None else usage
    prs = ai_prs.dropna(subset=keys).groupby(keys).size().rename("ai_prs").reset_index()
    groups = _outer_merge(prs[keys], _spend_groups(keys, seats, declared, usage), keys).drop_duplicates()
    spend = spending.spend_for(
        groups.reset_index(drop=True), keys, seats=seats, declared=declared, usage=usage, prices=prices
    )
    survey = pd.DataFrame(columns=[*keys, "respondents", "mean_hours", "sd_hours", "active_users"])
    answered = responses.dropna(subset=[*keys, "hours"])
    if not answered.empty:
        stats = answered.groupby(keys)["hours"].agg(respondents="size", mean_hours="mean", sd_hours="std")
        survey = stats.reset_index().merge(_distinct(users, keys, "active_users"), on=keys, how="left")
        survey["active_users"] = survey["active_users"].fillna(survey["respondents"])
    table = roi_table(
        ai_prs=prs,
        survey=survey,
        spend=spend,
        keys=keys,
        effect=effect,
        hours_per_pr=hours_per_pr,
        hourly_cost=hourly_cost,
        min_group_size=min_group_size,
    )
    return table.fillna({"ai_prs": 0})


# The figures of an ROI row that add up over months and tools: hours saved and net value, measured and
# self-reported, each with the bounds of its 95% interval.
FIGURES = [
    f"{kind}_{what}{bound}"
    for what in ("hours", "net")
    for kind in ("measured", "reported")
    for bound in ("", "_low", "_high")
]
MEASURED = [f for f in FIGURES if f.startswith("measured_")]
REPORTED = [f for f in FIGURES if f.startswith("reported_")]


def floor_reported(
    org: pd.DataFrame, teams: pd.DataFrame, *, min_size: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Blank self-reported figures that the survey privacy floor hides, including by subtraction.

    ``org`` rows (month, tool) and ``teams`` rows (month, tool, team_id) both carry ``respondents``;
    per month and tool the organization is the root group and each team a child, and
    :func:`metrics.analytics.survey_groups.apply_group_floor` decides what may be shown.
    """
    from metrics.analytics.survey_groups import ROOT, apply_group_floor

    groups = pd.concat(
        [
            org.assign(group=ROOT, parent=None),
            teams.assign(group="team:" + teams["team_id"].astype("Int64").astype(str), parent=ROOT),
        ],
        ignore_index=True,
    )
    groups = groups[groups["respondents"].fillna(0) > 0]
    shown = apply_group_floor(
        groups.assign(respondents=groups["respondents"].astype(int)), min_size, by=["month", "tool"]
    )
    visible = set(zip(shown["month"], shown["tool"], shown["group"], strict=True))

    def blank(frame: pd.DataFrame, group: pd.Series) -> pd.DataFrame:
        keep = [(m, t, g) in visible for m, t, g in zip(frame["month"], frame["tool"], group, strict=True)]
        out = frame.copy()
        out.loc[~pd.Series(keep, index=frame.index), [c for c in REPORTED if c in out]] = np.nan
        return out

    org_group = pd.Series(ROOT, index=org.index)
    team_group = "team:" + teams["team_id"].astype("Int64").astype(str)
    return blank(org, org_group), blank(teams, team_group)


HOURS_PER_WEEK = 40.0


def throughput_value(
    effect: tuple[float, float, float],
    *,
    baseline: float,
    hourly_cost: float,
    hours_per_week: float = HOURS_PER_WEEK,
) -> tuple[float, float, float]:
    """The second measure of value: what an engineer-week of AI use is worth through extra merged PRs.

    ``effect``: (estimate, low, high) merged PRs per engineer-week from the adjusted throughput effect;
    ``baseline``: merged PRs per engineer-week without AI.  An engineer-week producing ``effect / baseline``
    more of the same output is worth that share of an engineer-week's cost (``hours_per_week`` x
    ``hourly_cost``).  It rests on "PRs are of average size and value", not on an assumed effort per PR."""
    if baseline <= 0:
        raise ValueError(f"baseline merged PRs per engineer-week must be positive, got {baseline}")
    week_cost = hours_per_week * hourly_cost
    estimate, low, high = (value / baseline * week_cost for value in effect)
    return estimate, low, high
