"""Planned AI rollouts as experiments: the plan (versioned, frozen with a hash), the assignment and the
results the recompute stores (metrics/ingestion/experiments.py writes them, metrics/analytics/experiments.py
computes them)."""

from __future__ import annotations

from typing import Any

from django.db import models

from metrics.core.models import Person, Team


class FrozenPlanError(Exception):
    """A frozen plan (or its assignment) was about to change: a changed analysis is a new version."""


class Experiment(models.Model):
    """A rollout of one AI tool run as an experiment.  Its plans are versions; the latest frozen one rules."""

    class Unit(models.TextChoices):
        PERSON = "person", "people"
        TEAM = "team", "teams"

    class Design(models.TextChoices):
        RANDOMIZED = "randomized", "randomized (treatment and control)"
        STAGGERED = "staggered", "staggered waves"

    name = models.CharField(max_length=200)
    tool = models.CharField(max_length=50, help_text="as in the AI usage telemetry (e.g. copilot)")
    unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.PERSON)
    design = models.CharField(max_length=12, choices=Design.choices, default=Design.RANDOMIZED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name

    def frozen_plan(self) -> ExperimentPlan | None:
        """The plan that rules: the latest frozen version (None while everything is a draft)."""
        return self.plans.filter(frozen_at__isnull=False).order_by("-version").first()


class FrozenQuerySet(models.QuerySet):
    """Bulk updates and deletes refuse frozen plans too (the model's save and delete do one at a time)."""

    def update(self, **kwargs: Any) -> int:
        if self.filter(frozen_at__isnull=False).exists():
            raise FrozenPlanError("a frozen plan cannot be edited; revise it into a new version")
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.filter(frozen_at__isnull=False).exists():
            raise FrozenPlanError("a frozen plan cannot be deleted")
        return super().delete()


class ExperimentPlan(models.Model):
    """One version of an experiment's plan.  ``content``: design, unit, eligible units, waves (dates), end,
    outcomes, analysis, seed, and once frozen the assignment; ``sha256`` seals it at ``frozen_at``.
    A frozen version never changes: ``save`` and ``delete`` raise ``FrozenPlanError``."""

    experiment = models.ForeignKey(Experiment, on_delete=models.PROTECT, related_name="plans")
    version = models.PositiveIntegerField()
    content = models.JSONField(default=dict)
    power = models.JSONField(default=list, blank=True, help_text="the power table at planning time")
    reason = models.TextField(blank=True, help_text="why this version (a revision's reason)")
    sha256 = models.CharField(max_length=64, blank=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FrozenQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "version"], name="uniq_experiment_plan_version")
        ]
        ordering = ["experiment", "version"]

    def __str__(self) -> str:
        return f"{self.experiment} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if (
            self.pk is not None
            and ExperimentPlan.objects.filter(pk=self.pk, frozen_at__isnull=False).exists()
        ):
            raise FrozenPlanError(f"plan version {self.version} is frozen; revise it into a new version")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if self.is_frozen:
            raise FrozenPlanError(f"plan version {self.version} is frozen and cannot be deleted")
        return super().delete(*args, **kwargs)

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None


class ExperimentAssignment(models.Model):
    """Who gets the tool when: one row per assigned unit (a person, or a team and its people), written
    once when the first plan version is frozen."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    person = models.ForeignKey(Person, null=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, null=True, on_delete=models.CASCADE, related_name="+")
    stratum = models.CharField(max_length=100)
    arm = models.PositiveSmallIntegerField(help_text="randomized: 1 treatment, 0 control; staggered: wave")
    starts_on = models.DateField(null=True, help_text="the day the unit gets the tool (null: after the end)")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "person"], name="uniq_experiment_person"),
        ]

    def __str__(self) -> str:
        return f"{self.experiment_id}: {self.person_id or self.team_id} arm {self.arm}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise FrozenPlanError("an assignment is written once, when the plan is frozen")
        super().save(*args, **kwargs)


class ExperimentResult(models.Model):
    """What the recompute found for an experiment under its ruling plan version: effects (with intervals
    and n), weekly compliance and outcomes, the event study; ``data`` is the page's, the API's and the
    report's one source."""

    experiment = models.OneToOneField(Experiment, on_delete=models.CASCADE, related_name="result")
    plan_version = models.PositiveIntegerField()
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.experiment} results (plan v{self.plan_version})"
