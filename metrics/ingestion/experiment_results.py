"""Experiments' analysis: under the ruling (latest frozen) plan version, the effects (intention to treat and
instrumented for a randomized design, the staggered estimator and its event study for rollouts), weekly
compliance and cycle time per group (each at or above the privacy floor), stored as ``ExperimentResult``
for the page, the API and the report.

``experiments_recompute`` runs with every AI-impact recompute (``impact.ai_impact_recompute``), so the
results follow the data like every other estimate.  Planning and freezing are in ``experiments.py``; the
statistics in ``metrics/analytics/experiments.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings

from metrics.analytics import experiments as ex
from metrics.ingestion.experiments import ANY_TOOL, STAGGERED_PRE_WEEKS, day_start, history_frame, plan_date
from metrics.ingestion.models import AIUsageDay, Experiment, ExperimentResult


def _usage(content: dict[str, Any], people: list[int]) -> pd.DataFrame:
    """(person_id, week) of use: telemetry days of the tool, else AI-assisted PRs (``source`` says which)."""
    rows = AIUsageDay.objects.filter(person_id__in=people, active=True)
    if content["tool"] != ANY_TOOL:
        rows = rows.filter(tool__iexact=content["tool"])
    frame = pd.DataFrame.from_records(
        list(rows.values_list("person_id", "day")), columns=["person_id", "day"]
    )
    frame["week"] = pd.to_datetime(frame["day"]).dt.to_period("W").dt.start_time
    return frame[["person_id", "week"]].drop_duplicates()


def _week(values: pd.Series) -> pd.Series:
    return values.dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("W").dt.start_time


def _weekly(
    content: dict[str, Any], people: pd.DataFrame, prs: pd.DataFrame, used: pd.DataFrame, through: dt.date
) -> list[dict[str, Any]]:
    """Per week: compliance (share of people with the tool who used it; share of the others who used it
    anyway) and median cycle hours per group, each group only at or above the privacy floor."""
    start = plan_date(content["waves"][0]) - dt.timedelta(weeks=STAGGERED_PRE_WEEKS)
    weeks = pd.period_range(start, through, freq="W").start_time
    starts = people.set_index("person_id")["starts_on"]
    used_set = set(zip(used["person_id"], used["week"], strict=True))
    merged = prs.assign(week=_week(prs["merged_at"]))
    floor = settings.MIN_GROUP_SIZE
    out = []
    for week in weeks:
        has = starts.map(lambda s, w=week: s is not None and pd.Timestamp(s) <= w + pd.Timedelta(days=6))
        row: dict[str, Any] = {"week": week.date().isoformat()}
        for group, members in (("with_tool", starts.index[has]), ("without_tool", starts.index[~has])):
            n = len(members)
            row[f"{group}_people"] = n
            if n < floor:
                row[f"{group}_used"] = row[f"{group}_cycle_hours"] = None
                continue
            row[f"{group}_used"] = sum((p, week) in used_set for p in members) / n
            cycle = merged.loc[(merged["week"] == week) & merged["author_id"].isin(members), "log_cycle"]
            row[f"{group}_cycle_hours"] = float(np.exp(cycle.median())) if len(cycle) >= floor else None
            row[f"{group}_prs"] = len(cycle)
        out.append(row)
    return out


def _people(experiment: Experiment) -> pd.DataFrame:
    rows = experiment.assignments.values_list("person_id", "team_id", "stratum", "arm", "starts_on")
    return pd.DataFrame.from_records(
        list(rows), columns=["person_id", "team_id", "stratum", "arm", "starts_on"]
    )


def _randomized(
    content: dict[str, Any], people: pd.DataFrame, prs: pd.DataFrame, used: pd.DataFrame, through: dt.date
) -> list[ex.Effect]:
    start, end = day_start(plan_date(content["waves"][0])), day_start(min(plan_date(content["end"]), through))
    values = ex.person_outcomes(prs, people["person_id"], start, end).merge(people, on="person_id")
    in_window = used[(used["week"] >= start.tz_localize(None)) & (used["week"] < end.tz_localize(None))]
    values["used"] = values["person_id"].isin(set(in_window["person_id"])).astype(float)
    z = (values["arm"] == 1).astype(float).to_numpy()
    clusters = (values["person_id"] if content["unit"] == "person" else values["team_id"]).to_numpy()
    strata = values["stratum"].to_numpy()
    effects = []
    for outcome in content["outcomes"]:
        y = values[outcome].to_numpy(dtype=float)
        effects.append(ex.itt(outcome, y, z, clusters, strata))
        effects.append(ex.iv(outcome, y, values["used"].to_numpy(), z, clusters, strata))
    return effects


def _panel(people: pd.DataFrame, prs: pd.DataFrame, outcome: str, weeks: pd.DatetimeIndex) -> np.ndarray:
    """person x week: mean log cycle, PR count (0 without PRs) or revert share."""
    merged = prs.assign(week=_week(prs["merged_at"]))
    merged = merged[merged["author_id"].isin(people["person_id"]) & merged["week"].isin(weeks)]
    grouped = merged.groupby(["author_id", "week"])
    column = {"cycle_time": grouped["log_cycle"].mean(), "revert_rate": grouped["reverted"].mean()}
    series = column.get(outcome, grouped.size().astype(float))
    table = series.unstack("week").reindex(index=people["person_id"], columns=weeks)
    if outcome == "throughput":
        table = table.fillna(0.0)
    return table.to_numpy(dtype=float)


def _staggered(
    content: dict[str, Any], people: pd.DataFrame, prs: pd.DataFrame, through: dt.date
) -> tuple[list[ex.Effect], dict[str, list[dict[str, Any]]]]:
    first_wave = plan_date(content["waves"][0])
    end = min(plan_date(content["end"]), through)
    weeks = pd.period_range(first_wave - dt.timedelta(weeks=STAGGERED_PRE_WEEKS), end, freq="W").start_time
    starts = pd.to_datetime(people["starts_on"]).dt.to_period("W").dt.start_time
    first = np.array([weeks.get_loc(s) if s in weeks else np.inf for s in starts], float)
    clusters = (people["person_id"] if content["unit"] == "person" else people["team_id"]).to_numpy()
    effects, studies = [], {}
    for outcome in content["outcomes"]:
        result = ex.staggered(outcome, _panel(people, prs, outcome, weeks), first, clusters, max_event=8)
        effects.append(result.overall)
        studies[outcome] = [{**row, **_shown(outcome, row)} for row in result.event_study]
    return effects, studies


def _shown(outcome: str, row: dict[str, Any]) -> dict[str, Any]:
    effect = ex.Effect(outcome, "staggered", row["estimate"], None, row["ci_low"], row["ci_high"], 0, 0)
    return {f"shown_{k}": v for k, v in effect.shown().items()}


def analyse(experiment: Experiment, prs: pd.DataFrame | None = None) -> ExperimentResult | None:
    """Analyse under the ruling (latest frozen) plan version and store the result; None while a draft."""
    plan = experiment.frozen_plan()
    if plan is None:
        return None
    content = plan.content
    prs = history_frame() if prs is None else prs
    people = _people(experiment)
    through = prs["merged_at"].max().date() if not prs.empty else dt.date.today()  # noqa: DTZ011
    used = _usage(content, people["person_id"].tolist())
    usage_source = "telemetry"
    if used.empty:  # no telemetry for the tool: AI evidence on merged PRs stands in, and the page says so
        ai = prs[(prs["ai"] > 0) & prs["author_id"].isin(people["person_id"])]
        used = pd.DataFrame({"person_id": ai["author_id"], "week": _week(ai["merged_at"])}).drop_duplicates()
        usage_source = "AI evidence on PRs"
    studies: dict[str, list[dict[str, Any]]] = {}
    if content["design"] == "randomized":
        effects = _randomized(content, people, prs, used, through)
    else:
        effects, studies = _staggered(content, people, prs, through)
    data = {
        "through": through.isoformat(),
        "usage_source": usage_source,
        "effects": [{**e.as_dict(), "reading": ex.reading(e)} for e in effects],
        "event_study": studies,
        "weekly": _weekly(content, people, prs, used, through),
        "people": len(people),
        "clusters": int(people["person_id" if content["unit"] == "person" else "team_id"].nunique()),
    }
    data = _finite(data)
    result, _ = ExperimentResult.objects.update_or_create(
        experiment=experiment, defaults={"plan_version": plan.version, "data": data}
    )
    return result


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def experiments_recompute(prs: pd.DataFrame | None = None) -> int:
    """Analyse every experiment with a frozen plan; returns how many results were written."""
    frozen = Experiment.objects.filter(plans__frozen_at__isnull=False).distinct()
    if not frozen.exists():
        return 0
    prs = history_frame() if prs is None else prs
    if prs.empty:  # no merged PRs at all: nothing to analyse (results stay as they were)
        return 0
    return sum(analyse(experiment, prs) is not None for experiment in frozen)
