"""manage.py setup_schedules: the django-celery-beat entry that starts due syncs (idempotent).

One PeriodicTask runs ``sextant.ingestion.sync_due_sources`` every minute on the "sync" queue; that task
enqueues each enabled source whose own ``sync_interval_minutes`` has passed since its last run, so the
per-source interval is edited on the source, not here.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from metrics.ingestion.tasks import SYNC_QUEUE, sync_due_sources_task

SCHEDULE_NAME = "sextant: sync due sources"


class Command(BaseCommand):
    help = "Create or update the periodic task that starts the scheduled syncs of data sources."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, default=1, help="minutes between checks for due sources")

    def handle(self, *args: Any, **options: Any) -> None:
        every = max(1, options["every"])
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.MINUTES)
        _, created = PeriodicTask.objects.update_or_create(
            name=SCHEDULE_NAME,
            defaults={
                "task": sync_due_sources_task.name,
                "interval": interval,
                "queue": SYNC_QUEUE,
                "enabled": True,
            },
        )
        verb = "created" if created else "updated"
        self.stdout.write(
            f"{verb} periodic task {SCHEDULE_NAME!r}: every {every} minute(s) on queue {SYNC_QUEUE}"
        )
