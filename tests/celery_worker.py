"""A real Celery worker for tests, and an empty Sextant database of its own: shared by the worker tests
of ingestion, reports and ops.

The worker cannot share pytest-django's test database (in memory on SQLite, inside a rolled-back
transaction otherwise), so it gets a database of its own beside the configured one (a SQLite file, or a
PostgreSQL database on the server of DATABASE_URL), migrated by ``manage.py migrate``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg

from tests.waiting import wait_on_log

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
# For ``manage.py shell -c``: two months of organization snapshots, enough for a report to render.
SEED_SNAPSHOTS = """
import datetime as dt
from metrics.ingestion.models import MetricSnapshot
for start in (dt.date(2026, 9, 1), dt.date(2026, 10, 1)):
    for metric, value in (("cycle_time_p50", 30.0), ("merged_prs", 80.0), ("throughput_per_engineer", 4.0),
                          ("revert_rate", 0.05), ("ai_assisted_share", 0.25)):
        MetricSnapshot.objects.create(scope="organization", period="month", period_start=start, metric=metric,
                                      value=value, n=80, definition_version="1.1")
"""


class WorkerDatabase:
    """An empty Sextant database for the worker, on the engine DATABASE_URL names; dropped afterwards."""

    def __init__(self, tmp: Path) -> None:
        base = os.environ.get("DATABASE_URL", "")
        self.config = dj_database_url.parse(base) if base else {"ENGINE": "django.db.backends.sqlite3"}
        self.postgres = "postgresql" in self.config["ENGINE"]
        self.name = f"sextant_worker_{os.getpid()}"
        self.file = tmp / f"{self.name}.sqlite3"

    @property
    def url(self) -> str:
        if not self.postgres:
            return f"sqlite:///{self.file}"
        c = self.config
        auth = c["USER"] + (f":{c['PASSWORD']}" if c.get("PASSWORD") else "")
        return f"postgres://{auth}@{c['HOST'] or '127.0.0.1'}:{c['PORT'] or 5432}/{self.name}"

    def _admin(self, sql: str) -> None:
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

    def create(self) -> None:
        if self.postgres:
            self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def row(self, sql: str) -> tuple[Any, ...]:
        if self.postgres:
            with psycopg.connect(self.url) as conn:
                return conn.execute(sql).fetchone() or ()
        with sqlite3.connect(self.file, timeout=30) as conn:
            return conn.execute(sql).fetchone() or ()

    def scalar(self, sql: str) -> Any:
        row = self.row(sql)
        return row[0] if row else None


def manage(env: dict[str, str], *args: str) -> str:
    """``manage.py *args`` in ``env``; its output, or a failed assertion with the end of its errors."""
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def start_worker(
    env: dict[str, str], log: Path, queues: str = "sync", *, concurrency: int = 1
) -> subprocess.Popen[bytes]:
    """A prefork worker on ``queues`` in a session of its own (so that kill() reaches the pool), once
    it says it is ready."""
    name = f"{queues.replace(',', '-')}-test-{os.getpid()}-{time.monotonic_ns()}@%h"
    with log.open("ab") as out:
        worker = subprocess.Popen(
            [
                PYTHON, "-m", "celery", "-A", "metrics", "worker", "-Q", queues,
                "--concurrency", str(concurrency), "-P", "prefork", "--loglevel", "INFO", "-n", name,
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    wait_on_log(lambda: b"ready." in log.read_bytes(), log, "worker did not start", 60)
    return worker


def kill(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole worker (main process and pool children), like a machine that dies."""
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=20)
