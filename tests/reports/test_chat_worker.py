"""Issue 21 acceptance with a real Celery worker (prefork, 2 processes, queue "reports", Redis db 2): a
scheduled run's digest reaches a local Slack and a local Teams receiver exactly once each, after each
answered the first post with a 500 and the task retried it (backoff 1 s, tests/reports/worker_settings),
and a duplicate run task and duplicate chat tasks post nothing more.
"""

from __future__ import annotations

import os
from pathlib import Path

import redis
from celery import Celery
from cryptography.fernet import Fernet

from tests import redis_dbs
from tests.celery_worker import ROOT, SEED_SNAPSHOTS, WorkerDatabase, kill, manage, start_worker
from tests.fakes.chat_webhooks import FakeSlackWebhook, FakeTeamsWebhook
from tests.reports.conftest import Mailbox
from tests.waiting import wait_for

BROKER = redis_dbs.CHAT_WORKER
SEED = (
    SEED_SNAPSHOTS
    + """
import os
from metrics.reports.models import ReportRun, ReportSchedule
from metrics.reports.chat import schedule_webhook_set
schedule = ReportSchedule(name="Chatty", audience="cto@example.com")
schedule_webhook_set(schedule, "slack", os.environ["TEST_SLACK_URL"])
schedule_webhook_set(schedule, "teams", os.environ["TEST_TEAMS_URL"])
schedule.save()
run = ReportRun.objects.create(
    schedule=schedule, period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 10, 31)
)
print(run.pk)
"""
)


def test_a_worker_posts_each_digest_once_after_a_500_and_a_retry(
    worker_db: WorkerDatabase, tmp_path: Path, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    redis.Redis.from_url(BROKER).flushdb()
    with FakeSlackWebhook() as slack, FakeTeamsWebhook() as teams:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_", "EMAIL_"))}
        env.update(
            {
                "DATABASE_URL": worker_db.url,
                "CELERY_BROKER_URL": BROKER,
                "SEXTANT_VAR_DIR": str(tmp_path),
                "SEXTANT_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "SEXTANT_BASE_URL": "https://sextant.example.com",
                "DJANGO_SETTINGS_MODULE": "tests.reports.worker_settings",
                "PYTHONPATH": str(ROOT),
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(port),
                "DEFAULT_FROM_EMAIL": "reports@example.com",
                "TEST_SLACK_URL": slack.url,
                "TEST_TEAMS_URL": teams.url,
            }
        )
        manage(env, "migrate", "--noinput", "-v", "0", "--skip-checks")
        run_id = int(manage(env, "shell", "-c", SEED).split()[-1])
        slack.server.fault("POST", r"/services/.*", status=500, body="rollup_error")
        teams.server.fault("POST", r"/workflows/.*", status=502, body={"error": {"code": "BadGateway"}})
        log = tmp_path / "worker.log"
        worker = start_worker(env, log, "reports", concurrency=2)
        try:
            client = Celery(broker=BROKER, set_as_current=False)
            client.send_task("sextant.reports.deliver", args=[run_id], queue="reports")
            rows = (
                "SELECT channel, status, attempts, id FROM reports_chatdelivery "  # noqa: S608
                f"WHERE run_id = {run_id} ORDER BY channel"
            )

            sent = f"SELECT COUNT(*) FROM reports_chatdelivery WHERE run_id = {run_id} AND status = 'sent'"  # noqa: S608

            def both_sent() -> bool:
                return bool(worker_db.scalar(sent) == 2)

            wait_for(both_sent, 60, lambda: log.read_text()[-3000:])
            slack_row = worker_db.row(rows + " LIMIT 1")
            teams_row = worker_db.row(rows + " LIMIT 1 OFFSET 1")
            assert slack_row[:3] == ("slack", "sent", 2) and teams_row[:3] == ("teams", "sent", 2)

            # Duplicates: the run's task again, and each chat task twice.
            client.send_task("sextant.reports.deliver", args=[run_id], queue="reports")
            for delivery_id in (slack_row[3], teams_row[3], slack_row[3], teams_row[3]):
                client.send_task("sextant.reports.chat_deliver", args=[delivery_id], queue="reports")
            wait_for(
                lambda: log.read_text().count("'status': 'skipped'") >= 5, 30, lambda: log.read_text()[-3000:]
            )
        finally:
            kill(worker)
            worker.wait(timeout=20)
        posts = (slack.server.count("POST", r"/services/.*"), teams.server.count("POST", r"/workflows/.*"))
    assert len(slack.messages) == len(teams.messages) == 1 and posts == (2, 2)
    assert len(mailbox.messages) == 1
    fields = slack.messages[0]["blocks"][2]["fields"]
    assert fields[0]["text"].startswith("*Cycle time (median)*\n")
    link = teams.messages[0]["attachments"][0]["content"]["actions"][0]["url"]
    assert link == f"https://sextant.example.com/reports/runs/{run_id}/"
