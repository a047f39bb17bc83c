"""AI-tool telemetry beyond the daily usage row: per-model token and cost days, raw OpenTelemetry points,
and line-level AI attribution of commits (issue 17: Cursor, Claude Code, the OTLP receiver, git notes).

* ``AIModelUsageDay``: one user's tokens, requests and cost with one model of one tool on one day
  (Cursor usage events, the Claude Code usage report's model breakdown, ``claude_code.token.usage`` /
  ``claude_code.cost.usage`` points).  The daily totals live on ``AIUsageDay``.
* ``TelemetrySeries`` / ``TelemetryPoint``: every OTLP data point or log record the receiver accepted, known
  name or not (unknown names are kept, not dropped); a series (name and attributes, what it feeds) is stored
  once, its points hold time and value.  A point is unique on (series, start, time), so an exporter's retry
  of a request stores nothing twice; the daily ``AIUsageDay`` rows of OTLP tools are rolled up from them.
* ``CommitAIAttribution``: how many of a commit's added lines were written with AI, per source (Cursor AI
  code tracking by commit SHA, ``git notes`` in a mirror).  Joined to commits by SHA (a repository name is
  kept as the source spells it), so it may arrive before or after the commit itself.
"""

from __future__ import annotations

from django.db import models

from metrics.core.models import DataSource, Person


class AIModelUsageDay(models.Model):
    tool = models.CharField(max_length=50)
    user_key = models.CharField(max_length=340, blank=True, help_text="login:<x> / email:<x>; empty = org")
    person = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    day = models.DateField()
    model = models.CharField(max_length=100, blank=True)
    requests = models.IntegerField(null=True)
    input_tokens = models.BigIntegerField(null=True)
    output_tokens = models.BigIntegerField(null=True)
    cache_read_tokens = models.BigIntegerField(null=True)
    cache_write_tokens = models.BigIntegerField(null=True)
    cost = models.DecimalField(max_digits=14, decimal_places=4, null=True, help_text="USD")
    source = models.CharField(max_length=30)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "tool", "user_key", "model"], name="uniq_ai_model_usage_day_first"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tool} {self.model} {self.user_key or 'org'} {self.day}"


class TelemetrySeries(models.Model):
    """One OTLP series of a data source: a metric name (or log event) with one set of attributes, stored
    once; its points (``TelemetryPoint``) hold only their times and values.  What the series feeds (tool,
    person, usage field, model) follows from its name and attributes, so it is stored here too."""

    class Signal(models.TextChoices):
        METRIC = "metric"
        LOG = "log"

    data_source = models.ForeignKey(DataSource, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64, help_text="sha256 of signal, name and attributes")
    signal = models.CharField(max_length=6, choices=Signal.choices)
    name = models.CharField(max_length=200, help_text="metric name, or a log record's event.name")
    unit = models.CharField(max_length=50, blank=True)
    tool = models.CharField(
        max_length=50, blank=True, help_text="the known tool of the name; empty = unknown"
    )
    user_key = models.CharField(max_length=340, blank=True)
    usage_field = models.CharField(max_length=30, blank=True, help_text="the AIUsageDay field it feeds")
    model = models.CharField(max_length=100, blank=True)
    model_field = models.CharField(max_length=30, blank=True, help_text="the AIModelUsageDay field it feeds")
    known = models.CharField(
        max_length=16, blank=True, help_text="the version of the known names that classified it"
    )
    attributes = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(help_text="when its first point arrived")

    class Meta:
        verbose_name_plural = "telemetry series"
        # The key and the person first: the look-ups name many of them (a request's series, the users whose
        # days are rolled up), so these indexes are the plain way in, whatever the planner's statistics.
        constraints = [models.UniqueConstraint(fields=["key", "data_source"], name="uniq_telemetry_series")]
        indexes = [models.Index(fields=["user_key", "tool"], name="telemetry_series_user_tool")]

    def __str__(self) -> str:
        return f"{self.name} {self.user_key or '-'}"


class TelemetryPoint(models.Model):
    """One OTLP metric data point (sum, gauge, histogram sum) or one log record (value 1) of a series."""

    # No index of its own: the (day, series) index serves the look-ups by series.
    series = models.ForeignKey(
        TelemetrySeries, on_delete=models.CASCADE, related_name="points", db_index=False
    )
    start_ns = models.BigIntegerField(default=0)
    time_ns = models.BigIntegerField()
    day = models.DateField(help_text="UTC day of time_ns")
    cumulative = models.BooleanField(
        default=False, help_text="a cumulative sum: the value is a running total"
    )
    value = models.FloatField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Time first: an export's points share their time, so they land side by side in the index
            # instead of at random places (bench/telemetry.py).  A series belongs to one data source.
            models.UniqueConstraint(
                fields=["time_ns", "series", "start_ns"], name="uniq_telemetry_point_series"
            )
        ]
        # Day first: a day's points go side by side in the index, not to every series' place in it.
        indexes = [models.Index(fields=["day", "series"], name="telemetry_day_series")]

    def __str__(self) -> str:
        return f"{self.series_id} {self.day} {self.value}"


class CommitAIAttribution(models.Model):
    sha = models.CharField(max_length=64)
    source = models.CharField(max_length=30, help_text="cursor | git-notes | ...")
    repository = models.CharField(max_length=300, blank=True, help_text="as the source names it")
    user_key = models.CharField(max_length=340, blank=True)
    committed_at = models.DateTimeField(null=True)
    lines_added = models.IntegerField(help_text="all added lines the source saw in the commit")
    lines_deleted = models.IntegerField(null=True)
    ai_lines_added = models.IntegerField(help_text="added lines written with AI (tab + composer/agent)")
    detail = models.JSONField(default=dict, blank=True, help_text="the source's own split (tab, composer)")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sha", "source"], name="uniq_commit_ai_attribution")]
        indexes = [models.Index(fields=["sha"], name="commit_ai_attribution_sha")]

    def __str__(self) -> str:
        return f"{self.sha[:12]} {self.source} {self.ai_lines_added}/{self.lines_added}"
