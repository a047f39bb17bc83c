"""Celery tasks of the executive reports: thin, named, idempotent; each calls one service.

Both run on the "reports" queue.  ``acks_late`` + ``reject_on_worker_lost``: a delivery whose worker
dies is delivered again, and the run's conditional status updates decide what the second delivery may
still do (see ``metrics.reports.services``).  Only temporary SMTP errors are retried, with exponential
backoff; every failure is recorded on the run, where the archive page shows it.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.db import transaction

from metrics.reports.services import MAX_ATTEMPTS, DeliveryError, report_run_execute, reports_due

REPORTS_QUEUE = "reports"


@shared_task(
    bind=True,
    name="sextant.reports.deliver",
    queue=REPORTS_QUEUE,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_ATTEMPTS,
)
def report_deliver_task(self: Task, run_id: int) -> dict[str, Any]:
    """Render and send one report run; a second delivery of the same run sends nothing."""
    try:
        outcome = report_run_execute(run_id=run_id)
    except DeliveryError as exc:
        if self.request.is_eager:
            # Embedded mode (no broker): the run stays queued with its error and next_attempt_at, and
            # the next due check (``send_report --due``) picks it up, instead of sleeping in a request.
            return {"run": run_id, "status": "queued", "error": str(exc)}
        raise self.retry(exc=exc, countdown=exc.retry_in) from None
    return {"run": run_id, "status": outcome}


@shared_task(name="sextant.reports.send_due", queue=REPORTS_QUEUE, acks_late=True, reject_on_worker_lost=True)
def reports_send_due_task() -> list[int]:
    """Started by django-celery-beat (``manage.py setup_report_schedules``): queue every run that is due."""
    due = reports_due()
    for run_id in due:
        report_deliver_enqueue(run_id=run_id)
    return due


def report_deliver_enqueue(*, run_id: int) -> None:
    """Queue a delivery once the current transaction commits (never for a run that was rolled back)."""
    transaction.on_commit(lambda: report_deliver_task.delay(run_id))
