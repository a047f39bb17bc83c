"""Experiments: plan (power from the organization's history), freeze (assignment, SHA-256, timestamp),
revise (a new, later version), and analyse (results stored for the page, the API and the report).

The statistics are in ``metrics/analytics/experiments.py``; this module reads the records (through the
selectors) and writes the experiment tables.  ``experiments_recompute`` runs with every AI-impact
recompute (``impact.ai_impact_recompute``), so the results follow the data like every other estimate.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from metrics.analytics import experiments as ex
from metrics.analytics.experiment_power import power_table
from metrics.core.models import Person, Team
from metrics.ingestion import selectors
from metrics.ingestion.models import (
    AIUsageDay,
    Experiment,
    ExperimentAssignment,
    ExperimentPlan,
    ExperimentResult,
    FrozenPlanError,
)

BASELINE_WEEKS = 12
STAGGERED_PRE_WEEKS = 8
ANY_TOOL = "any"


class PlanError(ValueError):
    """A plan that cannot be made or frozen; the message names the problem."""


def history_frame() -> pd.DataFrame:
    """Merged non-bot PRs: author_id, team_id, merged_at, log_cycle, reverted, ai (the AI-impact model)."""
    from metrics.ingestion.impact import impact_frame  # impact imports this module to recompute

    return history_columns(impact_frame())


def history_columns(model: pd.DataFrame) -> pd.DataFrame:
    """The experiment columns of the AI-impact model (``impact.impact_frame``)."""
    if model.empty:
        return pd.DataFrame(columns=["author_id", "team_id", "merged_at", "log_cycle", "reverted", "ai"])
    return model[["author_id", "team_id", "merged_at", "log_cycle", "reverted", "ai"]]


def eligible_people(team_ids: list[int]) -> pd.DataFrame:
    """person_id, team_id: the people (not bots) whose current team is one of ``team_ids``."""
    teams = selectors.person_team_map()
    bots = set(Person.objects.filter(is_bot=True).values_list("id", flat=True))
    rows = [(p, t) for p, t in teams.items() if t in set(team_ids) and p not in bots]
    return pd.DataFrame(sorted(rows), columns=["person_id", "team_id"])


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _ts(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def validate(content: dict[str, Any]) -> None:
    """Raise ``PlanError`` naming what is wrong with a plan's content."""
    if content.get("design") not in ("randomized", "staggered"):
        raise PlanError("design must be 'randomized' or 'staggered'")
    if content.get("unit") not in ("person", "team"):
        raise PlanError("unit must be 'person' or 'team'")
    waves = [_date(w) for w in content.get("waves", [])]
    if not waves:
        raise PlanError("give the date the tool is handed out (one per wave)")
    if content["design"] == "staggered" and len(waves) < 2:
        raise PlanError("a staggered rollout needs at least two waves")
    if content["design"] == "randomized" and len(waves) != 1:
        raise PlanError("a randomized rollout has one start date")
    if waves != sorted(waves) or len(set(waves)) != len(waves):
        raise PlanError("wave dates must be distinct and in order")
    if _date(content.get("end", waves[0])) <= waves[-1]:
        raise PlanError("the end must come after the last wave's start")
    outcomes = content.get("outcomes") or []
    if not outcomes or set(outcomes) - set(ex.OUTCOMES):
        raise PlanError(f"outcomes must be among {', '.join(ex.OUTCOMES)}")
    if not content.get("people"):
        raise PlanError("no eligible people: choose teams with members")


def power_for(content: dict[str, Any], prs: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """The power table from the history before the first wave (or before today, if that is earlier)."""
    prs = history_frame() if prs is None else prs
    people = pd.DataFrame(content["people"], columns=["person_id", "team_id"])
    end = min(_ts(_date(content["waves"][0])), pd.Timestamp.now(tz="UTC").normalize())
    if prs.empty or people.empty:
        return []
    rows = power_table(prs, people, unit=content["unit"], end=end, outcomes=tuple(content["outcomes"]))
    return [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()} for r in rows
    ]


@transaction.atomic
def plan_create(
    *,
    name: str,
    tool: str,
    unit: str,
    design: str,
    team_ids: list[int],
    waves: list[dt.date],
    end: dt.date,
    outcomes: list[str],
    seed: int | None = None,
    prs: pd.DataFrame | None = None,
) -> ExperimentPlan:
    """A new experiment with its first plan version, a draft with its power table (nothing frozen)."""
    if not name.strip() or not tool.strip():
        raise PlanError("name and tool are required")
    people = eligible_people(team_ids)
    content = {
        "design": design,
        "unit": unit,
        "tool": tool.strip(),
        "eligible_team_ids": sorted(team_ids),
        "people": people.to_numpy().tolist(),
        "waves": [w.isoformat() for w in waves],
        "end": end.isoformat(),
        "outcomes": list(outcomes),
        "analysis": _analysis(design, unit),
        "seed": int(seed if seed is not None else secrets.randbelow(2**31)),
    }
    validate(content)
    experiment = Experiment.objects.create(name=name.strip(), tool=tool.strip(), unit=unit, design=design)
    return ExperimentPlan.objects.create(
        experiment=experiment, version=1, content=content, power=power_for(content, prs)
    )


def _analysis(design: str, unit: str) -> dict[str, Any]:
    methods = ["itt", "iv"] if design == "randomized" else ["staggered"]
    return {
        "methods": methods,
        "alpha": ex.ALPHA,
        "cluster": unit,
        "strata": "team x baseline cycle time" if unit == "person" else "baseline cycle time tercile",
        "baseline_weeks": BASELINE_WEEKS,
    }


def _assignment(content: dict[str, Any], prs: pd.DataFrame) -> pd.DataFrame:
    """unit_id, stratum, arm from the seed (the baseline: the weeks before the first wave)."""
    people = pd.DataFrame(content["people"], columns=["person_id", "team_id"])
    start = _ts(_date(content["waves"][0]))
    base = ex.person_outcomes(prs, people["person_id"], start - pd.Timedelta(weeks=BASELINE_WEEKS), start)
    baseline = people["person_id"].map(base.set_index("person_id")["cycle_time"])
    arms = 2 if content["design"] == "randomized" else len(content["waves"])
    if content["unit"] == "person":
        frame = pd.DataFrame(
            {"unit_id": people["person_id"], "team_id": people["team_id"], "baseline": baseline}
        )
        frame["stratum"] = ex.strata_for(frame, by_team=True).to_numpy()
    else:
        by_team = pd.DataFrame({"unit_id": people["team_id"], "baseline": baseline}).groupby("unit_id")
        frame = by_team["baseline"].mean().reset_index().assign(team_id=lambda f: f["unit_id"])
        frame["stratum"] = ex.strata_for(frame, by_team=False).to_numpy()
    return ex.assign(frame[["unit_id", "stratum"]], seed=int(content["seed"]), arms=arms)


def _starts_on(content: dict[str, Any], arm: int) -> str | None:
    waves = content["waves"]
    if content["design"] == "randomized":
        return waves[0] if arm == 1 else None
    return waves[arm - 1] if 1 <= arm <= len(waves) else None


@transaction.atomic
def plan_freeze(
    plan: ExperimentPlan, *, now: dt.datetime | None = None, assignment: pd.DataFrame | None = None
) -> ExperimentPlan:
    """Freeze the first version: draw the assignment from the seed, seal the content with SHA-256 and the
    time.  Refused once the first wave has started (a plan frozen after the first licence proves nothing).
    ``assignment`` (unit_id, stratum, arm) replaces the draw only for the demo's pre-drawn rollout."""
    plan = ExperimentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.is_frozen:
        raise FrozenPlanError(f"plan version {plan.version} is already frozen")
    now = now or timezone.now()
    content = dict(plan.content)
    validate(content)
    if now.date() >= _date(content["waves"][0]):
        raise PlanError("the first wave has started: a plan must be frozen before the first licence")
    drawn = _assignment(content, history_frame()) if assignment is None else assignment
    content["assignment"] = [
        {"unit": int(r.unit_id), "stratum": str(r.stratum), "arm": int(r.arm)} for r in drawn.itertuples()
    ]
    content["frozen_at"] = now.isoformat()
    digest = ex.plan_hash(content)
    ExperimentPlan.objects.filter(pk=plan.pk).update(content=content, sha256=digest, frozen_at=now)
    _write_assignment(plan.experiment, content)
    plan.refresh_from_db()
    return plan


def _write_assignment(experiment: Experiment, content: dict[str, Any]) -> None:
    arms = {a["unit"]: a for a in content["assignment"]}
    rows = []
    for person_id, team_id in content["people"]:
        unit = person_id if content["unit"] == "person" else team_id
        chosen = arms.get(unit)
        if chosen is None:
            continue
        starts = _starts_on(content, chosen["arm"])
        rows.append(
            ExperimentAssignment(
                experiment=experiment,
                person_id=person_id,
                team_id=team_id,
                stratum=chosen["stratum"],
                arm=chosen["arm"],
                starts_on=_date(starts) if starts else None,
            )
        )
    ExperimentAssignment.objects.bulk_create(rows)


@transaction.atomic
def plan_revise(
    experiment: Experiment, *, outcomes: list[str], reason: str, now: dt.datetime | None = None
) -> ExperimentPlan:
    """A changed analysis: a new version, frozen at once with a later timestamp and its own hash, that
    names the version and hash it supersedes.  The assignment, seed and dates never change."""
    current = experiment.frozen_plan()
    if current is None:
        raise PlanError("only a frozen plan is revised; edit the draft instead")
    if not reason.strip():
        raise PlanError("say why the analysis changes")
    now = now or timezone.now()
    if current.frozen_at is not None and now <= current.frozen_at:
        raise PlanError("a revision must be later than the version it supersedes")
    content = {**current.content, "outcomes": list(outcomes), "frozen_at": now.isoformat()}
    content["supersedes"] = {"version": current.version, "sha256": current.sha256}
    validate(content)
    version = current.version + 1
    digest = ex.plan_hash(content)
    return ExperimentPlan.objects.create(
        experiment=experiment,
        version=version,
        content=content,
        power=current.power,
        reason=reason.strip(),
        sha256=digest,
        frozen_at=now,
    )


def plan_intact(plan: ExperimentPlan) -> bool:
    """True when the stored content still hashes to the sealed SHA-256."""
    return plan.is_frozen and ex.plan_hash(plan.content) == plan.sha256


# --- analysis ---------------------------------------------------------------------------------------


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
    start = _date(content["waves"][0]) - dt.timedelta(weeks=STAGGERED_PRE_WEEKS)
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
    start, end = _ts(_date(content["waves"][0])), _ts(min(_date(content["end"]), through))
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
    first_wave = _date(content["waves"][0])
    end = min(_date(content["end"]), through)
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


# --- the demo -----------------------------------------------------------------------------------------

DEMO_EXPERIMENT = "Demo: staggered AI rollout by team"


def demo_experiment(truth: dict[str, Any]) -> Experiment | None:
    """The demo's staggered team rollout as a frozen experiment: each adopting team a wave at its planted
    adoption week (the demo drew that order at random with its seed), the teams that never adopt the
    comparison throughout; frozen a week before the first wave.  Idempotent on the name."""
    if Experiment.objects.filter(name=DEMO_EXPERIMENT).exists():
        return None
    teams = {t.name: t.pk for t in Team.objects.all()}
    adopted = sorted(
        (dt.datetime.fromisoformat(t["ai_adoption"]), teams[t["name"]])
        for t in truth.get("teams", [])
        if t.get("ai_adoption") and t["name"] in teams
    )
    if len(adopted) < 2:
        return None
    weeks = sorted({(d.date() - dt.timedelta(days=d.weekday())) for d, _ in adopted})
    wave_of = {team: weeks.index(d.date() - dt.timedelta(days=d.weekday())) + 1 for d, team in adopted}
    never = [pk for name, pk in teams.items() if pk not in wave_of]
    people = eligible_people([*wave_of, *never])
    prs = history_frame()
    end = prs["merged_at"].max().date() if not prs.empty else weeks[-1] + dt.timedelta(weeks=8)
    content = {
        "design": "staggered",
        "unit": "team",
        "tool": ANY_TOOL,
        "eligible_team_ids": sorted([*wave_of, *never]),
        "people": people.to_numpy().tolist(),
        "waves": [w.isoformat() for w in weeks],
        "end": end.isoformat(),
        "outcomes": ["cycle_time", "throughput", "revert_rate"],
        "analysis": _analysis("staggered", "team"),
        "seed": int(truth.get("seed", 0)),
        "note": "demo: the waves are the demo's planted team adoption dates (an order drawn at random); "
        "planted effect: AI-assisted PRs take 0.8x as long and adopting engineers use AI on 40-95% of PRs, "
        "ramping up over 90 days, so a team's cycle time falls by roughly 5-15%, more as time goes on",
    }
    validate(content)
    experiment = Experiment.objects.create(
        name=DEMO_EXPERIMENT, tool=ANY_TOOL, unit="team", design="staggered"
    )
    plan = ExperimentPlan.objects.create(
        experiment=experiment, version=1, content=content, power=power_for(content, prs)
    )
    frozen_at = dt.datetime.combine(weeks[0] - dt.timedelta(days=7), dt.time(9), tzinfo=dt.UTC)
    drawn = pd.DataFrame(
        [(team, "all", wave_of.get(team, len(weeks) + 1)) for team in sorted([*wave_of, *never])],
        columns=["unit_id", "stratum", "arm"],
    )
    plan_freeze(plan, now=frozen_at, assignment=drawn)
    return experiment
