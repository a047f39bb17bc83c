"""A real Celery worker (prefork, 2 processes, queue "reports") on the local Redis (db 12) delivers
through a real SMTP server (aiosmtpd): the same run delivered twice at once is sent once, and a
temporary SMTP refusal is retried with backoff until it goes through, every failure on record.

The worker cannot share pytest-django's test database, so the test makes its own (a SQLite file, or a
PostgreSQL database on the server of DATABASE_URL), migrated by ``manage.py migrate``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg
import pytest
import redis
from celery import Celery

from tests.reports.conftest import Mailbox
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
BROKER = "redis://127.0.0.1:6379/12"
SEED = """
import datetime as dt
from metrics.ingestion.models import MetricSnapshot
from metrics.reports.models import ReportRun, ReportSchedule
for start in (dt.date(2026, 9, 1), dt.date(2026, 10, 1)):
    for metric, value in (("cycle_time_p50", 30.0), ("merged_prs", 80.0), ("throughput_per_engineer", 4.0),
                          ("revert_rate", 0.05), ("ai_assisted_share", 0.25)):
        MetricSnapshot.objects.create(scope="organization", period="month", period_start=start, metric=metric,
                                      value=value, n=80, definition_version="1.1")
for name in ("Twice", "Flaky"):
    schedule = ReportSchedule.objects.create(name=name, audience=f"{name.lower()}@example.com")
    ReportRun.objects.create(schedule=schedule, period_start=dt.date(2026, 10, 1),
                             period_end=dt.date(2026, 10, 31))
print(*ReportRun.objects.order_by("schedule__name").values_list("pk", flat=True))
"""


class Database:
    """An empty Sextant database on the engine DATABASE_URL names, dropped afterwards."""

    def __init__(self, tmp: Path) -> None:
        base = os.environ.get("DATABASE_URL", "")
        self.config = dj_database_url.parse(base) if base else {"ENGINE": "django.db.backends.sqlite3"}
        self.postgres = "postgresql" in self.config["ENGINE"]
        self.name = f"sextant_reports_worker_{os.getpid()}"
        self.path = tmp / f"{self.name}.sqlite3"

    def url(self) -> str:
        if not self.postgres:
            return f"sqlite:///{self.path}"
        c = self.config
        auth = c["USER"] + (f":{c['PASSWORD']}" if c.get("PASSWORD") else "")
        return f"postgres://{auth}@{c['HOST'] or '127.0.0.1'}:{c['PORT'] or 5432}/{self.name}"

    def admin(self, sql: str) -> None:
        c = self.config
        with psycopg.connect(
            host=c["HOST"] or "127.0.0.1",
            port=c["PORT"] or 5432,
            user=c["USER"],
            password=c.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(sql)

    def row(self, sql: str) -> tuple[Any, ...]:
        if self.postgres:
            with psycopg.connect(self.url()) as conn:
                return conn.execute(sql).fetchone() or ()
        with sqlite3.connect(self.path, timeout=30) as conn:
            return conn.execute(sql).fetchone() or ()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(tmp_path)
    if db.postgres:
        db.admin(f'CREATE DATABASE "{db.name}"')
    try:
        yield db
    finally:
        if db.postgres:
            db.admin(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')


def test_a_worker_sends_a_doubly_delivered_run_once_and_retries_a_refused_one(
    database: Database, tmp_path: Path, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    redis.Redis.from_url(BROKER).flushdb()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_", "EMAIL_"))}
    env.update(
        {
            "DATABASE_URL": database.url(),
            "CELERY_BROKER_URL": BROKER,
            "SEXTANT_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "tests.reports.worker_settings",
            "PYTHONPATH": str(ROOT),
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
            "DEFAULT_FROM_EMAIL": "reports@example.com",
        }
    )

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    manage("migrate", "--noinput", "-v", "0", "--skip-checks")
    flaky_run, twice_run = (int(pk) for pk in manage("shell", "-c", SEED).split()[-2:])
    log = tmp_path / "worker.log"
    with log.open("ab") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "metrics",
                "worker",
                "-Q",
                "reports",
                "--concurrency",
                "2",
                "-P",
                "prefork",
                "--loglevel",
                "INFO",
                "-n",
                f"reports-test-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: b"ready." in log.read_bytes(), 60, lambda: f"no worker: {log.read_text()[-2000:]}")
        client = Celery(broker=BROKER, set_as_current=False)
        mailbox.fail_next = 2  # the first delivery to reach the server is refused twice (451)
        client.send_task("sextant.reports.deliver", args=[flaky_run], queue="reports")
        status = f"SELECT status, attempts, error FROM reports_reportrun WHERE id = {flaky_run}"  # noqa: S608
        wait_for(
            lambda: database.row(status)[0] == "sent",
            60,
            lambda: f"{database.row(status)} {log.read_text()[-3000:]}",
        )
        _, attempts, error = database.row(status)
        assert attempts == 3 and mailbox.refused == 2 and len(mailbox.messages) == 1
        assert (
            error.count("SMTPDataError: (451") == 2
            and "retrying in 1 s" in error
            and "retrying in 2 s" in error
        )

        for _ in range(2):  # the same run delivered twice, to two worker processes at once
            client.send_task("sextant.reports.deliver", args=[twice_run], queue="reports")
        twice = f"SELECT status, attempts FROM reports_reportrun WHERE id = {twice_run}"  # noqa: S608
        wait_for(lambda: database.row(twice)[0] == "sent", 60, lambda: log.read_text()[-3000:])
        wait_for(
            lambda: log.read_text().count("'status': 'skipped'") >= 1, 30, lambda: log.read_text()[-3000:]
        )
        assert database.row(twice) == ("sent", 1)
        assert len(mailbox.messages) == 2  # one per run
        assert b"twice@example.com" in mailbox.messages[1]
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the whole worker, pool children included
        worker.wait(timeout=20)
