"""Settings of the Celery workers that tests/ops/test_faults.py starts: the real settings, with one-second
retry backoffs (sync and report delivery) so a retried task finishes within the test."""

from __future__ import annotations

from metrics.settings import *  # noqa: F403 - the real settings, two knobs changed

SYNC_RETRY_BACKOFF_SECONDS = 1
REPORTS_RETRY_BACKOFF_SECONDS = 1
