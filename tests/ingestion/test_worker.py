"""A real Celery worker (prefork, queue "sync") on the local Redis (db 11) is SIGKILLed mid-sync and
restarted: the task is delivered again, resumes from the checkpoint, and the data equals an
uninterrupted sync of the same fake GitHub (run in-process into pytest-django's test database).

The worker and its database of its own come from tests/celery_worker.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from cryptography.fernet import Fernet

from metrics.ingestion.sync import source_sync
from metrics.ingestion.sync_sources import source_create
from tests import redis_dbs
from tests.celery_worker import PYTHON, ROOT, WorkerDatabase, kill, manage, start_worker
from tests.fakes.github import FakeGitHub
from tests.fakes.github_data import populate, populate_teams
from tests.fakes.state import database_state
from tests.waiting import wait_for, wait_on_log

BROKER = redis_dbs.SYNC_WORKER


def environment(database_url: str, tmp: Path, broker: str = BROKER) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_"))}
    return {
        **env,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "SEXTANT_VAR_DIR": str(tmp),
        "SEXTANT_ENCRYPTION_KEYS": KEY,
        "DJANGO_SETTINGS_MODULE": "tests.fakes.worker_settings",
        "PYTHONPATH": str(ROOT),
    }


KEY = Fernet.generate_key().decode()


def migrate_with_source(env: dict[str, str], options: dict[str, Any]) -> int:
    """Migrate the worker's database and create the GitHub source "acme" there; returns its id."""
    manage(env, "migrate", "--noinput", "-v", "0", "--skip-checks")
    code = (
        "from metrics.ingestion.sync_sources import source_create; "
        f"print(source_create(kind='github', name='acme', options={options!r}, secret='test-token').pk)"
    )
    return int(manage(env, "shell", "-c", code).strip().splitlines()[-1])


@pytest.mark.django_db
def test_a_worker_killed_mid_sync_resumes_and_matches_an_uninterrupted_sync(
    worker_db: WorkerDatabase, tmp_path: Path, settings: Any
) -> None:
    redis.Redis.from_url(BROKER).flushdb()
    env = environment(worker_db.url, tmp_path)
    with FakeGitHub() as gh:
        populate(gh, "acme/api", prs=70, big_every=30)
        populate(gh, "acme/web", prs=20, seed=2)
        populate_teams(gh, "acme")
        total = sum(len(r.prs) for r in gh.repos.values())
        options = {"org": "acme", "api_url": gh.url, "page_size": 20, "backoff_seconds": 0.05}
        source_id = migrate_with_source(env, options)

        # The third page of pull requests is held until the worker is dead: it dies mid-sync, with
        # exactly two pages stored and a request in flight, however loaded the machine is.
        release, asked = gh.hold_page(3)
        log = tmp_path / "worker.log"
        worker = start_worker(env, log)
        task = Celery(broker=BROKER, set_as_current=False).send_task(
            "sextant.ingestion.source_sync", args=[source_id, ""], queue="sync"
        )
        count = "SELECT count(*) FROM ingestion_pullrequest"
        try:
            wait_on_log(lambda: len(asked) == 3, log, "third page never asked", 90)
            stored = wait_for(lambda: worker_db.scalar(count), 30, "no page stored")
        finally:
            kill(worker)
            release()
        checkpoint = worker_db.scalar("SELECT checkpoint FROM core_datasource")
        checkpoint = json.loads(checkpoint) if isinstance(checkpoint, str) else checkpoint  # text on SQLite
        cursor = checkpoint["repos"]["acme/api"]["prs"]["cursor"]
        assert stored == 40 and cursor == asked[2]  # two pages and the checkpoint after them
        gh.operations.clear()

        worker = start_worker(env, log)  # the unacknowledged task is delivered again
        try:
            finished = "SELECT count(*) FROM ingestion_syncrun WHERE status = 'succeeded'"
            wait_on_log(lambda: worker_db.scalar(finished), log, "not resumed", 120)
        finally:
            kill(worker)
        resumed_from = next(v.get("after") for name, v in gh.operations if name == "PullRequests")
        dump = subprocess.run(
            [PYTHON, "-m", "tests.fakes.state"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        settings.SEXTANT_ENCRYPTION_KEYS = KEY
        source = source_create(kind="github", name="acme", options=options, secret="test-token")
        source_sync(source=source)  # the same sync, uninterrupted, in the test database
        uninterrupted = json.loads(json.dumps(database_state(), default=str))
    resumed = json.loads(dump.stdout)
    assert resumed_from == cursor  # it continued after the last stored page, not from scratch
    assert len(resumed["pull_requests"]) == total and resumed == uninterrupted
    interrupted = worker_db.scalar("SELECT count(*) FROM ingestion_syncrun WHERE error LIKE 'interrupted%'")
    assert interrupted == 1 and task.id in log.read_text()
