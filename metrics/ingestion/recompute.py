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
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.db import transaction

from connectors.base import redact
from metrics.ingestion.impact import ai_impact_recompute
from metrics.ingestion.snapshots import (
    database_now,
    recompute_lock,
    snapshots_recompute,
    snapshots_recompute_if_stale,
)

ANALYTICS_QUEUE = "analytics"
SNAPSHOTS_TASK = "sextant.analytics.snapshots_recompute"  # tasks.snapshots_recompute_task
AI_IMPACT_TASK = "sextant.analytics.ai_impact_recompute"  # tasks.ai_impact_recompute_task
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


def recompute_request(*, reason: str, part: Part = "all") -> RecomputeOutcome:
    """Ask for the recompute after a change to what the metrics are computed from; ``reason`` (one line,
    such as "import_prs prs.csv") is logged here and by the worker that serves the request."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return recompute_now(reason=reason, part=part)
    logger.info("%s recompute requested: %s", part, reason)
    transaction.on_commit(functools.partial(_ask_for_recompute, reason=reason, part=part))
    return RecomputeOutcome(part=part, queued=True)


def recompute_now(*, reason: str, part: Part = "all") -> RecomputeOutcome:
    """Compute here, under the recompute lock (waits for a recompute running elsewhere)."""
    started = time.monotonic()
    logger.info("%s recompute: %s", part, reason)
    with recompute_lock():
        if part == "all":
            rows = snapshots_recompute()
        else:
            counts = ai_impact_recompute()
            rows = counts["estimates"] + counts["roi_rows"]
    return RecomputeOutcome(part=part, queued=False, rows=rows, seconds=time.monotonic() - started)


def recompute_requested(*, requested_at: datetime, reason: str = "") -> dict[str, Any]:
    """The analytics worker's work for a queued full request: recompute unless a recompute that began
    reading after ``requested_at`` covered it (``snapshots_recompute_if_stale``, under the lock)."""
    logger.info("all recompute requested at %s: %s", requested_at.isoformat(), reason or "no reason given")
    return snapshots_recompute_if_stale(requested_at=requested_at)


def recompute_send(*, reason: str, part: Part = "all") -> None:
    """Send the request to the analytics workers now, by task name; raises when the broker cannot be
    reached (``manage.py recompute --queue`` says so; other callers go through ``recompute_request``)."""
    if part == "all":  # the database's clock: the worker compares it with SnapshotState.read_from
        args = [database_now().isoformat()]
        current_app.send_task(SNAPSHOTS_TASK, args=args, kwargs={"reason": reason}, queue=ANALYTICS_QUEUE)
    else:
        current_app.send_task(AI_IMPACT_TASK, kwargs={"reason": reason}, queue=ANALYTICS_QUEUE)


def _ask_for_recompute(*, reason: str = "", part: Part = "all") -> None:
    """After the commit: the records are stored, whatever happens here.  If the broker (or the database)
    cannot be reached, the caller still succeeds; beat's tick asks again after the grace for records a
    sync stored (``snapshots_stale``)."""
    try:
        recompute_send(reason=reason, part=part)
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
