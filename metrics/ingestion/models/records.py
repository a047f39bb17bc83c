"""Pulled records: pull requests, commits, reviews, reverts, AI evidence, deployments.  Natural keys
make every upsert idempotent."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Coalesce

from metrics.core.models import Person, Repository


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
                fields=["repository", "merged_at"],
                include=["id", "state", "ai_assisted", "is_bot"],
                name="pr_repo_merged_idx",
            ),
            # The PR explorer's "largest first" within a repository: a page without sorting the repository's
            # PRs (20,000 PRs: 114-154 ms -> 3 ms).  PostgreSQL only, as the other NULLS LAST indexes.
            models.Index(
                "repository",
                (Coalesce("additions", 0) + Coalesce("deletions", 0)).desc(nulls_last=True),
                models.F("id").desc(),
                name="pr_repo_size_desc_idx",
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
                "state",
                models.F("merged_at").desc(nulls_last=True),
                models.F("id").desc(),
                name="pr_state_merged_desc_idx",
            ),
            # "Data through" (the latest merge or creation; every page, API read and recompute asks):
            # the newest creation from the index, not a scan of every PR (1M PRs: 210 ms -> under 1 ms).
            models.Index(fields=["created_at"], name="pr_created_idx"),
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
    source = models.CharField(max_length=40, blank=True)  # github_deployments | gitlab | webhook | file ...
    url = models.URLField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["repository", "external_id"], name="uniq_deployment"),
        ]
        indexes = [
            models.Index(fields=["repository", "is_production", "created_at"], name="deploy_repo_prod_idx")
        ]

    def __str__(self) -> str:
        return f"{self.repository_id}:{self.environment}@{self.sha[:8]}"


class Incident(models.Model):
    """A production incident (PagerDuty, Opsgenie, issues, Jira, the webhook, a file), linked to the
    deployment that caused it by ``analytics/delivery.py: link_incidents`` (``link`` says which rule)."""

    class Link(models.TextChoices):
        EXPLICIT = "explicit"  # the source named the deployment
        SHA = "sha"  # the source named the commit: the first production deployment of it
        LAST_BEFORE = "last_before"  # the last production deployment of its repository before it started
        NONE = "none"  # no repository, or no production deployment before it

    source = models.CharField(max_length=40)
    external_id = models.CharField(max_length=200)
    title = models.TextField(blank=True)
    severity = models.CharField(max_length=40, blank=True)
    service = models.CharField(max_length=200, blank=True)
    repository = models.ForeignKey(
        Repository, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    started_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True)
    deployment_ref = models.CharField(max_length=100, blank=True, help_text="deployment id the source named")
    sha = models.CharField(max_length=64, blank=True)
    deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    link = models.CharField(max_length=20, choices=Link.choices, default=Link.NONE)
    url = models.URLField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="uniq_incident")]
        indexes = [models.Index(fields=["repository", "started_at"], name="incident_repo_started_idx")]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class DeliverySplit(models.Model):
    """DORA's keys for AI-assisted deployments and the rest, and the adjusted comparison, for the
    organization (``analytics/delivery.py: ai_split``); rewritten by every recompute (its one writer:
    ``ingestion/delivery.py: delivery_split_write``).  ``value``/``ci_*`` are null when ``status`` is
    ``not enough data`` or the group is empty."""

    key = models.CharField(max_length=60)
    method = models.CharField(max_length=10)  # group | adjusted
    group = models.CharField(max_length=10, blank=True)  # ai | rest | "" (adjusted)
    unit = models.CharField(max_length=20)
    value = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    n = models.IntegerField()
    n_treated = models.IntegerField(default=0)
    n_clusters = models.IntegerField(default=0)
    status = models.CharField(max_length=20, default="ok")
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.key}:{self.method}:{self.group}"
