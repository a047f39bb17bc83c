"""AI impact: adjusted effect of AI assistance on cycle time and revert rate, with honest intervals.

Method (documented for users on the AI-impact page):

- **Adjusted estimate**: OLS of log(cycle hours) (or reverted 0/1, a linear probability model) on
  the AI flag, log PR size and log files changed, with fixed effects for repository, author and
  calendar week, absorbed by alternating projections (so it scales to millions of PRs).  Standard
  errors are clustered by author; 95% intervals.  Cycle time is reported as % change
  (exp(b) - 1), revert rate as a difference in percentage points.
- **Naive difference** of means (log scale for cycle time), only ever shown beside the adjusted one.
- **Difference-in-differences** on staggered team adoption: log cycle time on "team has adopted"
  with team and week fixed effects, clustered by team (two-way FE; with strongly heterogeneous
  effects across adoption cohorts this is a weighted average, said so in the UI).
- **Three classes of PR**: human, AI-assisted human (``ai``) and agent-authored (``agent``: a coding agent
  opened it).  Both flags enter every adjusted model together, so each is compared with human PRs and
  neither is mixed into the other (method ``adjusted`` is the AI-assisted effect, ``agent`` the agent one).
- **Dose-response** (method ``dose``): among non-agent PRs whose share of AI-written added lines is known,
  the effect per 10 points of that share, same controls and fixed effects.
- **Reviewer time** (outcome ``review_hours``): log hours from review requested (ready, else opened) to
  approval, on both flags, with fixed effects for repository, approving reviewer and week, clustered by
  reviewer.
- **Throughput** (outcome ``throughput``): merged PRs per engineer-week on "used AI that week", with
  engineer and week fixed effects, clustered by engineer (:func:`engineer_weeks` builds the panel).
- Too little data gives ``status="not enough data"`` and no number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

MIN_TREATED = 30
MIN_CONTROL = 30
MIN_CLUSTERS = 10
MIN_DID_CLUSTERS = 6
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """One effect estimate.  ``estimate``/``ci_*`` are None when ``status`` is not ``ok``."""

    outcome: str  # cycle_time | revert_rate | review_hours | throughput
    method: str  # adjusted | naive | did | agent | dose
    unit: str  # percent_change | percentage_points | prs_per_week (dose: per 10 points of AI share)
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    n_treated: int
    n_clusters: int
    status: str = "ok"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def absorb(
    frame: pd.DataFrame, columns: list[str], fixed_effects: list[str], max_iter: int = 100, tol: float = 1e-9
) -> pd.DataFrame:
    """``columns`` with the group means of every fixed effect removed (alternating projections).

    Group means by ``np.bincount`` over codes factorized once (an order of magnitude faster than a pandas
    ``groupby().transform`` per sweep, which the validation over hundreds of seeds needs)."""
    out = frame[columns].to_numpy(dtype=float, copy=True)
    codes = [pd.factorize(frame[fe])[0] for fe in fixed_effects]
    sizes = [np.bincount(c).astype(float) for c in codes]
    for _ in range(max_iter):
        change = 0.0
        for c, n in zip(codes, sizes, strict=True):
            sums = np.stack(
                [np.bincount(c, weights=out[:, j], minlength=len(n)) for j in range(len(columns))]
            )
            means = (sums / n).T
            change = max(change, float(np.abs(means).max(initial=0.0)))
            out -= means[c]
        if change < tol:
            break
    return pd.DataFrame(out, columns=columns, index=frame.index)


def _not_enough(outcome: str, method: str, unit: str, n: int, treated: int, clusters: int) -> Estimate:
    return Estimate(outcome, method, unit, None, None, None, n, treated, clusters, "not enough data")


LOG_OUTCOMES = ("cycle_time", "review_hours")  # modelled on the log scale, shown as % change
UNITS = {"cycle_time": "percent_change", "review_hours": "percent_change", "throughput": "prs_per_week"}


def _unit(outcome: str) -> str:
    return UNITS.get(outcome, "percentage_points")


def _transform(outcome: str, b: float, se: float) -> tuple[float, float, float]:
    low, high = b - Z95 * se, b + Z95 * se
    if outcome in LOG_OUTCOMES:
        return float(np.expm1(b) * 100), float(np.expm1(low) * 100), float(np.expm1(high) * 100)
    if outcome == "throughput":
        return b, low, high
    return b * 100, low * 100, high * 100


def fe_effect(
    frame: pd.DataFrame,
    *,
    outcome: str,
    y: str,
    treat: str,
    controls: list[str],
    fixed_effects: list[str],
    cluster: str,
    method: str = "adjusted",
    min_clusters: int = MIN_CLUSTERS,
    also: list[str] | tuple[str, ...] = (),
    unit: str | None = None,
) -> Estimate:
    """The coefficient of ``treat`` with absorbed fixed effects and cluster-robust errors.

    ``also``: other treatment flags in the same regression (the other PR class), not reported; a flag with
    no variation left after the fixed effects is dropped."""
    unit = unit or _unit(outcome)
    also = [a for a in also if a != treat]
    # Only the regression's columns are copied (the model frame holds a million PRs' other columns too).
    data = frame[list(dict.fromkeys([y, treat, *also, *controls, *fixed_effects, cluster]))].dropna()
    treated = int(data[treat].astype(bool).sum())
    clusters = int(data[cluster].nunique())
    untreated = int((~data[[treat, *also]].astype(bool).any(axis=1)).sum())
    if treated < MIN_TREATED or untreated < MIN_CONTROL or clusters < min_clusters:
        return _not_enough(outcome, method, unit, len(data), treated, clusters)
    demeaned = absorb(data, [y, treat, *also, *controls], fixed_effects)
    if demeaned[treat].abs().max() < 1e-12:  # the flag is fully explained by the fixed effects
        return _not_enough(outcome, method, unit, len(data), treated, clusters)
    # A control the fixed effects already explain (constant within them) carries no information.
    regressors = [treat, *(c for c in [*also, *controls] if demeaned[c].abs().max() > 1e-12)]
    x = demeaned[regressors].to_numpy()
    groups = pd.factorize(data[cluster])[0]
    fit = sm.OLS(demeaned[y].to_numpy(), x).fit(cov_type="cluster", cov_kwds={"groups": groups})
    estimate, low, high = _transform(outcome, float(fit.params[0]), float(fit.bse[0]))
    return Estimate(outcome, method, unit, estimate, low, high, len(data), treated, clusters)


def prepare(prs: pd.DataFrame) -> pd.DataFrame:
    """Model columns from merged non-bot PRs.

    Input columns: cycle_hours, ai_assisted, reverted (bool) or reverted_at, size_lines,
    changed_files, repository_id, author_id, merged_at, and where known first_commit_at and
    created_at.  Adds log_cycle (cycle at least one minute), log_size, log_files, week (the week
    work started: first commit, else opened, else merged), ai (0/1), reverted (0/1).
    """
    out = prs.copy(deep=False)  # copy-on-write: only the columns set below are new
    if "reverted" not in out:
        out["reverted"] = out["reverted_at"].notna()
    # Three classes: an agent-authored PR is never also counted as an AI-assisted human one.
    out["agent"] = out["agent_authored"].astype(float) if "agent_authored" in out else 0.0
    out["ai"] = out["ai_assisted"].astype(float) * (1.0 - out["agent"])
    if "ai_share" in out:  # share of added lines written with AI (0..1), NaN where unknown
        out["dose"] = out["ai_share"].astype(float).clip(0, 1) * 10
    if "approved_at" in out:
        requested = out["ready_at"].fillna(out["created_at"]) if "ready_at" in out else out["created_at"]
        hours = (out["approved_at"] - requested).dt.total_seconds() / 3600
        out["log_review"] = np.log(hours.where(hours >= 0).clip(lower=1 / 60))
    out["reverted"] = out["reverted"].astype(float)
    out["log_cycle"] = np.log(out["cycle_hours"].clip(lower=1 / 60))
    out["log_size"] = np.log1p(out["size_lines"].astype(float).fillna(0))
    out["log_files"] = np.log1p(out["changed_files"].astype(float).fillna(0))
    # The calendar control is the week the work started, not the merge week: the merge week depends
    # on the cycle time itself, and fixing it would compare slow old PRs with fast new ones.
    started = out["merged_at"].copy()
    for column in ("created_at", "first_commit_at"):
        if column in out:
            started = out[column].fillna(started)
    out["week"] = _labels(started.dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("W"))
    return out


def _labels(periods: pd.Series) -> pd.Series:
    """``periods.astype(str)`` with one string per distinct period, not one per row (a million PRs share
    about a hundred weeks: 15 MB instead of 75)."""
    codes, uniques = pd.factorize(periods)
    labels = np.asarray(uniques.astype(str), dtype=object)[codes]
    labels[codes < 0] = np.nan
    return pd.Series(labels, index=periods.index, dtype="str")


CONTROLS = ["log_size", "log_files"]
FIXED_EFFECTS = ["repository_id", "author_id", "week"]


def _classes(model: pd.DataFrame) -> list[str]:
    """The class flags present: ``ai`` always, ``agent`` when any PR is agent-authored."""
    return ["ai", "agent"] if "agent" in model and float(model["agent"].sum()) > 0 else ["ai"]


def adjusted_effects(model: pd.DataFrame, treat: str = "ai") -> list[Estimate]:
    """Adjusted effect on cycle time and on the revert rate (input: :func:`prepare` output).

    With agent PRs present, ``ai`` and ``agent`` are in the same regression: each against human PRs."""
    also = [c for c in _classes(model) if c != treat] if treat in ("ai", "agent") else []
    method = "agent" if treat == "agent" else "adjusted"
    common: dict[str, Any] = {
        "treat": treat,
        "controls": CONTROLS,
        "fixed_effects": FIXED_EFFECTS,
        "cluster": "author_id",
        "also": also,
        "method": method,
    }
    return [
        fe_effect(model, outcome="cycle_time", y="log_cycle", **common),
        fe_effect(model, outcome="revert_rate", y="reverted", **common),
    ]


def agent_effects(model: pd.DataFrame) -> list[Estimate]:
    """Agent-authored PRs against human ones (AI-assisted PRs held apart), cycle time and revert rate."""
    if "agent" not in model:
        model = model.assign(agent=0.0)
    return adjusted_effects(model, treat="agent")


def dose_effects(model: pd.DataFrame) -> list[Estimate]:
    """Effect per 10 points of AI share of added lines (non-agent PRs whose share is known)."""
    data = model if "dose" in model else model.assign(dose=np.nan)
    data = data[data["agent"] == 0] if "agent" in data else data
    common: dict[str, Any] = {
        "treat": "dose",
        "controls": CONTROLS,
        "fixed_effects": FIXED_EFFECTS,
        "cluster": "author_id",
    }
    return [
        fe_effect(
            data, outcome="cycle_time", y="log_cycle", method="dose", unit="pct_per_10_points", **common
        ),
        fe_effect(
            data, outcome="revert_rate", y="reverted", method="dose", unit="pp_per_10_points", **common
        ),
    ]


REVIEW_FIXED_EFFECTS = ["repository_id", "reviewer_id", "week"]


def review_effects(model: pd.DataFrame) -> list[Estimate]:
    """Adjusted effect of AI-assisted (method ``adjusted``) and agent (``agent``) authorship on reviewer
    time: log hours from review requested to approval, fixed effects for repository, the approving
    reviewer and week, clustered by reviewer.  PRs without an approval or a reviewer are left out."""
    data = model if "log_review" in model else model.assign(log_review=np.nan)
    data = data if "reviewer_id" in data else data.assign(reviewer_id=np.nan)
    data = data if "agent" in data else data.assign(agent=0.0)
    classes = _classes(data)
    out = []
    for treat in ("ai", "agent"):
        out.append(
            fe_effect(
                data,
                outcome="review_hours",
                y="log_review",
                treat=treat,
                also=classes,
                controls=CONTROLS,
                fixed_effects=REVIEW_FIXED_EFFECTS,
                cluster="reviewer_id",
                method="agent" if treat == "agent" else "adjusted",
            )
        )
    return out


def engineer_weeks(prs: pd.DataFrame, usage: pd.DataFrame | None = None) -> pd.DataFrame:
    """The engineer-week panel for the throughput effect: (author_id, week, merged, ai_week).

    prs: author_id, merged_at, ai_assisted (merged non-bot PRs; agent PRs count for the engineer who is
    their author); usage: person_id, day, active (AI telemetry).  Each engineer's weeks run from their
    first to their last merged PR, both edge weeks left out (each holds a PR by construction).
    ``ai_week``: telemetry active that week for engineers with telemetry; otherwise the weeks after the
    week of their first AI-assisted PR (that week itself left out: it holds an AI PR by construction)."""
    frame = prs.dropna(subset=["author_id", "merged_at"])
    frame = pd.DataFrame(
        {
            "author_id": frame["author_id"].to_numpy(),
            "week": _week_ordinals(frame["merged_at"].dt.tz_convert("UTC").dt.tz_localize(None)),
            "ai": frame["ai_assisted"].astype(bool).to_numpy(),
        }
    )
    columns = ["author_id", "week", "merged", "ai_week"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    counts = frame.groupby(["author_id", "week"]).size().rename("merged").reset_index()
    span = frame.groupby("author_id")["week"].agg(["min", "max"])
    lengths = np.maximum(span["max"].to_numpy() - span["min"].to_numpy() - 1, 0)
    before = np.cumsum(lengths) - lengths  # where each engineer's weeks start in the panel
    weeks = np.repeat(span["min"].to_numpy() + 1 - before, lengths) + np.arange(int(lengths.sum()))
    panel = pd.DataFrame({"author_id": np.repeat(span.index.to_numpy(), lengths), "week": weeks})
    if panel.empty:
        return pd.DataFrame(columns=columns)
    panel = panel.merge(counts, on=["author_id", "week"], how="left").fillna({"merged": 0})
    panel["merged"] = panel["merged"].astype(float)
    panel["ai_week"] = np.nan
    if usage is not None and not usage.empty:
        active = usage[usage["active"].astype(bool)].dropna(subset=["person_id"])
        used = pd.DataFrame(
            {
                "author_id": active["person_id"].to_numpy(),
                "week": _week_ordinals(pd.to_datetime(active["day"])),
            }
        ).drop_duplicates()
        flagged = panel[["author_id", "week"]].merge(
            used.assign(used=1.0), on=["author_id", "week"], how="left"
        )
        with_telemetry = panel["author_id"].isin(set(used["author_id"])).to_numpy()
        panel.loc[with_telemetry, "ai_week"] = flagged["used"].fillna(0.0).to_numpy()[with_telemetry]
    first = (
        panel["author_id"].map(frame[frame["ai"]].groupby("author_id")["week"].min()).to_numpy(dtype=float)
    )
    rest = panel["ai_week"].isna().to_numpy()
    week = panel["week"].to_numpy(dtype=float)
    panel.loc[rest, "ai_week"] = (week > first)[rest].astype(float)  # NaN (never used AI) compares False
    panel = panel[~(rest & (week == first))]
    ordinals = panel["week"].to_numpy(dtype=np.int64)
    labels = pd.PeriodIndex(pd.arrays.PeriodArray(ordinals, dtype=pd.PeriodDtype("W"))).astype(str)
    return panel.assign(week=labels)[columns].reset_index(drop=True)


def _week_ordinals(moments: pd.Series) -> np.ndarray:
    """The ISO (Monday) week of each moment as an integer, consecutive weeks differing by one."""
    return np.asarray(moments.dt.to_period("W").array.asi8, dtype=np.int64)


def throughput_effect(panel: pd.DataFrame) -> Estimate:
    """Adjusted effect of AI use on merged PRs per engineer-week (engineer and week fixed effects,
    clustered by engineer), in PRs per week; input: :func:`engineer_weeks`."""
    return fe_effect(
        panel,
        outcome="throughput",
        y="merged",
        treat="ai_week",
        controls=[],
        fixed_effects=["author_id", "week"],
        cluster="author_id",
    )


def naive_effects(model: pd.DataFrame, treat: str = "ai") -> list[Estimate]:
    """Differences of means (Welch intervals), to be shown only beside the adjusted estimate."""
    results = []
    wanted = dict.fromkeys(["log_cycle", "reverted", treat, "author_id", "agent"])
    model = model[[c for c in wanted if c in model]]  # only the columns read: no copy of the rest
    if "agent" in model and treat == "ai":  # AI-assisted against human PRs: agent PRs are their own class
        model = model[model["agent"] == 0]
    for outcome, y in (("cycle_time", "log_cycle"), ("revert_rate", "reverted")):
        unit = "percent_change" if outcome == "cycle_time" else "percentage_points"
        data = model.dropna(subset=[y, treat])
        a, b = data.loc[data[treat] == 1, y], data.loc[data[treat] == 0, y]
        clusters = int(data["author_id"].nunique())
        if len(a) < MIN_TREATED or len(b) < MIN_CONTROL:
            results.append(_not_enough(outcome, "naive", unit, len(data), len(a), clusters))
            continue
        diff = float(a.mean() - b.mean())
        se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
        estimate, low, high = _transform(outcome, diff, se)
        results.append(Estimate(outcome, "naive", unit, estimate, low, high, len(data), len(a), clusters))
    return results


def adoption_weeks(
    model: pd.DataFrame, team: str = "team_id", share: float = 0.1, min_prs: int = 5
) -> pd.Series:
    """The first week in which each team's AI-assisted share reached ``share`` (with >= ``min_prs`` PRs)."""
    weekly = model.groupby([team, "week"], observed=True)["ai"].agg(["mean", "size"]).reset_index()
    adopted = weekly[(weekly["mean"] >= share) & (weekly["size"] >= min_prs)]
    return adopted.groupby(team, observed=True)["week"].min()


def did_effect(model: pd.DataFrame, adoption: pd.Series, team: str = "team_id") -> Estimate:
    """Two-way fixed-effects difference-in-differences on staggered team adoption (cycle time)."""
    data = model.loc[model[team].notna(), [team, "week", "log_cycle", *CONTROLS]]
    first = data[team].map(adoption)
    data = data.assign(post=(first.notna() & (data["week"] >= first.fillna("9999"))).astype(float))
    return fe_effect(
        data,
        outcome="cycle_time",
        y="log_cycle",
        treat="post",
        controls=CONTROLS,
        fixed_effects=[team, "week"],
        cluster=team,
        method="did",
        min_clusters=MIN_DID_CLUSTERS,
    )


def sensitivity(model: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """The adjusted cycle-time estimate under each detection rule.

    ``evidence``: (id, kind) rows (trailer, author, branch, label, telemetry, explicit).  Rows
    ``any`` (the union) and each kind alone: the AI flag is "has evidence of that kind".
    """
    rows = []
    kinds = ["any", *sorted(evidence["kind"].unique())] if not evidence.empty else ["any"]
    columns = model[list(dict.fromkeys(["log_cycle", *CONTROLS, *FIXED_EFFECTS, "author_id"]))]
    for kind in kinds:
        ids = evidence["id"] if kind == "any" else evidence.loc[evidence["kind"] == kind, "id"]
        flagged = columns.assign(rule=model["id"].isin(set(ids)).astype(float))
        estimate = fe_effect(
            flagged,
            outcome="cycle_time",
            y="log_cycle",
            treat="rule",
            controls=CONTROLS,
            fixed_effects=FIXED_EFFECTS,
            cluster="author_id",
        )
        rows.append({"rule": kind, **estimate.as_dict()})
    return pd.DataFrame(rows)


def detection_coverage(prs: pd.DataFrame, usage: pd.DataFrame) -> dict[str, float | int | None]:
    """Among PRs whose author had AI telemetry on a day the PR was worked on, the share with no evidence.

    Input — prs: id, author_id, first_commit_at (else created_at), merged_at, ai_assisted;
    usage: person_id, day (date), active.  A high share means evidence (trailers, authors...)
    misses much of the AI use, so the PR-level flag is a lower bound.
    """
    active = usage[usage["active"].astype(bool)].dropna(subset=["person_id"])
    start = prs["first_commit_at"].fillna(prs["created_at"]).fillna(prs["merged_at"])
    spans = prs.assign(
        start=start.dt.tz_convert("UTC").dt.date, end=prs["merged_at"].dt.tz_convert("UTC").dt.date
    )
    joined = spans[["id", "author_id", "start", "end", "ai_assisted"]].merge(
        active[["person_id", "day"]], left_on="author_id", right_on="person_id"
    )
    joined = joined[(joined["day"] >= joined["start"]) & (joined["day"] <= joined["end"])]
    with_telemetry = joined.drop_duplicates("id")
    n = len(with_telemetry)
    unmarked = int((~with_telemetry["ai_assisted"].astype(bool)).sum())
    return {
        "prs_with_telemetry": n,
        "without_evidence": unmarked,
        "share_without_evidence": unmarked / n if n else None,
    }


def adoption_levels(prs: pd.DataFrame, usage: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per person and month: ``none``, ``occasional`` or ``regular`` AI use.

    Regular: at least half of the person's merged PRs that month carry evidence, or AI telemetry
    on at least 8 days; occasional: any evidence or telemetry; none otherwise.
    Input — prs: author_id, merged_at, ai_assisted; usage: person_id, day, active.
    Output: person_id, month (period start date), ai_share, active_days, level.
    """
    month = prs["merged_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M")
    by_pr = prs.assign(month=month).groupby(["author_id", "month"], observed=True)["ai_assisted"].mean()
    frame = by_pr.rename("ai_share").reset_index().rename(columns={"author_id": "person_id"})
    frame["active_days"] = 0
    if usage is not None and not usage.empty:
        active = usage[usage["active"].astype(bool)].dropna(subset=["person_id"])
        days = active.assign(month=pd.to_datetime(active["day"]).dt.to_period("M"))
        counts = days.groupby(["person_id", "month"]).size().rename("days").reset_index()
        frame = frame.merge(counts, on=["person_id", "month"], how="outer")
        frame["active_days"] = frame.pop("days").fillna(0).astype(int)
        frame["ai_share"] = frame["ai_share"].fillna(0.0)
    regular = (frame["ai_share"] >= 0.5) | (frame["active_days"] >= 8)
    occasional = (frame["ai_share"] > 0) | (frame["active_days"] > 0)
    frame["level"] = np.where(regular, "regular", np.where(occasional, "occasional", "none"))
    frame["month"] = frame["month"].dt.start_time.dt.date
    return frame
