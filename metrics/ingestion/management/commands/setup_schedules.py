"""manage.py setup_schedules: the django-celery-beat entry that starts due syncs (idempotent).

One PeriodicTask runs ``sextant.ingestion.sync_due_sources`` every minute on the "sync" queue; that task
enqueues each enabled source whose own ``sync_interval_minutes`` has passed since its last run, so the
per-source interval is edited on the source, not here.
"""

from __future__ import annotations

from metrics.core.schedules import PeriodicTaskCommand
from metrics.ingestion.tasks import SYNC_QUEUE, sync_due_sources_task

SCHEDULE_NAME = "sextant: sync due sources"


class Command(PeriodicTaskCommand):
    help = "Create or update the periodic task that starts the scheduled syncs of data sources."
    schedule_name = SCHEDULE_NAME
    task = sync_due_sources_task.name
    queue = SYNC_QUEUE
    default_every = 1
    every_help = "minutes between checks for due sources"
