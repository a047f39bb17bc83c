"""manage.py setup_report_schedules: the django-celery-beat entry that sends due reports (idempotent).

One PeriodicTask runs ``sextant.reports.send_due`` every few minutes on the "reports" queue; that task
finds each enabled schedule whose send time has passed for its latest period and queues its delivery,
so send times, time zones and periods are edited on the schedules, not here.
"""

from __future__ import annotations

from metrics.core.schedules import PeriodicTaskCommand
from metrics.reports.tasks import REPORTS_QUEUE, reports_send_due_task

SCHEDULE_NAME = "sextant: send due reports"


class Command(PeriodicTaskCommand):
    help = "Create or update the periodic task that sends the scheduled executive reports."
    schedule_name = SCHEDULE_NAME
    task = reports_send_due_task.name
    queue = REPORTS_QUEUE
    default_every = 5
    every_help = "minutes between checks for due reports"
