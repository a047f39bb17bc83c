"""The analytics queue, with real Celery workers on the local Redis: a sync worker stores the records and
queues the metrics recompute on "analytics" instead of computing it; an analytics worker computes it;
a request lost with the broker is asked again by beat's tick after the grace; requests that a finished
recompute already covered are skipped.  (Database and worker helpers:
tests/ingestion/test_worker.py.)"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from celery import Celery

from tests import redis_dbs
from tests.celery_worker import PYTHON, ROOT, WorkerDatabase, kill, manage, start_worker
from tests.fakes.github import FakeGitHub
from tests.fakes.github_data import populate, populate_teams
from tests.ingestion.test_worker import environment, migrate_with_source
from tests.waiting import wait_on_log

BROKER = redis_dbs.ANALYTICS_QUEUE
SNAPSHOTS = "SELECT count(*) FROM ingestion_metricsnapshot"
RECOMPUTE = "sextant.analytics.snapshots_recompute"
AGE_RUNS = (
    "from datetime import timedelta; from django.db.models import F; "
    "from metrics.ingestion.models import SyncRun; "
    "SyncRun.objects.update(finished_at=F('finished_at') - timedelta(minutes=11))"
)
TICK = "from metrics.ingestion.tasks import sync_due_sources_task; print(sync_due_sources_task())"
TASK = r"Task sextant\.analytics\.snapshots_recompute"


def _results(log: Path) -> list[str]:
    """What the analytics tasks returned, in order (Celery's "succeeded" log lines)."""
    text = log.read_text(errors="replace")
    return re.findall(rf"{TASK}\[[^\]]+\] succeeded in [\d.]+s: (.*)", text)


def test_a_sync_queues_the_recompute_on_the_analytics_queue_for_an_analytics_worker(
    worker_db: WorkerDatabase, tmp_path: Path
) -> None:
    broker = redis.Redis.from_url(BROKER)
    broker.flushdb()
    env = environment(worker_db.url, tmp_path, BROKER)
    app = Celery(broker=BROKER, set_as_current=False)
    with FakeGitHub() as gh:
        populate(gh, "acme/api", prs=30)
        populate_teams(gh, "acme")
        options = {"org": "acme", "api_url": gh.url, "page_size": 20, "backoff_seconds": 0.05}
        source_id = migrate_with_source(env, options)
        sync_log = tmp_path / "sync.log"
        sync_worker = start_worker(env, sync_log, queues="sync")
        try:
            app.send_task("sextant.ingestion.source_sync", args=[source_id, ""], queue="sync")
            done = "SELECT count(*) FROM ingestion_syncrun WHERE status = 'succeeded'"
            wait_on_log(lambda: worker_db.scalar(done), sync_log, "no sync", 90)
        finally:
            kill(sync_worker)

    # The sync worker stored the records and did not compute: the request waits on "analytics".
    assert worker_db.scalar("SELECT count(*) FROM ingestion_pullrequest") == 30
    assert worker_db.scalar(SNAPSHOTS) == 0
    assert broker.llen("analytics") == 1
    assert not re.search(TASK, sync_log.read_text())

    # The request is lost (Redis restarted without persistence).  Beat's tick within the grace leaves it;
    # the first tick after it asks again.
    broker.delete("analytics")
    assert manage(env, "shell", "-c", TICK).split()[-1] == "[]" and broker.llen("analytics") == 0
    manage(env, "shell", "-c", AGE_RUNS)
    assert manage(env, "shell", "-c", TICK).split()[-1] == "[]" and broker.llen("analytics") == 1

    log = tmp_path / "analytics.log"
    worker = start_worker(env, log, queues="analytics")
    try:
        wait_on_log(lambda: len(_results(log)) == 1, log, "no recompute", 120)
        assert _results(log)[0].startswith("{'status': 'computed', 'rows': ")
        rows = worker_db.scalar(SNAPSHOTS)
        first_id = worker_db.scalar("SELECT min(id) FROM ingestion_metricsnapshot")
        assert rows > 0 and broker.llen("analytics") == 0
        # A request for records committed before that recompute began reading is covered by it: skipped.
        # One made after that is not: computed again (new rows).
        covered = worker_db.scalar("SELECT read_from FROM ingestion_snapshotstate")
        if isinstance(covered, str):  # SQLite gives Django's UTC text without an offset
            covered = datetime.fromisoformat(covered).replace(tzinfo=UTC)
        app.send_task(RECOMPUTE, args=[(covered - timedelta(seconds=1)).isoformat()], queue="analytics")
        app.send_task(RECOMPUTE, args=[(covered + timedelta(seconds=1)).isoformat()], queue="analytics")
        wait_on_log(lambda: len(_results(log)) == 3, log, "requests not served", 120)
    finally:
        kill(worker)
    results = _results(log)
    assert results[1].startswith("{'status': 'skipped', 'read_from': ")
    assert results[2].startswith("{'status': 'computed', 'rows': ")
    assert worker_db.scalar("SELECT min(id) FROM ingestion_metricsnapshot") > first_id
    assert worker_db.scalar(SNAPSHOTS) == rows
    assert str(worker_db.scalar("SELECT read_from FROM ingestion_snapshotstate")) > str(covered)


def test_a_broker_down_when_a_sync_ends_loses_nothing(worker_db: WorkerDatabase, tmp_path: Path) -> None:
    """The request is sent after the records are committed; a broker that cannot be reached (a closed
    port) is logged and the sync goes on; the tick after the grace asks again."""
    env = {**environment(worker_db.url, tmp_path), "CELERY_BROKER_URL": "redis://127.0.0.1:9/0"}
    manage(env, "migrate", "--noinput", "-v", "0", "--skip-checks")
    code = "from metrics.ingestion import recompute; recompute._ask_for_recompute(); print('went on')"
    done = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("went on"), done.stderr[-3000:]
    assert "could not queue the metrics recompute (OperationalError: " in done.stderr
    assert "beat will ask again" in done.stderr
