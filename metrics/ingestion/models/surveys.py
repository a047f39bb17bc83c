"""Developer survey rounds and their answers."""

from __future__ import annotations

from django.db import models

from metrics.core.models import Person, Team


class SurveyRound(models.Model):
    """A round of the built-in survey, opened by a manager for some teams."""

    name = models.CharField(max_length=200)
    teams = models.ManyToManyField(Team, related_name="survey_rounds")
    opened_at = models.DateTimeField()
    closes_at = models.DateTimeField(null=True)
    created_by = models.ForeignKey("auth.User", null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return self.name


class SurveyResponse(models.Model):
    """One developer's answers.  Results are only ever shown aggregated, above MIN_GROUP_SIZE."""

    class Frequency(models.TextChoices):
        NEVER = "never"
        MONTHLY = "monthly"
        WEEKLY = "weekly"
        DAILY = "daily"

    survey_round = models.ForeignKey(
        SurveyRound, null=True, on_delete=models.CASCADE, related_name="responses"
    )
    person = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="survey_responses")
    team = models.ForeignKey(Team, null=True, on_delete=models.SET_NULL, related_name="survey_responses")
    submitted_at = models.DateTimeField()
    overall_satisfaction = models.PositiveSmallIntegerField(null=True)  # 1..5
    ease_of_shipping = models.PositiveSmallIntegerField(null=True)  # 1..5
    ai_hours_saved_per_week = models.FloatField(null=True)
    ai_tool = models.CharField(max_length=50, blank=True)
    ai_frequency = models.CharField(max_length=10, choices=Frequency.choices, blank=True)
    free_text = models.TextField(blank=True)
    source = models.CharField(max_length=20, default="builtin")  # builtin | csv
    external_id = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="uniq_survey_response"),
        ]

    def __str__(self) -> str:
        return f"response {self.external_id}"
