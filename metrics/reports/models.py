"""Executive report schedules and their runs (the archive).

A run is one schedule's report for one period.  ``UNIQUE(schedule, period_start)`` plus conditional
status updates (see ``metrics.reports.services``) make "one period is sent at most once" hold even when
the due task or the delivery task runs twice, on two workers at the same time.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

from metrics.core.models import Team


@cache
def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a time zone name such as Europe/Berlin or UTC") from None


def parse_audience(text: str) -> list[str]:
    """E-mail addresses separated by commas, semicolons or line breaks; a ValidationError names bad ones."""
    found = [part.strip() for part in text.replace(";", ",").replace("\n", ",").split(",")]
    addresses = list(dict.fromkeys(a for a in found if a))
    bad = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if bad:
        raise ValidationError(f"not an e-mail address: {', '.join(bad)}")
    return addresses


def validate_audience(text: str) -> None:
    if not parse_audience(text):
        raise ValidationError("name at least one e-mail address")


class ReportSchedule(models.Model):
    class Period(models.TextChoices):
        WEEKLY = "weekly"
        MONTHLY = "monthly"
        QUARTERLY = "quarterly"

    name = models.CharField(max_length=200, unique=True)
    audience = models.TextField(
        validators=[validate_audience], help_text="e-mail addresses, separated by commas or line breaks"
    )
    teams = models.ManyToManyField(
        Team,
        blank=True,
        related_name="report_schedules",
        help_text="teams in scope (with the teams below them); none = the whole organization",
    )
    period = models.CharField(max_length=10, choices=Period.choices, default=Period.MONTHLY)
    send_time = models.TimeField(
        default=dt.time(8, 0), help_text="local time on the first day after the period ends"
    )
    # No ``choices``: the list changes with the tz database and would make a migration each time; the
    # forms offer them (``timezone_choices``).
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone], help_text="e.g. Europe/Berlin"
    )
    enabled = models.BooleanField(default=True)
    last_period_sent = models.DateField(
        null=True, blank=True, help_text="first day of the latest period whose report was sent"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Incoming-webhook URLs (the URL is the credential): encrypted with metrics.core.crypto, never shown.
    slack_webhook_encrypted = models.TextField(blank=True, default="")
    teams_webhook_encrypted = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def recipients(self) -> list[str]:
        return parse_audience(self.audience)


class ReportRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RENDERING = "rendering"
        SENDING = "sending"  # handed to the mail server: never sent again automatically
        SENT = "sent"
        FAILED = "failed"
        DRY_RUN = "dry_run", "dry run"

    schedule = models.ForeignKey(ReportSchedule, on_delete=models.PROTECT, related_name="runs")
    period_start = models.DateField()
    period_end = models.DateField(help_text="last day of the period (inclusive)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    recipients = models.TextField(blank=True, help_text="who it was sent to")
    html = models.TextField(blank=True)
    summary = models.JSONField(
        default=dict, blank=True, help_text="the headline KPIs as the e-mail and PDF show them (for chat)"
    )
    pdf_path = models.CharField(max_length=500, blank=True, help_text="relative to VAR_DIR/reports/")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="when the current attempt began")
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="when a failed delivery is retried"
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "schedule__name"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "period_start"], name="uniq_report_run_period"),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} {self.period_start:%Y-%m-%d} ({self.status})"


# --- chat delivery (issue 21): Slack and Microsoft Teams incoming webhooks ---------------------------------


class ChatDelivery(models.Model):
    """One run's message to one chat channel: the idempotency record that makes it "sent once".

    ``UNIQUE(run, channel)`` and the conditional status updates of ``metrics.reports.services`` give the
    same guarantees as the run's e-mail: a second task for the same delivery sends nothing, a delivery
    left ``sending`` by a dead worker is failed ("may or may not have been posted"), never re-sent.
    """

    class Channel(models.TextChoices):
        SLACK = "slack", "Slack"
        TEAMS = "teams", "Microsoft Teams"

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    run = models.ForeignKey(ReportRun, on_delete=models.CASCADE, related_name="chat_deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="failed attempts (the webhook URL is never written here)")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["run", "channel"], name="uniq_chat_delivery_run_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.run} {self.channel} ({self.status})"
