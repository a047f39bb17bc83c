"""The base of the ``setup_*schedules`` commands: one django-celery-beat entry that runs a task every few
minutes on its queue, created or updated in place (idempotent: running the command again changes only
the interval)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_celery_beat.models import IntervalSchedule, PeriodicTask


class PeriodicTaskCommand(BaseCommand):
    """A subclass sets ``schedule_name`` (the PeriodicTask's name), ``task`` (the Celery task's name),
    ``queue``, ``default_every`` (minutes) and ``every_help`` (the ``--every`` option's help)."""

    schedule_name = ""
    task = ""
    queue = ""
    default_every = 1
    every_help = ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, default=self.default_every, help=self.every_help)

    def handle(self, *args: Any, **options: Any) -> None:
        every = max(1, options["every"])
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.MINUTES)
        _, created = PeriodicTask.objects.update_or_create(
            name=self.schedule_name,
            defaults={"task": self.task, "interval": interval, "queue": self.queue, "enabled": True},
        )
        verb = "created" if created else "updated"
        self.stdout.write(
            f"{verb} periodic task {self.schedule_name!r}: every {every} minute(s) on queue {self.queue}"
        )
