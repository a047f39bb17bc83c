"""Experiments: plan (power from the organization's history), freeze (assignment, SHA-256, timestamp) and
revise (a new, later version).  The analysis, stored for the page, the API and the report, is in
``experiment_results.py``.

The statistics are in ``metrics/analytics/experiments.py``; this module reads the records (through the
selectors) and writes the experiment tables.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from metrics.analytics import experiments as ex
from metrics.analytics.experiment_power import power_table
from metrics.core.models import Person, Team
from metrics.ingestion import selectors
from metrics.ingestion.models import (
    Experiment,
    ExperimentAssignment,
    ExperimentPlan,
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


def plan_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def day_start(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def validate(content: dict[str, Any]) -> None:
    """Raise ``PlanError`` naming what is wrong with a plan's content."""
    if content.get("design") not in ("randomized", "staggered"):
        raise PlanError("design must be 'randomized' or 'staggered'")
    if content.get("unit") not in ("person", "team"):
        raise PlanError("unit must be 'person' or 'team'")
    waves = [plan_date(w) for w in content.get("waves", [])]
    if not waves:
        raise PlanError("give the date the tool is handed out (one per wave)")
    if content["design"] == "staggered" and len(waves) < 2:
        raise PlanError("a staggered rollout needs at least two waves")
    if content["design"] == "randomized" and len(waves) != 1:
        raise PlanError("a randomized rollout has one start date")
    if waves != sorted(waves) or len(set(waves)) != len(waves):
        raise PlanError("wave dates must be distinct and in order")
    if plan_date(content.get("end", waves[0])) <= waves[-1]:
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
    end = min(day_start(plan_date(content["waves"][0])), pd.Timestamp.now(tz="UTC").normalize())
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
    start = day_start(plan_date(content["waves"][0]))
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
    if now.date() >= plan_date(content["waves"][0]):
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
                starts_on=plan_date(starts) if starts else None,
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
