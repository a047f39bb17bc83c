"""The one recompute path: every trigger of the metrics recompute asks here, and nowhere else.

Triggers: a sync that stored records (``sync.source_sync``; webhook deliveries arrive through a sync),
the file imports (``import_git``, ``import_prs``, ``import_teams``, ``import_survey``,
``import_ai_usage``, ``load_demo``), settings changes in the web UI (teams and memberships, AI tool
costs, the ROI knobs, the Recompute button), beat's tick when a request was lost, and
``manage.py recompute``.

``recompute_request`` computes here and now in embedded (eager) mode only.  With a broker it asks the
analytics workers, once the caller's transaction has committed (the records it is about are visible by
then; nothing is asked for data that was rolled back), sending the task *by name*: this module imports no
task module, so ``sync`` -> ``recompute`` has no cycle back through ``tasks``.  Every computation, here
or on a worker, full or AI-impact only, runs under ``snapshots.recompute_lock``: one at a time.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.db import transaction

from connectors.base import redact
from metrics.ingestion.changes import EVERYTHING, ChangeScope
from metrics.ingestion.impact import ai_impact_recompute
from metrics.ingestion.incremental import cells_recompute, models_recompute
from metrics.ingestion.models import PendingChange, SnapshotState
from metrics.ingestion.snapshots import (
    database_now,
    models_lock,
    recompute_lock,
    snapshots_recompute_if_stale,
)

ANALYTICS_QUEUE = "analytics"
MODELS_QUEUE = "analytics_models"  # the organization-wide models: never queued behind or before a cell update
SNAPSHOTS_TASK = "sextant.analytics.snapshots_recompute"  # tasks.snapshots_recompute_task
AI_IMPACT_TASK = "sextant.analytics.ai_impact_recompute"  # tasks.ai_impact_recompute_task
MODELS_TASK = "sextant.analytics.models_recompute"  # tasks.models_recompute_task
Part = Literal["all", "ai_impact"]
"""``all``: every snapshot, AI-impact estimate and ROI row.  ``ai_impact``: only the estimates and ROI
(what AI tool prices and the ROI knobs change; seconds where a full recompute takes minutes)."""
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecomputeOutcome:
    """What a request did: computed here (``rows`` written, in ``seconds``) or queued for the workers."""

    part: Part
    queued: bool
    rows: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        what = "metrics" if self.part == "all" else "AI impact and ROI"
        if self.queued:
            return f"{what} recompute queued for the analytics workers"
        if self.part == "all":
            return f"{self.rows} snapshots recomputed"
        return f"{what} recomputed ({self.rows} rows)"


def recompute_request(
    *, reason: str, part: Part = "all", scope: ChangeScope = EVERYTHING
) -> RecomputeOutcome:
    """Ask for the recompute after a change to what the metrics are computed from; ``reason`` (one line,
    such as "import_prs prs.csv") is logged here and by the worker that serves the request.

    ``scope`` (``changes.ChangeScope``) says what changed: only its cells are recomputed, and the
    organization-wide models after a debounce (``models_request``); the default is everything.  A scoped
    request is stored (``PendingChange``) in the caller's transaction, and the worker that serves it
    serves every pending change at once."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return recompute_now(reason=reason, part=part, scope=scope)
    logger.info("%s recompute requested: %s", part, reason)
    incremental = part == "all" and not scope.everything
    requested_at = database_now() if incremental else None
    if incremental:
        if not scope.cells_touched and not scope.models:
            return RecomputeOutcome(part=part, queued=False)
        PendingChange.objects.create(scope=scope.as_json(), reason=reason[:300])
    transaction.on_commit(
        functools.partial(
            _ask_for_recompute, reason=reason, part=part, incremental=incremental, requested_at=requested_at
        )
    )
    return RecomputeOutcome(part=part, queued=True)


def recompute_now(*, reason: str, part: Part = "all", scope: ChangeScope = EVERYTHING) -> RecomputeOutcome:
    """Compute here: the cells under the recompute lock, the organization-wide models under theirs (each
    waits for a recompute running elsewhere)."""
    started = time.monotonic()
    logger.info("%s recompute: %s", part, reason)
    if part == "all":
        rows = cells_recompute(scope)
        if not scope.everything and (scope.models or scope.cells_touched):
            rows += models_recompute()
    else:
        with models_lock():
            counts = ai_impact_recompute()
        rows = counts["estimates"] + counts["roi_rows"]
    return RecomputeOutcome(part=part, queued=False, rows=rows, seconds=time.monotonic() - started)


def pending_recompute() -> dict[str, Any]:
    """The analytics worker's work for queued scoped requests: every pending change at once (their scopes
    merged), then the organization-wide models asked for (debounced)."""
    with recompute_lock():
        as_of = database_now()  # every change committed before it is taken below
        taken = list(PendingChange.objects.order_by("pk").values_list("pk", "scope"))
        if not taken:
            return {"status": "skipped", "reason": "served by an earlier recompute"}
        scope = ChangeScope()
        for _, data in taken:
            scope = scope | ChangeScope.from_json(data)
        rows = cells_recompute(scope)
        PendingChange.objects.filter(pk__in=[pk for pk, _ in taken]).delete()
        SnapshotState.objects.update_or_create(pk=1, defaults={"cells_read_from": as_of})
    if not scope.everything:
        models_request()
    return {"status": "computed", "rows": rows, "changes": len(taken)}


MODELS_DEBOUNCE = timedelta(seconds=30)  # settings.MODELS_DEBOUNCE_SECONDS
MODELS_MAX_WAIT = timedelta(minutes=10)  # a steady stream of changes still gets the models this often


def _debounce() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "MODELS_DEBOUNCE_SECONDS", MODELS_DEBOUNCE.seconds)))


def models_request() -> None:
    """Ask for the organization-wide models after the debounce: every request moves the due time, and the
    models are computed once no request came for the debounce (or the first waited ``MODELS_MAX_WAIT``)."""
    now = database_now()
    debounce = _debounce()
    with transaction.atomic():
        state, _ = SnapshotState.objects.select_for_update().get_or_create(pk=1)
        state.models_pending_since = state.models_pending_since or now
        state.models_due_at = now + debounce
        state.save(update_fields=["models_pending_since", "models_due_at"])
    try:
        current_app.send_task(MODELS_TASK, countdown=debounce.total_seconds(), queue=MODELS_QUEUE)
    except Exception as exc:
        logger.warning("could not queue the AI-impact models recompute (%s)", broker_error(exc))


def models_requested() -> dict[str, Any]:
    """The models worker's work: compute if due (see ``models_request``), else leave it to a later task."""
    now = database_now()
    with transaction.atomic():
        state, _ = SnapshotState.objects.select_for_update().get_or_create(pk=1)
        since, due = state.models_pending_since, state.models_due_at
        if since is None:
            return {"status": "skipped", "reason": "nothing pending"}
        if due is not None and due > now and since > now - MODELS_MAX_WAIT:
            return {"status": "skipped", "reason": f"due at {due.isoformat()}"}
        state.models_pending_since = state.models_due_at = None  # a request from now on asks again
        state.save(update_fields=["models_pending_since", "models_due_at"])
    return {"status": "computed", "rows": models_recompute()}


def recompute_requested(*, requested_at: datetime, reason: str = "") -> dict[str, Any]:
    """The analytics worker's work for a queued full request: recompute unless a recompute that began
    reading after ``requested_at`` covered it (``snapshots_recompute_if_stale``, under the lock)."""
    logger.info("all recompute requested at %s: %s", requested_at.isoformat(), reason or "no reason given")
    return snapshots_recompute_if_stale(requested_at=requested_at)


def recompute_send(
    *, reason: str, part: Part = "all", incremental: bool = False, requested_at: datetime | None = None
) -> None:
    """Send the request to the analytics workers now, by task name; raises when the broker cannot be
    reached (``manage.py recompute --queue`` says so; other callers go through ``recompute_request``)."""
    if incremental:
        stamp = (requested_at or database_now()).isoformat()
        kwargs = {"reason": reason, "incremental": True}
        current_app.send_task(SNAPSHOTS_TASK, args=[stamp], kwargs=kwargs, queue=ANALYTICS_QUEUE)
    elif part == "all":  # the database's clock: the worker compares it with SnapshotState.read_from
        args = [database_now().isoformat()]
        current_app.send_task(SNAPSHOTS_TASK, args=args, kwargs={"reason": reason}, queue=ANALYTICS_QUEUE)
    else:
        current_app.send_task(AI_IMPACT_TASK, kwargs={"reason": reason}, queue=ANALYTICS_QUEUE)


def _ask_for_recompute(
    *, reason: str = "", part: Part = "all", incremental: bool = False, requested_at: datetime | None = None
) -> None:
    """After the commit: the records are stored, whatever happens here.  If the broker (or the database)
    cannot be reached, the caller still succeeds; beat's tick asks again after the grace for records a
    sync stored (``snapshots_stale``)."""
    try:
        recompute_send(reason=reason, part=part, incremental=incremental, requested_at=requested_at)
    except Exception as exc:
        logger.warning(
            "could not queue the metrics recompute (%s); beat will ask again for a sync's records "
            "(`manage.py recompute` computes at once)",
            broker_error(exc),
        )


def broker_error(exc: BaseException) -> str:
    """``Type: message`` of a failed send, without the broker URL or its password."""
    url = str(settings.CELERY_BROKER_URL or "")
    secrets = [url, urlsplit(url).password or ""] if url else []
    return redact(f"{type(exc).__name__}: {exc}", secrets)
