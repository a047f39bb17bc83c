"""AI-tool usage as reported (Copilot days, seats) and the AI impact and ROI computed from the records."""

from __future__ import annotations

from django.db import models

from metrics.core.models import Person, Team


class AIUsageDay(models.Model):
    """One user's (or, with an empty ``user_key``, the organization's) use of one AI tool on one day."""

    tool = models.CharField(max_length=50)
    user_key = models.CharField(
        max_length=340, blank=True, help_text="login:<x> / email:<x>; empty = organization total"
    )
    person = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="ai_usage")
    day = models.DateField()
    active = models.BooleanField(default=True)
    active_users = models.IntegerField(null=True, help_text="organization rows: active users that day")
    suggestions = models.IntegerField(null=True)
    acceptances = models.IntegerField(null=True)
    lines_suggested = models.IntegerField(null=True)
    lines_accepted = models.IntegerField(null=True)
    chat_turns = models.IntegerField(null=True)
    cost = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    source = models.CharField(max_length=30)
    # Agentic tools' telemetry (Cursor, Claude Code, OTLP; issue 17): null where the source does not say.
    lines_added = models.IntegerField(null=True, help_text="lines added with the tool (accepted edits)")
    lines_removed = models.IntegerField(null=True)
    sessions = models.IntegerField(null=True)
    requests = models.IntegerField(null=True, help_text="chat, composer and agent requests")
    commits = models.IntegerField(null=True, help_text="commits made with the tool")
    pull_requests = models.IntegerField(null=True, help_text="pull requests made with the tool")
    tool_accepts = models.IntegerField(null=True, help_text="edit/tool suggestions accepted")
    tool_rejects = models.IntegerField(null=True)
    input_tokens = models.BigIntegerField(null=True)
    output_tokens = models.BigIntegerField(null=True)
    extra = models.JSONField(default=dict, blank=True, help_text="the source's own further counts")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "tool", "user_key"], name="uniq_ai_usage_day_first")
        ]

    def __str__(self) -> str:
        return f"{self.tool} {self.user_key or 'org'} {self.day}"


class AISeat(models.Model):
    """A seat assignment of an AI tool (e.g. Copilot billing seats)."""

    tool = models.CharField(max_length=50)
    user_key = models.CharField(max_length=340)
    person = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="ai_seats")
    assigned_at = models.DateTimeField(null=True)
    last_activity_at = models.DateTimeField(null=True)
    plan = models.CharField(max_length=50, blank=True)
    cancelled_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tool", "user_key"], name="uniq_ai_seat")]

    def __str__(self) -> str:
        return f"{self.tool} seat {self.user_key}"


class AISeatCount(models.Model):
    """How many seats of a tool the organization paid for in a month, as an admin entered or imported them
    (settings page, ``manage.py import_seats``).  It wins over the seats counted from assignments
    (``AISeat``) for that month: it is what the invoice says."""

    tool = models.CharField(max_length=50)
    month = models.DateField(help_text="first day of the month")
    seats = models.PositiveIntegerField()
    source = models.CharField(max_length=20, default="settings")  # settings | csv | demo
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tool", "month"], name="uniq_ai_seat_count")]
        ordering = ["tool", "month"]

    def __str__(self) -> str:
        return f"{self.tool} {self.month:%Y-%m}: {self.seats} seats"


class AIImpactEstimate(models.Model):
    """One effect estimate of AI assistance (metrics/analytics/ai_impact.py), recomputed with the snapshots.

    ``rule`` is the detection rule behind the AI flag (``any`` or one evidence kind: the sensitivity
    table).  ``estimate``/``ci_*`` are null when ``status`` is ``not enough data``.
    """

    scope = models.CharField(max_length=15)  # organization | team
    team = models.ForeignKey(Team, null=True, on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(max_length=20)  # cycle_time | revert_rate
    method = models.CharField(max_length=10)  # adjusted | naive | did
    rule = models.CharField(max_length=20, default="any")
    unit = models.CharField(max_length=20)
    estimate = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    n = models.IntegerField()
    n_treated = models.IntegerField()
    n_clusters = models.IntegerField()
    status = models.CharField(max_length=20)
    definition_version = models.CharField(max_length=10)
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.scope}:{self.team_id}:{self.outcome}:{self.method}:{self.rule}"


class AIRoiMonth(models.Model):
    """AI ROI per month and tool (and team, when ``team`` is set), both hour estimates side by side."""

    month = models.DateField()
    tool = models.CharField(max_length=50)
    team = models.ForeignKey(Team, null=True, on_delete=models.CASCADE, related_name="+")
    ai_prs = models.IntegerField(default=0)
    seats = models.IntegerField(null=True, help_text="seats paid for; null = not known")
    # Null when it cannot be known (a price and no seats): never a silent 0.  spend_note says why.
    spend = models.FloatField(null=True)
    spend_note = models.CharField(max_length=60, blank=True)
    measured_hours = models.FloatField(null=True)
    measured_hours_low = models.FloatField(null=True)
    measured_hours_high = models.FloatField(null=True)
    reported_hours = models.FloatField(null=True)
    reported_hours_low = models.FloatField(null=True)
    reported_hours_high = models.FloatField(null=True)
    measured_net = models.FloatField(null=True)
    measured_net_low = models.FloatField(null=True)
    measured_net_high = models.FloatField(null=True)
    reported_net = models.FloatField(null=True)
    reported_net_low = models.FloatField(null=True)
    reported_net_high = models.FloatField(null=True)
    # Issue 17: the two parts of spend, each null when not known, and agent PRs' cost (organization rows).
    seat_cost = models.FloatField(null=True, help_text="seats x monthly seat price; null = seats unknown")
    usage_cost = models.FloatField(null=True, help_text="usage/token cost from telemetry; null = none")
    agent_merged_prs = models.IntegerField(null=True, help_text="merged agent PRs of the tool")
    agent_cost_per_merged_pr = models.FloatField(null=True, help_text="usage cost / merged agent PRs")
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.month} {self.tool} {self.team_id}"
