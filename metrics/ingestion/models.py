"""Ingested records.  Natural keys make every upsert idempotent."""
from __future__ import annotations

from django.db import models
from django.db.models.functions import Coalesce

from metrics.core.models import Person, Repository, Team


class Commit(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="commits")
    sha = models.CharField(max_length=64)
    author = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="commits")
    authored_at = models.DateTimeField(null=True)
    author_tz_offset = models.SmallIntegerField(null=True, help_text="author's UTC offset in minutes")
    committed_at = models.DateTimeField(null=True)
    message = models.TextField(blank=True)
    is_merge = models.BooleanField(default=False)
    additions = models.IntegerField(default=0)
    deletions = models.IntegerField(default=0)
    changed_files = models.IntegerField(default=0)
    on_default_branch = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "sha"], name="uniq_commit_sha")]

    def __str__(self) -> str:
        return self.sha[:12]


class PullRequest(models.Model):
    class State(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"
        MERGED = "merged"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="pull_requests")
    number = models.IntegerField()
    title = models.TextField(blank=True)
    body = models.TextField(blank=True)
    author = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="pull_requests")
    state = models.CharField(max_length=10, choices=State.choices)
    is_draft = models.BooleanField(default=False)
    created_at = models.DateTimeField(null=True)
    ready_at = models.DateTimeField(null=True)
    first_commit_at = models.DateTimeField(null=True)
    first_review_at = models.DateTimeField(null=True)
    approved_at = models.DateTimeField(null=True)
    merged_at = models.DateTimeField(null=True, db_index=True)
    closed_at = models.DateTimeField(null=True)
    additions = models.IntegerField(null=True)
    deletions = models.IntegerField(null=True)
    changed_files = models.IntegerField(null=True)
    commits_count = models.IntegerField(null=True)
    head_branch = models.CharField(max_length=300, blank=True)
    base_branch = models.CharField(max_length=300, blank=True)
    merge_sha = models.CharField(max_length=64, blank=True)
    merge_style = models.CharField(max_length=10, blank=True)
    labels = models.JSONField(default=list, blank=True)
    is_bot = models.BooleanField(default=False)
    ai_assisted = models.BooleanField(default=False)
    ai_tools = models.JSONField(default=list, blank=True)
    reverts_number = models.IntegerField(null=True, help_text="explicit number of the PR this one reverts")
    revert_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reverted_at = models.DateTimeField(null=True, help_text="when a still-standing revert of this PR landed")
    updated_at = models.DateTimeField(null=True)
    commits = models.ManyToManyField(Commit, related_name="pull_requests", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "number"], name="uniq_pr_number")]
        indexes = [
            # Team and repository filters (API, PR explorer): the matching ids come from the index alone
            # (index-only scans), before any row is read (1M PRs, a team's year of PRs: 9 ms -> 1.2 ms).
            models.Index(
                fields=["repository", "merged_at"], include=["id", "state", "ai_assisted", "is_bot"],
                name="pr_repo_merged_idx",
            ),
            # The PR explorer's "largest first" within a repository: a page without sorting the repository's
            # PRs (20,000 PRs: 114-154 ms -> 3 ms).  PostgreSQL only, as the other NULLS LAST indexes.
            models.Index(
                "repository", (Coalesce("additions", 0) + Coalesce("deletions", 0)).desc(nulls_last=True),
                models.F("id").desc(), name="pr_repo_size_desc_idx",
            ),
            models.Index(
                fields=["author", "merged_at"], include=["id", "created_at"], name="pr_author_merged_idx"
            ),
            # The PR explorer's default order (newest merge first), alone and within a state: a page
            # without sorting every matching PR (1M PRs: 800 ms -> 1 ms; 50,000 open ones: 350 ms -> 1 ms).
            models.Index(
                models.F("merged_at").desc(nulls_last=True), models.F("id").desc(), name="pr_merged_desc_idx"
            ),
            models.Index(
                "state", models.F("merged_at").desc(nulls_last=True), models.F("id").desc(),
                name="pr_state_merged_desc_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.repository.full_name}#{self.number}"


class Review(models.Model):
    pull_request = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="reviews")
    state = models.CharField(max_length=30)
    submitted_at = models.DateTimeField()
    external_id = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pull_request", "external_id"], name="uniq_review_external_id")
        ]

    def __str__(self) -> str:
        return f"review {self.external_id} ({self.state}) of PR id {self.pull_request_id}"


class Revert(models.Model):
    """A landed revert of a merged PR.  ``restored_by`` is set when the revert was itself reverted."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="reverts")
    revert_sha = models.CharField(max_length=64, blank=True)
    reverting_pr = models.ForeignKey(PullRequest, null=True, on_delete=models.SET_NULL, related_name="+")
    reverted_pr = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="reverts")
    reverted_at = models.DateTimeField(null=True)
    evidence = models.CharField(max_length=20)  # sha | title | reverts_ref | branch | explicit
    matched_text = models.TextField(blank=True)
    restored_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "revert_sha", "reverted_pr"], name="uniq_revert"),
        ]

    def __str__(self) -> str:
        return f"revert {self.revert_sha or '(no sha)'} of PR id {self.reverted_pr_id} ({self.evidence})"


class AIEvidence(models.Model):
    class Kind(models.TextChoices):
        TRAILER = "trailer"
        AUTHOR = "author"
        BRANCH = "branch"
        LABEL = "label"
        TELEMETRY = "telemetry"
        EXPLICIT = "explicit"

    pull_request = models.ForeignKey(
        PullRequest, null=True, on_delete=models.CASCADE, related_name="ai_evidence"
    )
    commit = models.ForeignKey(Commit, null=True, on_delete=models.CASCADE, related_name="ai_evidence")
    tool = models.CharField(max_length=50)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    matched_text = models.CharField(max_length=500)

    def __str__(self) -> str:
        return f"{self.tool} {self.kind}: {self.matched_text}"


class SyncRun(models.Model):
    """One run of one import or sync, with live progress for the UI."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    kind = models.CharField(max_length=20)
    source = models.CharField(max_length=300)
    data_source = models.ForeignKey(
        "core.DataSource", null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_runs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    stage = models.CharField(max_length=100, blank=True)
    progress_done = models.IntegerField(default=0)
    progress_total = models.IntegerField(null=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.source} ({self.status})"


class SnapshotState(models.Model):
    """One row (pk 1): the analytics queue's bookkeeping of the metric snapshots."""

    # When the last finished recompute began reading the records (the database's clock): a request for
    # records committed before it is covered.
    read_from = models.DateTimeField(null=True)
    # When beat last asked again for a recompute that seemed lost.
    asked_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"snapshots read from {self.read_from}"


class MetricSnapshot(models.Model):
    """Materialized metric values in long format, recomputed from ingested records.

    ``scope`` is ``team``, ``repository``, ``person`` or ``organization``; exactly the matching foreign
    key is set.  Person rows are per-person data: only roles allowed to see individuals may read them.
    """

    scope = models.CharField(max_length=15)
    team = models.ForeignKey(Team, null=True, on_delete=models.CASCADE, related_name="+")
    repository = models.ForeignKey(Repository, null=True, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(Person, null=True, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=5)  # week | month
    period_start = models.DateField()
    metric = models.CharField(max_length=50)
    value = models.FloatField(null=True)
    n = models.IntegerField()
    definition_version = models.CharField(max_length=10)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["scope", "period", "metric", "period_start"]),
            models.Index(fields=["team", "period", "period_start"]),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.scope} {self.period} {self.period_start}: {self.value}"


class Deployment(models.Model):
    """A deployment of a commit to an environment (from GitHub/GitLab deployments)."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="deployments")
    external_id = models.CharField(max_length=100)
    environment = models.CharField(max_length=100)
    is_production = models.BooleanField(default=False)
    sha = models.CharField(max_length=64)
    status = models.CharField(max_length=20)  # success | failure | error | in_progress | ...
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "external_id"], name="uniq_deployment"),
        ]

    def __str__(self) -> str:
        return f"{self.repository_id}:{self.environment}@{self.sha[:8]}"


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

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tool", "user_key", "day"], name="uniq_ai_usage_day")]

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


class WebhookDelivery(models.Model):
    """Delivery ids already accepted, so a replayed webhook is ignored."""

    provider = models.CharField(max_length=20)
    delivery_id = models.CharField(max_length=200)
    event = models.CharField(max_length=50)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "delivery_id"], name="uniq_webhook_delivery"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.delivery_id}"


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
    spend = models.FloatField(default=0)
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
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.month} {self.tool} {self.team_id}"
