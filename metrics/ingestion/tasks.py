"""Celery tasks of ingestion: thin, named, idempotent; each calls one service.

The syncs run on the "sync" queue; the recompute they ask for when they stored records runs on the
"analytics" queue.  ``acks_late`` + ``reject_on_worker_lost``: a sync whose worker dies is
delivered again and resumes from the source's checkpoint (the same task id takes over its dead run).
A webhook's sync (one repository) that finds the source busy with another sync is retried after 1, 2,
4 ... at most 60 s (the running sync may have read the repository before the delivery's change).
Temporary ``ConnectorError``s are retried, after the source's ``retry_after`` or with exponential backoff
(``SYNC_RETRY_BACKOFF_SECONDS``, default 60, doubling, at most an hour); so is a lost database connection
(PostgreSQL restarted or down): the retry takes over the interrupted run, records why it stopped and
resumes from the checkpoint.  A permanent error (revoked token) is recorded by the service, never retried.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import connections, transaction

from connectors.base import ConnectorError
from metrics.core.models import DataSource
from metrics.ingestion.recompute import (
    AI_IMPACT_TASK,
    ANALYTICS_QUEUE,
    MODELS_QUEUE,
    MODELS_TASK,
    SNAPSHOTS_TASK,
    models_requested,
    pending_recompute,
    recompute_now,
    recompute_request,
    recompute_requested,
)
from metrics.ingestion.snapshots import RECOMPUTE_GRACE, snapshots_asked_again, snapshots_stale
from metrics.ingestion.sync import (
    DATABASE_LOST,
    SyncBusyError,
    database_lost_message,
    source_sync,
    sources_due,
)

logger = logging.getLogger(__name__)

SYNC_QUEUE = "sync"
MAX_BACKOFF = 3600
BUSY_RETRY_SECONDS = 1
BUSY_MAX_RETRIES = 20  # 1 + 2 + ... + 32 s, then every 60 s: past sync.LEASE


@shared_task(
    bind=True,
    name="sextant.ingestion.source_sync",
    queue=SYNC_QUEUE,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=8,
)
def source_sync_task(
    self: Task, source_id: int, repository: str = "", interrupted: str = ""
) -> dict[str, Any]:
    """Sync one source (or one of its repositories); see ``metrics.ingestion.sync.source_sync``.

    ``interrupted`` is set by the task itself when it retries after losing the database: why its run
    stopped, recorded on that run by the retry."""
    try:
        source = DataSource.objects.filter(pk=source_id).first()
        if source is None:
            return {"status": "skipped", "reason": f"source {source_id} no longer exists"}
        run = source_sync(
            source=source, repository=repository, task_id=self.request.id or "", interrupted=interrupted
        )
    except ConnectorError as exc:
        if exc.permanent or self.request.is_eager:
            # Recorded on the run and the source already; in-process (embedded) mode leaves temporary
            # failures to the next sync instead of retrying inside the caller's request.
            return {"status": "failed", "error": str(exc), "permanent": exc.permanent}
        countdown = exc.retry_after or _backoff(self.request.retries)
        retries: dict[str, Any] = {}
        if isinstance(exc, SyncBusyError) and repository:
            # A webhook's sync waits for the source's running sync: soon again (1, 2, 4 ... 60 s), for
            # longer than a dead run holds the source (``sync.LEASE``), instead of a minute at once.
            countdown = min(countdown, BUSY_RETRY_SECONDS * 2**self.request.retries)
            retries["max_retries"] = BUSY_MAX_RETRIES
        raise self.retry(
            exc=exc, countdown=countdown, args=[source_id, repository], kwargs={}, **retries
        ) from None
    except DATABASE_LOST as exc:
        if self.request.is_eager:
            raise
        connections.close_all()  # broken connections; the retry opens new ones
        raise self.retry(
            exc=exc,
            countdown=_backoff(self.request.retries),
            args=[source_id, repository],
            kwargs={"interrupted": database_lost_message(exc)},
        ) from None
    return {"status": run.status, "run": run.pk, "counts": run.counts}


def _backoff(retries: int) -> int:
    return int(min(int(getattr(settings, "SYNC_RETRY_BACKOFF_SECONDS", 60)) * 2**retries, MAX_BACKOFF))


@shared_task(
    name="sextant.ingestion.sync_due_sources", queue=SYNC_QUEUE, acks_late=True, reject_on_worker_lost=True
)
def sync_due_sources_task() -> list[int]:
    """Started by django-celery-beat (``manage.py setup_schedules``): enqueue every source that is due,
    and the metrics recompute again if a sync's request for it was lost (``snapshots_stale``)."""
    due = sources_due()
    for source_id in due:
        source_sync_enqueue(source_id=source_id)
    if snapshots_stale():
        logger.warning(
            "records stored more than %s ago are not in the metrics yet; asking for the recompute again "
            "(is a worker consuming the 'analytics' queue?)",
            RECOMPUTE_GRACE,
        )
        snapshots_asked_again()
        recompute_request(reason="beat: records stored more than the grace ago are not in the metrics")
    return due


@shared_task(
    bind=True,
    name=SNAPSHOTS_TASK,
    queue=ANALYTICS_QUEUE,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=8,
)
def snapshots_recompute_task(
    self: Task, requested_at: str, reason: str = "", incremental: bool = False
) -> dict[str, Any]:
    """Recompute the snapshots and AI impact for records committed by ``requested_at`` (ISO 8601), unless
    a later recompute covered them; see ``recompute.recompute_requested``.  ``incremental``: only the
    cells of the pending changes (``recompute.pending_recompute``).  Retried while the database is
    unreachable.  Sent by name by ``recompute.recompute_request``."""
    try:
        if incremental:
            return pending_recompute()
        return recompute_requested(requested_at=_request_time(requested_at), reason=reason)
    except DATABASE_LOST as exc:
        raise _database_retry(self, exc) from None


@shared_task(
    bind=True,
    name=AI_IMPACT_TASK,
    queue=ANALYTICS_QUEUE,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=8,
)
def ai_impact_recompute_task(self: Task, reason: str = "") -> dict[str, Any]:
    """Recompute only the AI-impact estimates and ROI (after a price or ROI knob changed), under the lock."""
    try:
        outcome = recompute_now(reason=reason, part="ai_impact")
    except DATABASE_LOST as exc:
        raise _database_retry(self, exc) from None
    return {"status": "computed", "rows": outcome.rows}


@shared_task(
    bind=True,
    name=MODELS_TASK,
    queue=MODELS_QUEUE,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=8,
)
def models_recompute_task(self: Task) -> dict[str, Any]:
    """Recompute the organization-wide models once the changes asking for them paused (debounced; see
    ``recompute.models_request``).  Its own queue: a long model fit never delays a cell update."""
    try:
        return models_requested()
    except DATABASE_LOST as exc:
        raise _database_retry(self, exc) from None


def _database_retry(task: Task, exc: Exception) -> Exception:
    """The retry to raise while the database is unreachable (the exception itself in eager mode)."""
    if task.request.is_eager:
        return exc
    connections.close_all()  # broken connections; the retry opens new ones
    return task.retry(exc=exc, countdown=_backoff(task.request.retries))


def _request_time(text: str) -> datetime:
    """The time a recompute was asked for.  A time without an offset is UTC (what SQLite and older
    callers give: comparing it with the stored aware time failed the task, so the request was never
    served); one that cannot be read asks for a recompute whatever was covered."""
    try:
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        logger.warning("recompute request time %r is not ISO 8601: recomputing", text)
        return datetime.max.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def source_sync_enqueue(*, source_id: int, repository: str = "") -> None:
    """Queue a sync once the current transaction commits (never for data that was rolled back)."""
    transaction.on_commit(lambda: source_sync_task.delay(source_id, repository))
