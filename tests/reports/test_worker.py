"""A real Celery worker (prefork, 2 processes, queue "reports") on the local Redis (db 12) delivers
through a real SMTP server (aiosmtpd): the same run delivered twice at once is sent once, and a
temporary SMTP refusal is retried with backoff until it goes through, every failure on record.

The worker and its database of its own come from tests/celery_worker.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import redis
from celery import Celery

from tests import redis_dbs
from tests.celery_worker import ROOT, SEED_SNAPSHOTS, WorkerDatabase, kill, manage, start_worker
from tests.reports.conftest import Mailbox
from tests.waiting import wait_for

BROKER = redis_dbs.REPORTS_WORKER
SEED = (
    SEED_SNAPSHOTS
    + """
from metrics.reports.models import ReportRun, ReportSchedule
for name in ("Twice", "Flaky"):
    schedule = ReportSchedule.objects.create(name=name, audience=f"{name.lower()}@example.com")
    ReportRun.objects.create(schedule=schedule, period_start=dt.date(2026, 10, 1),
                             period_end=dt.date(2026, 10, 31))
print(*ReportRun.objects.order_by("schedule__name").values_list("pk", flat=True))
"""
)


def test_a_worker_sends_a_doubly_delivered_run_once_and_retries_a_refused_one(
    worker_db: WorkerDatabase, tmp_path: Path, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    redis.Redis.from_url(BROKER).flushdb()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_", "EMAIL_"))}
    env.update(
        {
            "DATABASE_URL": worker_db.url,
            "CELERY_BROKER_URL": BROKER,
            "SEXTANT_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "tests.reports.worker_settings",
            "PYTHONPATH": str(ROOT),
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
            "DEFAULT_FROM_EMAIL": "reports@example.com",
        }
    )

    manage(env, "migrate", "--noinput", "-v", "0", "--skip-checks")
    flaky_run, twice_run = (int(pk) for pk in manage(env, "shell", "-c", SEED).split()[-2:])
    log = tmp_path / "worker.log"
    worker = start_worker(env, log, "reports", concurrency=2)
    try:
        client = Celery(broker=BROKER, set_as_current=False)
        mailbox.fail_next = 2  # the first delivery to reach the server is refused twice (451)
        client.send_task("sextant.reports.deliver", args=[flaky_run], queue="reports")
        status = f"SELECT status, attempts, error FROM reports_reportrun WHERE id = {flaky_run}"  # noqa: S608
        wait_for(
            lambda: worker_db.row(status)[0] == "sent",
            60,
            lambda: f"{worker_db.row(status)} {log.read_text()[-3000:]}",
        )
        _, attempts, error = worker_db.row(status)
        assert attempts == 3 and mailbox.refused == 2 and len(mailbox.messages) == 1
        assert (
            error.count("SMTPDataError: (451") == 2
            and "retrying in 1 s" in error
            and "retrying in 2 s" in error
        )

        for _ in range(2):  # the same run delivered twice, to two worker processes at once
            client.send_task("sextant.reports.deliver", args=[twice_run], queue="reports")
        twice = f"SELECT status, attempts FROM reports_reportrun WHERE id = {twice_run}"  # noqa: S608
        wait_for(lambda: worker_db.row(twice)[0] == "sent", 60, lambda: log.read_text()[-3000:])
        wait_for(
            lambda: log.read_text().count("'status': 'skipped'") >= 1, 30, lambda: log.read_text()[-3000:]
        )
        assert worker_db.row(twice) == ("sent", 1)
        assert len(mailbox.messages) == 2  # one per run
        assert b"twice@example.com" in mailbox.messages[1]
    finally:
        kill(worker)
        worker.wait(timeout=20)
