"""Settings of the Celery worker that tests/reports/test_worker.py starts: the real settings, with a
one-second retry backoff so a retried delivery finishes within the test."""

from __future__ import annotations

from metrics.settings import *  # noqa: F403 - the real settings, one knob changed

REPORTS_RETRY_BACKOFF_SECONDS = 1
