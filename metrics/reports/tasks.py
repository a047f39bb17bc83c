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

from metrics.reports.attempts import MAX_ATTEMPTS, DeliveryError
from metrics.reports.chat_delivery import chat_deliveries_due, chat_deliveries_queued, chat_delivery_execute
from metrics.reports.services import report_run_execute, reports_due

REPORTS_QUEUE = "reports"


def _delivery_task(name: str) -> Any:
    """The options of a delivery task: bound (it retries itself on a DeliveryError, at most MAX_ATTEMPTS
    times), acknowledged only once it ran, so a task of a worker lost mid-way runs again."""
    return shared_task(
        bind=True,
        name=name,
        queue=REPORTS_QUEUE,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=MAX_ATTEMPTS,
    )


@_delivery_task("sextant.reports.deliver")
def report_deliver_task(self: Task, run_id: int) -> dict[str, Any]:
    """Render and send one report run; a second delivery of the same run sends nothing.  Its chat
    messages (Slack, Teams) are queued as their own tasks, whatever the e-mail's fate."""
    try:
        outcome = report_run_execute(run_id=run_id)
    except DeliveryError as exc:
        chat_deliver_enqueue_for(run_id=run_id)
        if self.request.is_eager:
            # Embedded mode (no broker): the run stays queued with its error and next_attempt_at, and
            # the next due check (``send_report --due``) picks it up, instead of sleeping in a request.
            return {"run": run_id, "status": "queued", "error": str(exc)}
        raise self.retry(exc=exc, countdown=exc.retry_in) from None
    chat_deliver_enqueue_for(run_id=run_id)
    return {"run": run_id, "status": outcome}


@_delivery_task("sextant.reports.chat_deliver")
def chat_deliver_task(self: Task, delivery_id: int) -> dict[str, Any]:
    """Post one run's digest to one chat channel; a second task for the same delivery posts nothing."""
    try:
        outcome = chat_delivery_execute(delivery_id=delivery_id)
    except DeliveryError as exc:
        if self.request.is_eager:  # embedded mode: the due check (``send_report --due``) retries it
            return {"delivery": delivery_id, "status": "queued", "error": str(exc)}
        raise self.retry(exc=exc, countdown=exc.retry_in) from None
    return {"delivery": delivery_id, "status": outcome}


def chat_deliver_enqueue_for(*, run_id: int) -> None:
    for delivery_id in chat_deliveries_queued(run_id=run_id):
        chat_deliver_task.delay(delivery_id)


@shared_task(name="sextant.reports.send_due", queue=REPORTS_QUEUE, acks_late=True, reject_on_worker_lost=True)
def reports_send_due_task() -> list[int]:
    """Started by django-celery-beat (``manage.py setup_report_schedules``): queue every run that is due."""
    due = reports_due()
    for run_id in due:
        report_deliver_enqueue(run_id=run_id)
    for delivery_id in chat_deliveries_due():
        transaction.on_commit(lambda d=delivery_id: chat_deliver_task.delay(d))  # type: ignore[misc]
    return due


def report_deliver_enqueue(*, run_id: int) -> None:
    """Queue a delivery once the current transaction commits (never for a run that was rolled back)."""
    transaction.on_commit(lambda: report_deliver_task.delay(run_id))
