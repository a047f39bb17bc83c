"""Syncing one configured DataSource: connector -> records_ingest in checkpointed batches -> SyncRun.

``source_sync`` is the one service behind ``manage.py sync``, the Celery tasks and webhook updates.

The connector contract (``checkpoint``, ``pages()``, ``problems``, ``counts``) is declared, with defaults,
on ``connectors.base.Connector``.  ``config.options["checkpoint"]`` is what the last run left
(``DataSource.checkpoint``) and ``config.options["only_repositories"]`` (optional) restricts a run to some
repositories/projects.  Each page is stored with ``connector.checkpoint`` in one transaction.

A temporary ``ConnectorError`` (rate limit, 5xx, network) leaves the checkpoint for the next attempt; a
permanent one (revoked token) also halts scheduled syncs of the source until its secret is replaced.  A lost
database connection (the server restarted or is down) is recorded on the run when the database answers
again at once; otherwise the run is left "running" and the task's retry (same task id) records it when it
takes the run over (``interrupted``), then resumes from the checkpoint.
"""

from __future__ import annotations

import copy
import importlib
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from connectors.base import Connector, ConnectorError, ProgressCallback
from connectors.records import Record
from metrics.core.crypto import SecretDecryptionError
from metrics.core.memory import fewer_collections
from metrics.core.models import DataSource
from metrics.ingestion.changes import PullRequestWatch
from metrics.ingestion.models import SyncRun
from metrics.ingestion.recompute import recompute_request
from metrics.ingestion.services import records_ingest, repositories_derive
from metrics.ingestion.sync_sources import HALTED, source_config, source_redact

# kind -> "module:Class"; modules are imported on first use, so a connector that is missing or broken
# only fails the sources of its own kind.
CONNECTOR_PATHS: dict[str, str] = {
    "github": "connectors.github:GitHubConnector",
    "gitlab": "connectors.gitlab:GitLabConnector",
    "copilot": "connectors.copilot:CopilotConnector",
    "git": "connectors.local_git:LocalGitConnector",
    "pagerduty": "connectors.pagerduty:PagerDutyConnector",
    "opsgenie": "connectors.opsgenie:OpsgenieConnector",
    "jira": "connectors.jira:JiraConnector",
    "cursor": "connectors.cursor:CursorConnector",
    "claude_code": "connectors.claude_code:ClaudeCodeConnector",
    "otlp": "connectors.otlp_source:OtlpSourceConnector",
}
LEASE = timedelta(minutes=10)  # a RUNNING run without a heartbeat for this long is taken to be dead
HEARTBEAT_EVERY = 1.0  # seconds between progress writes to the SyncRun
DERIVE_PENDING = "derive_pending"  # repository ids stored by a run's pages and not derived yet
ADDITIVE = ("commits_new", "prs_new", "prs_updated", "reviews", "memberships", "deployments", "incidents")
DATABASE_LOST = (OperationalError, InterfaceError)  # the database went away (restart, crash, network)
WORKER_LOST = "worker lost or killed"
logger = logging.getLogger(__name__)


class _ConnectorClasses(dict[str, type[Connector]]):
    """``CONNECTOR_CLASSES[kind]`` imports the connector module lazily (see CONNECTOR_PATHS)."""

    def __missing__(self, kind: str) -> type[Connector]:
        if kind not in CONNECTOR_PATHS:
            raise KeyError(kind)
        module_name, _, class_name = CONNECTOR_PATHS[kind].partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        self[kind] = cls
        return cls

    def __contains__(self, kind: object) -> bool:
        return kind in CONNECTOR_PATHS or dict.__contains__(self, kind)


CONNECTOR_CLASSES: dict[str, type[Connector]] = _ConnectorClasses()


def connector_class(kind: str) -> type[Connector]:
    try:
        return CONNECTOR_CLASSES[kind]
    except KeyError:
        raise ConnectorError(f"no connector for sources of kind {kind!r}") from None
    except (ImportError, AttributeError) as exc:
        raise ConnectorError(f"the {kind} connector cannot be loaded: {exc}") from None


class SyncBusyError(ConnectorError):
    """Another live run holds the source; try again later."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False, retry_after=60)


def _heartbeat(run: SyncRun) -> datetime:
    value = run.counts.get("heartbeat") if isinstance(run.counts, dict) else None
    return datetime.fromisoformat(value) if isinstance(value, str) else run.started_at


def _claim(source: DataSource, label: str, task_id: str, interrupted: str = "") -> SyncRun:
    """Start a run unless a live one holds the source; a dead one (no heartbeat, or the same Celery task
    redelivered or retried after its worker died or lost the database) is marked failed and its checkpoint
    is resumed.  ``interrupted``: why this task's own earlier run stopped, if the task knows."""
    with transaction.atomic():
        DataSource.objects.select_for_update().filter(pk=source.pk).first()
        now = timezone.now()
        stale: dict[int, str] = {}
        for other in SyncRun.objects.filter(data_source=source, status=SyncRun.Status.RUNNING):
            redelivered = bool(task_id) and other.counts.get("task_id") == task_id
            if not redelivered and now - _heartbeat(other) < LEASE:
                raise SyncBusyError(
                    f"source {source.name!r} is already being synced (run {other.pk}, last progress "
                    f"{_heartbeat(other):%Y-%m-%d %H:%M:%S} UTC)"
                )
            stale[other.pk] = (interrupted if redelivered else "") or WORKER_LOST
        run = SyncRun.objects.create(
            kind=source.kind,
            source=label,
            data_source=source,
            stage="starting",
            counts={"task_id": task_id, "heartbeat": now.isoformat()},
        )
        for pk, reason in stale.items():
            SyncRun.objects.filter(pk=pk).update(
                status=SyncRun.Status.FAILED,
                finished_at=now,
                error=f"interrupted ({reason[:3000]}); resumed by run {run.pk}",
            )
    return run


class _RunProgress:
    """Connector progress -> the caller's callback and (throttled) the SyncRun row, which is the heartbeat."""

    def __init__(self, run: SyncRun, outer: ProgressCallback | None) -> None:
        self.run = run
        self.outer = outer
        self.counts: dict[str, Any] = dict(run.counts)
        self.last_write = 0.0
        self.changes = PullRequestWatch()  # what this run changed: the scope of its recompute

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self.outer is not None:
            self.outer(stage, done, total)
        if time.monotonic() - self.last_write >= HEARTBEAT_EVERY:
            self.write(stage=stage[:100], progress_done=done, progress_total=total)

    def write(self, **fields: Any) -> None:
        self.counts["heartbeat"] = timezone.now().isoformat()
        SyncRun.objects.filter(pk=self.run.pk).update(counts=dict(self.counts), **fields)
        self.last_write = time.monotonic()


def _store(source: DataSource, batch: list[Record], connector: Connector, progress: _RunProgress) -> None:
    """One batch and the checkpoint that covers it, in one transaction."""
    checkpoint = copy.deepcopy(connector.checkpoint)  # as it stands now: the connector moves on
    with transaction.atomic():
        if batch:
            progress.changes.batch(batch)
        summary = records_ingest(records=batch, derive=False) if batch else None
        DataSource.objects.filter(pk=source.pk).update(checkpoint=checkpoint)
        if summary is not None:
            pending = set(progress.counts.get(DERIVE_PENDING, [])) | summary.repository_ids
            progress.counts[DERIVE_PENDING] = sorted(pending)  # committed with the page: survives a kill
            for key in ADDITIVE:
                progress.counts[key] = progress.counts.get(key, 0) + summary.counts.get(key, 0)
        progress.counts["records"] = progress.counts.get("records", 0) + len(batch)
        progress.write()


def _derive_pending(source: DataSource, run: SyncRun, tracker: _RunProgress, *, resumed: bool) -> None:
    """Derive (bot flags, AI classification, reverts) once per sync for the repositories its pages
    stored, and for those of earlier runs of this source that stopped before deriving (killed, failed).
    Only this run's PRs can have new AI evidence: the AI classification of only those is derived again
    when nothing of an earlier run is pending (``derive.repository_derive``)."""
    last_success = (
        SyncRun.objects.filter(data_source=source, status=SyncRun.Status.SUCCEEDED)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    unfinished = SyncRun.objects.filter(data_source=source, status=SyncRun.Status.FAILED).exclude(pk=run.pk)
    if last_success is not None:
        unfinished = unfinished.filter(started_at__gt=last_success)
    pending = set(tracker.counts.get(DERIVE_PENDING, []))
    for counts in unfinished.values_list("counts", flat=True):
        if (counts or {}).get(DERIVE_PENDING):
            tracker.changes.everything = True  # an earlier run's changes: not known here
        pending.update((counts or {}).get(DERIVE_PENDING, []))
    if resumed:
        tracker.changes.everything = True
    if not pending:
        return
    tracker.write(stage="deriving reverts and AI evidence")
    pr_ids = None if tracker.changes.everything else tracker.changes.named_ids()
    summary = repositories_derive(repository_ids=pending, pr_ids=pr_ids, changed=tracker.changes.derived)
    for key in ("reverts", "ai_assisted_prs"):
        tracker.counts[key] = summary.counts.get(key, 0)
    tracker.counts.pop(DERIVE_PENDING, None)
    tracker.write()


def source_sync(
    *,
    source: DataSource,
    progress: ProgressCallback | None = None,
    repository: str = "",
    task_id: str = "",
    interrupted: str = "",
) -> SyncRun:
    """Sync ``source`` (all of it, or only ``repository``) and return its finished SyncRun.

    Raises ConnectorError (after recording it on the run and the source) when the run fails,
    SyncBusyError when another live run holds the source, and OperationalError/InterfaceError when the
    database went away (recorded on the run if the database answers again; the caller retries).
    """
    label = f"{source.name}:{repository}" if repository else source.name
    run = _claim(source, label, task_id, interrupted)
    source.refresh_from_db()  # the checkpoint to resume is the stored one, not a caller's stale copy
    tracker = _RunProgress(run, progress)
    try:
        cls = connector_class(source.kind)
        try:
            config = source_config(source=source, repository=repository)
        except SecretDecryptionError as exc:
            raise ConnectorError(str(exc)) from None
        connector = cls(config, progress=tracker)
        began = time.monotonic()
        with fewer_collections():
            for batch in connector.pages():
                _store(source, batch, connector, tracker)
            _store(source, [], connector, tracker)
        stored = time.monotonic()
        _derive_pending(source, run, tracker, resumed=bool(interrupted))
        logger.debug(
            "sync run %s: pages stored in %.2f s, derived in %.2f s",
            run.pk,
            stored - began,
            time.monotonic() - stored,
        )
        problems = list(connector.problems)
        tracker.counts.update({k: int(v) for k, v in connector.counts.items()})
        tracker.counts["problems"] = len(problems)
        if tracker.counts.get("records", 0):
            began = time.monotonic()
            scope = tracker.changes.scope()
            tracker.counts["incremental"] = not scope.everything
            tracker.write(stage="computing metrics")
            recompute_request(reason=f"sync of {label} (run {run.pk}) stored records", scope=scope)
            logger.debug("sync run %s: scope and request in %.2f s", run.pk, time.monotonic() - began)
    except ConnectorError as exc:
        exc.args = (source_redact(source, str(exc)),)  # what callers print (CLI, settings page) too
        _fail(run, source, tracker, str(exc), halt=exc.permanent)
        raise
    except DATABASE_LOST as exc:
        _fail_if_database_answers(run, source, tracker, database_lost_message(exc))
        raise
    except Exception as exc:
        _fail(run, source, tracker, f"internal error: {type(exc).__name__}: {exc}", halt=False)
        raise
    return _succeed(run, source, tracker, problems, full=not repository)


def _succeed(
    run: SyncRun, source: DataSource, tracker: _RunProgress, problems: list[str], *, full: bool
) -> SyncRun:
    now = timezone.now()
    error = source_redact(source, "; ".join(problems))[:4000]
    tracker.write(status=SyncRun.Status.SUCCEEDED, stage="done", error=error, finished_at=now)
    fields: dict[str, Any] = {"last_error": error}
    if full:
        fields["last_success_at"] = now
    DataSource.objects.filter(pk=source.pk).update(**fields)
    run.refresh_from_db()
    return run


def _fail(run: SyncRun, source: DataSource, tracker: _RunProgress, message: str, *, halt: bool) -> None:
    message = source_redact(source, message)[:4000]  # the one place a run's error is written
    tracker.write(status=SyncRun.Status.FAILED, stage="failed", error=message, finished_at=timezone.now())
    with transaction.atomic():
        current = DataSource.objects.select_for_update().get(pk=source.pk)
        current.last_error = message
        if halt:
            current.checkpoint = {**current.checkpoint, HALTED: message}
        current.save(update_fields=["last_error", "checkpoint"])
    run.refresh_from_db()


def database_lost_message(exc: BaseException) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"database unavailable: {type(exc).__name__}: {first_line[:300]}"


def _fail_if_database_answers(run: SyncRun, source: DataSource, tracker: _RunProgress, message: str) -> None:
    """Record a lost database connection on the run, over a new connection, if the database is back already;
    if it is not, the run stays "running" until the task's retry takes it over and records ``message``."""
    if connection.in_atomic_block:  # the caller's transaction is lost with the connection: nothing to do
        return
    connection.close()  # the broken connection; the next query opens a new one
    try:
        _fail(run, source, tracker, message, halt=False)
    except DATABASE_LOST:
        connection.close()
        logger.warning("sync run %s: %s; the database is still unreachable", run.pk, message)


def sources_due(*, now: datetime | None = None) -> list[int]:
    """Ids of enabled sources whose interval has passed since their last full run started, that are not
    halted by a permanent error and not being synced right now."""
    now = now or timezone.now()
    due = []
    for source in DataSource.objects.filter(enabled=True).order_by("pk"):
        if source.checkpoint.get(HALTED) or source.kind == DataSource.Kind.OTLP:  # OTLP is pushed to
            continue
        runs = SyncRun.objects.filter(data_source=source)
        if any(now - _heartbeat(r) < LEASE for r in runs.filter(status=SyncRun.Status.RUNNING)):
            continue
        last = runs.filter(source=source.name).order_by("-started_at").first()
        if last is None or last.started_at + timedelta(minutes=source.sync_interval_minutes) <= now:
            due.append(source.pk)
    return due
