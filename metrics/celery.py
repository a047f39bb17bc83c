"""Celery application.  Tasks live in each app's ``tasks.py``."""

from __future__ import annotations

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metrics.settings")

app = Celery("sextant")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, **kwargs: object) -> None:
    # Every log line a task writes carries its id (metrics.core.observability.ContextFilter).
    from metrics.core.observability import task_id as current_task

    current_task.set(task_id or "")


@signals.task_postrun.connect
def _task_finished(**kwargs: object) -> None:
    from metrics.core.observability import task_id as current_task

    current_task.set("")
