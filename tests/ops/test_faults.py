"""Faults: PostgreSQL restarted mid-sync, Redis restarted with tasks queued, a full disk under the report
archive, a delivery whose task message is gone.  Each recovers with nothing lost and nothing duplicated.
(A worker SIGKILLed mid-sync is tests/ingestion/test_worker.py.)

Real parts only: a private PostgreSQL 15 cluster (``initdb`` into a temporary directory, on a free port),
so the shared server the rest of the suite uses is never restarted; private ``redis-server`` processes;
real Celery workers (prefork subprocesses, settings ``tests.ops.faults_worker_settings``: one-second retry
backoffs); the fake GitHub API (``tests/fakes``) and an SMTP server (aiosmtpd) on 127.0.0.1; a tmpfs
mounted over the report archive.  Needs root (``runuser``, ``mount``), as CI has.
"""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from celery import Celery
from cryptography.fernet import Fernet
from django.utils import timezone

from metrics.reports.attempts import MAX_ATTEMPTS
from metrics.reports.models import ReportRun
from metrics.reports.periods import period_containing
from metrics.reports.services import (
    LEASE,
    RECOVERY_GRACE,
    report_run_execute,
    report_run_for,
    reports_due,
    schedule_period,
)
from tests.celery_worker import PYTHON, ROOT, SEED_SNAPSHOTS, kill, manage, start_worker
from tests.fakes.github import FakeGitHub
from tests.fakes.github_data import populate, populate_teams
from tests.reports.conftest import Mailbox, free_port, make_schedule, running_smtp
from tests.waiting import wait_for

PG_BIN = Path("/usr/lib/postgresql/15/bin")
TEMPLATE = "faults_template"
KEY = Fernet.generate_key().decode()


# --- private servers --------------------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL 15 cluster of its own (as the ``postgres`` user, trust auth, 127.0.0.1 only)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sextant-faults-pg-"))
        shutil.chown(self.root, "postgres")
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()

    def _as_postgres(self, *args: str) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, timeout=120
        )
        log = self.log.read_text() if self.log.exists() else ""
        assert done.returncode == 0, f"{args[0]}: {done.stdout}{done.stderr}{log[-2000:]}"

    def init(self) -> None:
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\nfsync = off\nfull_page_writes = off\n"
            )
        self.start()

    def start(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def execute(self, db: str, sql: str) -> None:
        with psycopg.connect(self.url(db), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def rows(self, db: str, sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url(db)) as conn:
            return conn.execute(sql).fetchall()  # type: ignore[arg-type]

    def scalar(self, db: str, sql: str) -> Any:
        return self.rows(db, sql)[0][0]

    def database(self, name: str) -> str:
        """A fresh, migrated database (a copy of the template migrated once per module)."""
        self.execute("postgres", f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        return name


class PrivateRedis:
    """A redis-server of its own: no persistence (as here and in CI) or AOF (as docker/compose.yml)."""

    def __init__(self, root: Path, *, aof: bool = False) -> None:
        self.root = root
        self.aof = aof
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
                "--save", "", "--appendonly", "yes" if self.aof else "no", "--logfile",
                str(self.root / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def answers() -> bool:
            try:
                return bool(self.client().ping())
            except redis.ConnectionError:
                return False

        wait_for(answers, 30, lambda: f"redis-server did not start: {self.log()}")

    def stop(self) -> None:
        """SIGTERM, what ``docker compose restart`` and systemd send."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.root / "redis.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def queued(self) -> dict[str, int]:
        client = self.client()
        return {queue: int(client.llen(queue)) for queue in ("sync", "reports")}  # type: ignore[arg-type]


# --- processes -----------------------------------------------------------------------------------------


def environment(database_url: str, broker: str, var: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DJANGO_", "EMAIL_"))}
    return {
        **env,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "SEXTANT_VAR_DIR": str(var),
        "SEXTANT_ENCRYPTION_KEYS": KEY,
        "DJANGO_SETTINGS_MODULE": "tests.ops.faults_worker_settings",
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def shell(env: dict[str, str], code: str) -> Any:
    """Run ``code`` in ``manage.py shell``; its last output line is JSON."""
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])


def send(broker: str, task: str, *args: Any, queue: str) -> str:
    return str(Celery(broker=broker, set_as_current=False).send_task(task, args=list(args), queue=queue).id)


# --- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePostgres]:
    """The private cluster, with a template database migrated once by ``manage.py migrate``."""
    pg = PrivatePostgres()
    try:
        pg.init()
        pg.execute("postgres", f'CREATE DATABASE "{TEMPLATE}"')
        var = tmp_path_factory.mktemp("template-var")
        manage(environment(pg.url(TEMPLATE), "", var), "migrate", "--noinput", "-v", "0", "--skip-checks")
        yield pg
    finally:
        pg.destroy()


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with running_smtp() as server:
        yield server


def mail_env(port: int) -> dict[str, str]:
    return {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "DEFAULT_FROM_EMAIL": "reports@example.com"}


def fill(directory: Path) -> Path:
    """Write a file into ``directory`` until its filesystem says it is full."""
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as exc:
            assert exc.errno == 28, exc  # ENOSPC
    return filler


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs, mounted where a test puts the report archive."""
    mountpoint = tmp_path / "var" / "reports"
    mountpoint.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"cannot mount a tmpfs (the fault tests need root): {done.stderr}"
    try:
        yield mountpoint
    finally:
        if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(mountpoint)], check=True)


def files_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def attachments(raw: bytes) -> list[Message]:
    message = email.message_from_bytes(raw)
    return [part for part in message.walk() if part.get_content_type() == "application/pdf"]


# --- 1. PostgreSQL restarted mid-sync -------------------------------------------------------------------

CREATE_SOURCE = """
import json, os
from metrics.ingestion.sync_sources import source_create
options = json.loads(os.environ["FAULTS_OPTIONS"])
print(json.dumps(source_create(kind="github", name="acme", options=options, secret="test-token").pk))
"""
UNINTERRUPTED_SYNC = """
import json, os
from metrics.ingestion.sync import source_sync
from metrics.ingestion.sync_sources import source_create
from tests.fakes.state import database_state
options = json.loads(os.environ["FAULTS_OPTIONS"])
source_sync(source=source_create(kind="github", name="acme", options=options, secret="test-token"))
print(json.dumps(database_state(), default=str))
"""


def test_postgresql_restarted_mid_sync_the_sync_retries_and_resumes_with_every_pr_once(
    postgres: PrivatePostgres, tmp_path: Path
) -> None:
    db = postgres.database("faults_pg_restart")
    broker = PrivateRedis(tmp_path / "redis")
    broker.start()
    log = tmp_path / "worker.log"
    try:
        with FakeGitHub() as gh:
            populate(gh, "acme/api", prs=70, big_every=30)
            populate(gh, "acme/web", prs=20, seed=2)
            populate_teams(gh, "acme")
            fake_prs = sorted((r.full_name, n) for r in gh.repos.values() for n in r.prs)
            options = {"org": "acme", "api_url": gh.url, "page_size": 20, "backoff_seconds": 0.05}
            env = environment(postgres.url(db), broker.url, tmp_path / "var")
            source_id = shell({**env, "FAULTS_OPTIONS": json.dumps(options)}, CREATE_SOURCE)

            # The third page of pull requests is held until PostgreSQL is down: the worker is mid-sync,
            # two pages stored, a request in flight, however loaded the machine is.
            release, asked = gh.hold_page(3)
            worker = start_worker(env, log, "sync")
            try:
                task_id = send(broker.url, "sextant.ingestion.source_sync", source_id, "", queue="sync")
                wait_for(
                    lambda: len(asked) == 3, 90, lambda: f"third page never asked: {log.read_text()[-3000:]}"
                )
                count = "SELECT count(*) FROM ingestion_pullrequest"
                wait_for(lambda: postgres.scalar(db, count) == 40, 30, lambda: "two pages not stored")
                checkpoint = postgres.scalar(db, "SELECT checkpoint FROM core_datasource")
                cursor = checkpoint["repos"]["acme/api"]["prs"]["cursor"]

                postgres.stop("immediate")  # like a crash: connections cut, crash recovery on start
                release()
                # The worker gets the third page, cannot store it, and retries with backoff while the
                # database is down (each retry fails again at its first query).
                wait_for(
                    lambda: log.read_text().count(f"source_sync[{task_id}] retry: Retry in") >= 2,
                    60,
                    lambda: f"no retries while the database is down: {log.read_text()[-3000:]}",
                )
                gh.operations.clear()
                postgres.start()
                finished = "SELECT count(*) FROM ingestion_syncrun WHERE status = 'succeeded'"
                wait_for(
                    lambda: postgres.scalar(db, finished),
                    90,
                    lambda: f"not resumed: {log.read_text()[-3000:]}",
                )
            finally:
                release()
                kill(worker)
            resumed_from = next(v.get("after") for name, v in gh.operations if name == "PullRequests")
            state = [PYTHON, "-m", "tests.fakes.state"]
            dump = subprocess.run(state, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
            # The same sync, uninterrupted, into a second database of the same server.
            reference_db = postgres.url(postgres.database("faults_pg_reference"))
            reference = environment(reference_db, "", tmp_path / "ref")
            uninterrupted = shell({**reference, "FAULTS_OPTIONS": json.dumps(options)}, UNINTERRUPTED_SYNC)
    finally:
        broker.stop()
    resumed = json.loads(dump.stdout)
    stored = postgres.rows(db, "SELECT r.full_name, p.number FROM ingestion_pullrequest p "
                               "JOIN core_repository r ON r.id = p.repository_id ORDER BY 1, 2")  # fmt: skip
    assert cursor == asked[2] and resumed_from == cursor  # resumed after the last stored page
    assert [tuple(row) for row in stored] == fake_prs  # every PR of the fake GitHub, each once
    assert resumed == uninterrupted  # PRs, commits, reviews, deployments, teams: as if nothing happened
    runs = postgres.rows(db, "SELECT id, status, error FROM ingestion_syncrun ORDER BY id")
    assert [status for _, status, _ in runs] == ["failed", "succeeded"], runs
    failed_error = runs[0][2]
    assert "database" in failed_error and f"resumed by run {runs[1][0]}" in failed_error, failed_error
    assert postgres.scalar(db, "SELECT last_error FROM core_datasource") == ""
    assert log.read_text().count(f"source_sync[{task_id}] succeeded") == 1


# --- 2. Redis restarted with tasks queued -----------------------------------------------------------

SEED_AND_TICK = """
import datetime as dt, json, os
from django.utils import timezone
from metrics.ingestion.sync_sources import source_create
from metrics.ingestion.tasks import sync_due_sources_task
from metrics.reports.models import ReportSchedule
from metrics.reports.tasks import reports_send_due_task
for org in ("acme", "beta"):
    options = {"org": org, "api_url": os.environ["FAKE_GITHUB"], "backoff_seconds": 0.05}
    source_create(kind="github", name=org, options=options, secret="test-token")
for name, period in (("Weekly brief", "weekly"), ("Monthly brief", "monthly")):
    schedule = ReportSchedule.objects.create(
        name=name, period=period, audience=f"{period}@example.com", send_time=dt.time(0, 0))
    ReportSchedule.objects.filter(pk=schedule.pk).update(created_at=timezone.now() - dt.timedelta(days=120))
# beat's two periodic tasks, run while no worker is up: they queue two syncs and two deliveries
print(json.dumps({"sources": sync_due_sources_task(), "runs": reports_send_due_task()}))
"""

LATER_TICK = """
import datetime as dt, json
from django.db.models import F
from metrics.ingestion.tasks import sync_due_sources_task
from metrics.reports.models import ReportRun
from metrics.reports.tasks import reports_send_due_task
# Time passes: the runs were queued longer ago than the recovery grace (RECOVERY_GRACE, 10 minutes).
ReportRun.objects.update(next_attempt_at=F("next_attempt_at") - dt.timedelta(seconds=GRACE + 60))
print(json.dumps({"sources": sync_due_sources_task(), "runs": reports_send_due_task()}))
"""


@pytest.mark.parametrize("aof", [False, True], ids=["no-persistence", "aof"])
def test_redis_restarted_with_tasks_queued_loses_nothing_and_sends_each_report_once(
    postgres: PrivatePostgres, tmp_path: Path, smtp: tuple[Mailbox, int], aof: bool
) -> None:
    mailbox, port = smtp
    db = postgres.database(f"faults_redis_{'aof' if aof else 'plain'}")
    broker = PrivateRedis(tmp_path / "redis", aof=aof)
    broker.start()
    log = tmp_path / "worker.log"
    try:
        with FakeGitHub() as gh:
            populate(gh, "acme/api", prs=30)
            populate(gh, "beta/app", prs=12, seed=3)
            populate_teams(gh, "acme")
            populate_teams(gh, "beta")
            fake_prs = sorted((r.full_name, n) for r in gh.repos.values() for n in r.prs)
            env = environment(postgres.url(db), broker.url, tmp_path / "var", **mail_env(port))
            first = shell({**env, "FAKE_GITHUB": gh.url}, SEED_AND_TICK)
            assert len(first["sources"]) == 2 and len(first["runs"]) == 2
            assert broker.queued() == {"sync": 2, "reports": 2}

            broker.restart()
            survived = broker.queued()
            # Without persistence the queue is gone; with AOF it comes back whole.
            assert survived == ({"sync": 2, "reports": 2} if aof else {"sync": 0, "reports": 0})

            # Beat's next tick, after the recovery grace: both sources are still due (no run started),
            # both report runs are still queued, so everything is queued again.
            later = shell(env, LATER_TICK.replace("GRACE", str(int(RECOVERY_GRACE.total_seconds()))))
            assert sorted(later["sources"]) == sorted(first["sources"])
            assert sorted(later["runs"]) == sorted(first["runs"])
            tasks = 8 if aof else 4  # with AOF every task is queued twice: the survivor and the new one

            worker = start_worker(env, log, "sync,reports")
            try:

                def all_done() -> bool:
                    done = log.read_text().count("] succeeded in") == tasks
                    return done and broker.queued() == {"sync": 0, "reports": 0}

                wait_for(all_done, 120, lambda: f"not all {tasks} tasks done: {log.read_text()[-4000:]}")
            finally:
                kill(worker)
    finally:
        broker.stop()
    text = log.read_text()
    stored = postgres.rows(db, "SELECT r.full_name, p.number FROM ingestion_pullrequest p "
                               "JOIN core_repository r ON r.id = p.repository_id ORDER BY 1, 2")  # fmt: skip
    assert [tuple(row) for row in stored] == fake_prs  # every PR of both sources, each once
    syncs = postgres.rows(db, "SELECT source, status FROM ingestion_syncrun ORDER BY source, id")
    per_source = 2 if aof else 1  # a second sync of a synced source finds nothing new
    assert syncs == [(name, "succeeded") for name in ("acme", "beta") for _ in range(per_source)], syncs
    runs = postgres.rows(db, "SELECT s.audience, r.status, r.attempts FROM reports_reportrun r "
                             "JOIN reports_reportschedule s ON s.id = r.schedule_id ORDER BY 1")  # fmt: skip
    assert runs == [("monthly@example.com", "sent", 1), ("weekly@example.com", "sent", 1)], runs
    assert len(mailbox.messages) == 2  # one e-mail per report period, whatever was queued twice
    assert sorted(b"monthly@example.com" in m for m in mailbox.messages) == [False, True]
    assert all(len(attachments(m)) == 1 for m in mailbox.messages)
    assert len(files_under(tmp_path / "var" / "reports")) == 2
    assert text.count("'status': 'skipped'") == (2 if aof else 0)  # the second delivery sent nothing


# --- 3. Disk full under the report archive ------------------------------------------------------------

SEED_REPORT = (
    SEED_SNAPSHOTS
    + """
import json
from metrics.reports.models import ReportSchedule
from metrics.reports.services import report_run_for, schedule_period
schedule = ReportSchedule.objects.create(name="Monthly brief", audience="cfo@example.com")
run, _ = report_run_for(schedule=schedule, period=schedule_period(schedule))
print(json.dumps(run.pk))
"""
)


def test_a_full_report_archive_fails_the_attempt_naming_it_and_the_retry_sends_one_report(
    postgres: PrivatePostgres, tmp_path: Path, smtp: tuple[Mailbox, int], tiny_disk: Path
) -> None:
    mailbox, port = smtp
    db = postgres.database("faults_disk_full")
    broker = PrivateRedis(tmp_path / "redis")
    broker.start()
    env = environment(postgres.url(db), broker.url, tmp_path / "var", **mail_env(port))
    run_id = shell(env, SEED_REPORT)
    filler = fill(tiny_disk)
    log = tmp_path / "worker.log"
    status = f"SELECT status, attempts, error, pdf_path FROM reports_reportrun WHERE id = {run_id}"  # noqa: S608
    try:
        worker = start_worker(env, log, "reports")
        try:
            send(broker.url, "sextant.reports.deliver", run_id, queue="reports")
            wait_for(
                lambda: postgres.rows(db, status)[0][1] >= 2 and postgres.rows(db, status)[0][0] == "queued",
                60,
                lambda: f"{postgres.rows(db, status)} {log.read_text()[-3000:]}",
            )
            state, attempts, error, pdf_path = postgres.rows(db, status)[0]
            # Every attempt so far is on record, naming the problem; nothing half-written, nothing sent.
            assert state == "queued"  # waiting for its retry
            assert error.count("No space left on device") == attempts, error
            assert "could not write the PDF" in error and "retrying in 1 s" in error, error
            assert files_under(tiny_disk) == ["filler"] and pdf_path == ""
            assert mailbox.messages == []

            filler.unlink()  # space is back
            wait_for(
                lambda: postgres.rows(db, status)[0][0] == "sent",
                60,
                lambda: f"{postgres.rows(db, status)} {log.read_text()[-3000:]}",
            )
            wait_for(lambda: broker.queued()["reports"] == 0, 10, lambda: "task left in the queue")
        finally:
            kill(worker)
    finally:
        broker.stop()
    _, attempts, error, pdf_path = postgres.rows(db, status)[0]
    assert attempts >= 3 and error.count("No space left on device") == attempts - 1
    assert len(mailbox.messages) == 1  # exactly one report, with its PDF
    (pdf,) = attachments(mailbox.messages[0])
    stored = (tiny_disk / pdf_path).read_bytes()
    assert files_under(tiny_disk) == [pdf_path]  # one whole file: no temporary leftovers
    assert stored.startswith(b"%PDF-") and b"%%EOF" in stored[-64:]
    assert pdf.get_payload(decode=True) == stored  # the archive keeps what was sent


@pytest.mark.django_db
def test_a_report_whose_archive_stays_full_fails_after_the_last_attempt_naming_it(
    tmp_path: Path, settings: Any, tiny_disk: Path, mailoutbox: list[Any]
) -> None:
    settings.VAR_DIR = tmp_path / "var"
    fill(tiny_disk)
    schedule = make_schedule()
    run, _ = report_run_for(schedule=schedule, period=schedule_period(schedule))
    ReportRun.objects.filter(pk=run.pk).update(attempts=MAX_ATTEMPTS - 1)
    assert report_run_execute(run_id=run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == "failed" and run.attempts == MAX_ATTEMPTS
    assert "No space left on device" in run.error and f"gave up after {MAX_ATTEMPTS} attempts" in run.error
    assert files_under(tiny_disk) == ["filler"] and mailoutbox == []


# --- a delivery under way whose task message is gone (its worker died and the broker lost the message) ---


@pytest.mark.django_db
def test_runs_left_rendering_or_sending_by_a_lost_task_are_picked_up_after_the_lease(
    tmp_path: Path, settings: Any, mailoutbox: list[Any]
) -> None:
    settings.VAR_DIR = tmp_path / "var"
    october = period_containing("monthly", dt.date(2026, 10, 1))
    long_ago, just_now = timezone.now() - LEASE - dt.timedelta(minutes=1), timezone.now()
    runs = {}
    for name, status, started in (
        ("Rendering", "rendering", long_ago),
        ("Sending", "sending", long_ago),
        ("Busy", "rendering", just_now),  # a live attempt: left alone
    ):
        run, _ = report_run_for(
            schedule=make_schedule(name=name, audience=f"{name.lower()}@example.com"), period=october
        )
        ReportRun.objects.filter(pk=run.pk).update(status=status, started_at=started, attempts=1)
        runs[name] = run.pk
    assert sorted(reports_due()) == sorted([runs["Rendering"], runs["Sending"]])
    assert report_run_execute(run_id=runs["Rendering"]) == "sent"  # rendered again and sent
    assert report_run_execute(run_id=runs["Sending"]) == "failed"  # may have gone out: never sent twice
    assert "may or may not have been delivered" in ReportRun.objects.get(pk=runs["Sending"]).error
    assert [m.to for m in mailoutbox] == [["rendering@example.com"]]
    assert reports_due() == []
