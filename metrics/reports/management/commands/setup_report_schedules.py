"""manage.py setup_report_schedules: the django-celery-beat entry that sends due reports (idempotent).

One PeriodicTask runs ``sextant.reports.send_due`` every few minutes on the "reports" queue; that task
finds each enabled schedule whose send time has passed for its latest period and queues its delivery,
so send times, time zones and periods are edited on the schedules, not here.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from metrics.reports.tasks import REPORTS_QUEUE, reports_send_due_task

SCHEDULE_NAME = "sextant: send due reports"


class Command(BaseCommand):
    help = "Create or update the periodic task that sends the scheduled executive reports."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, default=5, help="minutes between checks for due reports")

    def handle(self, *args: Any, **options: Any) -> None:
        every = max(1, options["every"])
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.MINUTES)
        _, created = PeriodicTask.objects.update_or_create(
            name=SCHEDULE_NAME,
            defaults={
                "task": reports_send_due_task.name,
                "interval": interval,
                "queue": REPORTS_QUEUE,
                "enabled": True,
            },
        )
        verb = "created" if created else "updated"
        self.stdout.write(
            f"{verb} periodic task {SCHEDULE_NAME!r}: every {every} minute(s) on queue {REPORTS_QUEUE}"
        )
