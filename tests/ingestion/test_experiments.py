"""Experiments through the model and service layers: plan, freeze (assignment, hash), no edits after,
revisions as new later versions, and the demo's staggered rollout analysed on first load."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from metrics.analytics import experiments as ex
from metrics.core.models import Team
from metrics.ingestion import experiment_results
from metrics.ingestion import experiments as service
from metrics.ingestion.models import (
    AIUsageDay,
    Experiment,
    ExperimentAssignment,
    ExperimentPlan,
    ExperimentResult,
    FrozenPlanError,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(small_demo: None) -> None:
    """The small demo organization, loaded once for the module (``tests/conftest.py``)."""


def _plan(**overrides: object) -> ExperimentPlan:
    today = timezone.now().date()
    values = {
        "name": "Copilot pilot",
        "tool": "copilot",
        "unit": "person",
        "design": "randomized",
        "team_ids": list(Team.objects.values_list("pk", flat=True)),
        "waves": [today + dt.timedelta(days=7)],
        "end": today + dt.timedelta(days=7 + 8 * 7),
        "outcomes": ["cycle_time", "throughput"],
        "seed": 1234,
    }
    return service.plan_create(**{**values, **overrides})  # type: ignore[arg-type]


def test_demo_rollout_is_frozen_and_analysed_on_first_load(demo: None) -> None:
    experiment = Experiment.objects.get(name=service.DEMO_EXPERIMENT)
    plan = experiment.frozen_plan()
    assert plan is not None and plan.version == 1
    assert service.plan_intact(plan)
    first_wave = dt.date.fromisoformat(plan.content["waves"][0])
    assert plan.frozen_at is not None and plan.frozen_at.date() < first_wave
    result = ExperimentResult.objects.get(experiment=experiment)
    effects = {e["outcome"]: e for e in result.data["effects"]}
    assert set(effects) == {"cycle_time", "throughput", "revert_rate"}
    cycle = effects["cycle_time"]
    assert cycle["method"] == "staggered" and cycle["n"] > 0 and cycle["n_clusters"] >= ex.MIN_CLUSTERS
    assert cycle["status"] == "ok" and cycle["ci_low"] < cycle["ci_high"]
    assert result.data["event_study"]["cycle_time"], "an event study for the chart"
    assert ExperimentAssignment.objects.filter(experiment=experiment).count() == result.data["people"]


def test_freeze_draws_a_reproducible_stratified_assignment_and_seals_it(demo: None) -> None:
    plan = service.plan_freeze(_plan())
    assert plan.is_frozen and len(plan.sha256) == 64 and service.plan_intact(plan)
    arms = list(ExperimentAssignment.objects.filter(experiment=plan.experiment).values_list("arm", flat=True))
    assert 0.4 < sum(arms) / len(arms) < 0.6, "balanced within strata"
    again = service.plan_freeze(_plan(name="Same seed"))
    assert again.content["assignment"] == plan.content["assignment"]
    other = service.plan_freeze(_plan(name="Other seed", seed=99))
    assert other.content["assignment"] != plan.content["assignment"]
    assert plan.power and {row["outcome"] for row in plan.power} == {"cycle_time", "throughput"}
    assert any(row["mde"] is not None for row in plan.power)


def test_a_frozen_plan_cannot_be_edited_or_deleted_in_the_model_layer(demo: None) -> None:
    plan = service.plan_freeze(_plan())
    plan.content = {**plan.content, "outcomes": ["revert_rate"]}
    with pytest.raises(FrozenPlanError):
        plan.save()
    with pytest.raises(FrozenPlanError):
        ExperimentPlan.objects.filter(pk=plan.pk).update(content={})
    with pytest.raises(FrozenPlanError):
        plan.delete()
    with pytest.raises(FrozenPlanError):
        ExperimentPlan.objects.filter(pk=plan.pk).delete()
    with pytest.raises(FrozenPlanError):
        service.plan_freeze(plan)
    row = ExperimentAssignment.objects.filter(experiment=plan.experiment).first()
    assert row is not None
    row.arm = 1 - row.arm
    with pytest.raises(FrozenPlanError):
        row.save()
    plan.refresh_from_db()
    assert plan.content["outcomes"] == ["cycle_time", "throughput"] and service.plan_intact(plan)


def test_a_changed_analysis_is_a_new_later_version(demo: None) -> None:
    first = service.plan_freeze(_plan(), now=timezone.now() - dt.timedelta(hours=1))
    second = service.plan_revise(first.experiment, outcomes=["revert_rate"], reason="add reverts")
    assert second.version == 2 and second.frozen_at > first.frozen_at
    assert second.content["supersedes"] == {"version": 1, "sha256": first.sha256}
    assert second.sha256 != first.sha256 and service.plan_intact(second)
    assert second.content["assignment"] == first.content["assignment"]
    assert first.experiment.frozen_plan() == second
    first.refresh_from_db()
    assert first.content["outcomes"] == ["cycle_time", "throughput"], "the old version is untouched"
    with pytest.raises(service.PlanError, match="later"):
        service.plan_revise(first.experiment, outcomes=["cycle_time"], reason="x", now=first.frozen_at)


def test_bad_plans_are_refused_with_the_reason_and_nothing_written(demo: None) -> None:
    today = timezone.now().date()
    before = Experiment.objects.count()
    with pytest.raises(service.PlanError, match="staggered rollout needs at least two waves"):
        _plan(design="staggered")
    with pytest.raises(service.PlanError, match="end must come after"):
        _plan(end=today)
    with pytest.raises(service.PlanError, match="outcomes"):
        _plan(outcomes=["happiness"])
    assert Experiment.objects.count() == before
    late = _plan()
    with pytest.raises(service.PlanError, match="before the first licence"):
        service.plan_freeze(late, now=timezone.now() + dt.timedelta(days=30))
    late.refresh_from_db()
    assert not late.is_frozen and not ExperimentAssignment.objects.filter(experiment=late.experiment).exists()


def test_compliance_comes_from_usage_telemetry_per_week(demo: None) -> None:
    """A randomized rollout that ran during the demo's last eight weeks: telemetry days for some of the
    assigned people and one control person; weekly compliance and the first stage follow them."""
    prs = service.history_frame()
    through = prs["merged_at"].max().date()
    start = through - dt.timedelta(weeks=8)
    start -= dt.timedelta(days=start.weekday())  # a Monday: weeks line up with the telemetry
    plan = _plan(waves=[start], end=through + dt.timedelta(days=1))
    plan = service.plan_freeze(
        plan, now=dt.datetime.combine(start - dt.timedelta(days=3), dt.time(9), tzinfo=dt.UTC)
    )
    rows = list(ExperimentAssignment.objects.filter(experiment=plan.experiment).order_by("person_id"))
    treated = [r.person_id for r in rows if r.arm == 1]
    control = [r.person_id for r in rows if r.arm == 0]
    users = treated[: len(treated) // 2]  # half of the assigned use it in the first week
    week = start + dt.timedelta(days=1)
    for person_id in [*users, control[0]]:
        AIUsageDay.objects.create(
            tool="copilot", user_key=f"login:p{person_id}", person_id=person_id, day=week, source="test"
        )
    result = experiment_results.analyse(plan.experiment)
    assert result is not None and result.data["usage_source"] == "telemetry"
    first = next(w for w in result.data["weekly"] if w["week"] == start.isoformat())
    assert first["with_tool_people"] == len(treated)
    assert first["with_tool_used"] == pytest.approx(len(users) / len(treated))
    assert first["without_tool_used"] == pytest.approx(1 / len(control))
    iv = next(e for e in result.data["effects"] if e["method"] == "iv" and e["outcome"] == "cycle_time")
    moved = len(users) / len(treated) - 1 / len(control)
    assert iv["first_stage"] == pytest.approx(moved, abs=0.15)  # strata weights move it a little
    itt = next(e for e in result.data["effects"] if e["method"] == "itt" and e["outcome"] == "cycle_time")
    assert itt["status"] == "ok" and itt["ci_low"] < itt["ci_high"] and itt["n"] > 0
