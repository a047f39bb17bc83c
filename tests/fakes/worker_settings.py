"""Settings of the Celery worker that tests/ingestion/test_worker.py starts: the real settings, plus a
short broker visibility timeout so a message left unacknowledged by a killed worker is delivered again
when the next worker starts (production keeps Redis' default of one hour, or the periodic schedule
resumes the sync once the dead run's lease has expired)."""

from __future__ import annotations

from metrics.settings import *  # noqa: F403 - the real settings, one knob changed

CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2}
