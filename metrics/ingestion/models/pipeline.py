"""The pipeline's own records: sync runs, webhook deliveries, the metric snapshots and their bookkeeping."""

from __future__ import annotations

from django.db import models

from metrics.core.models import Person, Repository, Team


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


class WebhookDelivery(models.Model):
    """Deliveries already accepted, so a replayed webhook is ignored: by its delivery id, and by the hash
    of its payload (a replay of the same signed body under a fresh delivery id)."""

    DELIVERY_ID_MAX = 200

    provider = models.CharField(max_length=20)
    delivery_id = models.CharField(max_length=DELIVERY_ID_MAX, blank=True)  # "" when the sender gave none
    payload_hash = models.CharField(max_length=64, blank=True, default="")  # see webhooks.payload_digest
    event = models.CharField(max_length=50)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "delivery_id"],
                condition=~models.Q(delivery_id=""),
                name="uniq_webhook_delivery",
            ),
            models.UniqueConstraint(
                fields=["provider", "payload_hash"],
                condition=~models.Q(payload_hash=""),
                name="uniq_webhook_payload",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.delivery_id}"


class SnapshotState(models.Model):
    """One row (pk 1): the analytics queue's bookkeeping of the metric snapshots."""

    # When the last finished recompute began reading the records (the database's clock): a request for
    # records committed before it is covered.
    read_from = models.DateTimeField(null=True)
    # When beat last asked again for a recompute that seemed lost.
    asked_at = models.DateTimeField(null=True)
    # How far the data ran ("data through") when the merge-dated cells were last computed: an incremental
    # recompute also redoes the cells whose revert observation window the move of it opened or closed.
    through = models.DateTimeField(null=True)
    # When the last incremental recompute began taking the pending changes: a sync whose changes were
    # queued as a scoped request (``counts.incremental``) before it is covered.
    cells_read_from = models.DateTimeField(null=True)
    # When the cells were last written (full or incremental) and when the organization-wide models (AI
    # impact, adoption, agent and review-load rows, delivery keys) were last computed: the pages show both.
    cells_computed_at = models.DateTimeField(null=True)
    models_computed_at = models.DateTimeField(null=True)
    # The models' debounce: asked for since ``models_pending_since``, due at ``models_due_at``.
    models_pending_since = models.DateTimeField(null=True)
    models_due_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"snapshots read from {self.read_from}"


class PendingChange(models.Model):
    """A change waiting for its incremental recompute (``changes.ChangeScope.as_json``), stored in the
    transaction of the change itself: nothing is lost if the broker is down, and a worker serves every
    pending change at once (their scopes merged)."""

    scope = models.JSONField()
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"pending change {self.pk}: {self.reason}"


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
            # An incremental recompute replaces cells: (scope, period, period_start) and a key.
            models.Index(fields=["period", "period_start", "scope"], name="snapshot_cell"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.scope} {self.period} {self.period_start}: {self.value}"
