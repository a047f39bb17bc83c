"""Shared fixtures.  Tests run on SQLite by default and on PostgreSQL when DATABASE_URL says so (CI)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.celery_worker import WorkerDatabase
from tests.fakes.gitlab import fast
from tests.fakes.server import FakeApiServer

# Fails the run if a secret reaches a log line, a response, an error or a command output (issue 7).
pytest_plugins = ["tests.secret_canary"]

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


# The suite's kinds, in one place (pyproject registers the markers; `make test-fast` leaves these out,
# `make test` runs them all).  By file or test id prefix, relative to the project root.
KINDS: dict[str, tuple[str, ...]] = {
    "browser": ("tests/e2e/",),
    "worker": (  # real Celery workers, Redis, PostgreSQL restarts
        "tests/ingestion/test_worker.py",
        "tests/ingestion/test_analytics_queue.py",
        "tests/reports/test_worker.py",
        "tests/reports/test_chat_worker.py",
        "tests/ops/test_faults.py",
        "tests/ops/test_load.py",
    ),
    "realdata": ("tests/realdata/",),
    "statistical": (  # planted truths over many seeds
        "tests/analytics/test_ai_impact_validation.py",
        "tests/ingestion/test_incremental_property.py",  # 200 random change sequences: minutes
    ),
    "slow": (  # subprocesses (manage.py, gunicorn), large files, fuzzing: seconds each
        "tests/api/test_export_schema.py::test_schemathesis",
        "tests/ingestion/test_hostile_files.py",
        "tests/ops/test_healthz.py",
        "tests/ops/test_deployment_files.py",
        "tests/ops/test_access_logs.py",
        "tests/ops/test_backup.py",
        "tests/core/test_dependency_audit.py",
        "tests/core/test_var_permissions.py",
        "tests/ingestion/test_import_git.py::test_cli",
        "tests/analytics/test_phase_identity_full_demo.py",  # the full default demo (10 teams, 12 months)
        "tests/ingestion/test_demo_first_run.py",  # the full default demo (10 teams, 12 months): tens of s
        "tests/ingestion/test_recompute_path.py::test_manage_recompute_queue",  # manage.py subprocesses
        "tests/api/test_mcp.py",  # the MCP client against live_server, on the demo loaded per test
    ),
    # A second or more each, in-process (measured with --durations on this machine): the demo loaded per
    # test, reports rendered to PDF, the generated access matrix, experiments analysed on the demo.  Out of
    # the developer loop like slow, but run against PostgreSQL in CI too (they read through the ORM).
    "heavy": (
        "tests/web/test_access_matrix.py::test_user_role_matrix",  # every URL x parameters, per role
        "tests/ingestion/test_experiments.py",
        "tests/reports/test_seat_spend.py",
        "tests/reports/test_demo_report.py",
        "tests/reports/test_chat_delivery.py",
        "tests/reports/test_schedule_actions.py::test_send_now",
        "tests/reports/test_delivery.py",
        "tests/reports/test_chat_provisional_demo.py",
        "tests/reports/test_delivery_section.py",
        "tests/reports/test_provisional_demo.py",
        "tests/reports/test_experiments_section.py",
        "tests/connectors/test_demo.py::TestDeterminism",
        "tests/ingestion/test_ai_impact_service.py",
        "tests/ingestion/test_github_app_sync.py",
        "tests/ingestion/test_load_demo.py",
        "tests/ingestion/test_load_demo_settings.py",
        "tests/connectors/test_file_rows.py::test_a_million_columns",
        "tests/api/test_ai_export.py::test_ai_impact_rows_match_the_table",
        "tests/ops/test_secret_canary.py",
        "tests/web/test_phase_breakdown.py",
        "tests/ingestion/test_hostile_git.py",
        "tests/web/test_experiments_pages.py::test_admin_plans",
        "tests/ingestion/test_recompute_path.py::test_metric_snapshot_rows_have_one_writer",
        "tests/connectors/test_gitlab_ingest.py::TestSourceSync::test_a_resync",
        # Fault and resume tests that wait out retries, timeouts and backoff (a second or more each).
        "tests/connectors/test_github.py::test_transient_faults_are_survived_with_exact_results",
        "tests/connectors/test_github_auth.py::test_a_token_near_its_expiry",
        "tests/connectors/test_gitlab.py::TestFaults::test_429_5xx",
        "tests/connectors/test_gitlab_incidents.py::test_incidents_exactly_through_pages_and_faults",
        "tests/connectors/test_copilot.py::TestFaults::test_429_502",
        "tests/connectors/test_demo.py::TestContent::test_counts_are_in_the_documented_ranges",
        "tests/ingestion/test_sync.py::test_a_killed_sync_resumes",
        "tests/ingestion/test_sync.py::test_repositories_stored_by_a_killed_run",
        "tests/ingestion/test_sync.py::test_a_repository_deleted_mid_sync",
        "tests/ingestion/test_sync_commands.py::test_sync_command_runs_the_service",
        "tests/ingestion/test_recompute_path.py::test_manage_recompute_computes_here",
        "tests/ingestion/test_recompute_path.py::test_nothing_on_the_request_path_imports",
        "tests/ingestion/test_recompute_path.py::test_only_the_recompute_module_starts",
        "tests/ops/test_operations.py::test_healthz_is_503_when_the_broker_is_unreachable",
        "tests/web/test_csp.py::test_no_page_runs_an_inline_script",
        "tests/reports/test_schedule_actions.py::test_preview_renders",
    ),
}


def pytest_configure(config: pytest.Config) -> None:
    """Per-process speed-ups that change nothing a test looks at (each xdist worker runs this too)."""
    from django.conf import settings
    from whitenoise.middleware import WhiteNoiseMiddleware

    # The default PBKDF2 costs about 0.3 s a password here (pytest-django's admin_user sets one); what the
    # suite tests is not the hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    # WhiteNoise (WHITENOISE_USE_FINDERS) walks and stats every static file each time a middleware chain
    # is built: once per process in production, but once per test client here.  Walk once per process.
    scanned: dict[str, dict[str, Any]] = {}
    walk = WhiteNoiseMiddleware.add_files_from_finders

    def walk_once(self: WhiteNoiseMiddleware) -> None:
        if self.static_prefix not in scanned:
            files, self.files = self.files, {}
            walk(self)
            scanned[self.static_prefix], self.files = self.files, files
        self.files.update(scanned[self.static_prefix])

    WhiteNoiseMiddleware.add_files_from_finders = walk_once  # type: ignore[method-assign]


# The longest first, so that neither core is left with a long test at the end of a run: the 200 MB import
# and the real histories, then the kinds in this order, then the rest (each in collection order).  `make
# test` passes --dist loadgroup, which hands out one test at a time (--dist load would give one worker a
# block of consecutive tests: all the long ones).
FIRST = ("tests/ingestion/test_large_import.py", "tests/realdata/")
KIND_ORDER = ("worker", "browser", "statistical", "slow", "heavy")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank: dict[str, int] = {}
    for item in items:
        nodeid = item.nodeid
        kinds = [kind for kind, prefixes in KINDS.items() if nodeid.startswith(prefixes)]
        for kind in kinds:
            item.add_marker(getattr(pytest.mark, kind))
        ordered = [KIND_ORDER.index(kind) for kind in kinds if kind in KIND_ORDER]
        rank[nodeid] = -1 if nodeid.startswith(FIRST) else min(ordered, default=len(KIND_ORDER))
    items.sort(key=lambda item: rank[item.nodeid])  # stable: collection order within a rank


class GitRepo:
    """A real git repository built with the git CLI, with full control over dates and identities."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._n = 0
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, env: dict[str, str] | None = None, input: bytes | None = None) -> str:
        full_env = {
            **os.environ,
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(self.path),
            "GIT_AUTHOR_NAME": "Alice",
            "GIT_AUTHOR_EMAIL": "alice@example.com",
            "GIT_COMMITTER_NAME": "Alice",
            "GIT_COMMITTER_EMAIL": "alice@example.com",
            **(env or {}),
        }
        out = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", *args],
            cwd=self.path,
            env=full_env,
            check=True,
            capture_output=True,
            input=input,
        )
        return out.stdout.decode("utf-8", "replace").strip()

    def commit(
        self,
        message: str,
        *,
        date: str,
        author: tuple[str, str] = ("Alice", "alice@example.com"),
        committer: tuple[str, str] | None = None,
        commit_date: str | None = None,
        files: dict[str, int] | None = None,
    ) -> str:
        """Commit ``files`` (path -> number of lines to append; default: one new file of 1 line)."""
        self._n += 1
        for name, lines in (files or {f"file{self._n}.txt": 1}).items():
            p = self.path / name
            p.parent.mkdir(parents=True, exist_ok=True)
            with p.open("a", encoding="utf-8") as fh:
                fh.writelines(f"line {self._n}.{i}\n" for i in range(lines))
            self.git("add", name)
        committer = committer or author
        self.git(
            "commit",
            "-q",
            "--allow-empty",
            "-F",
            "-",
            input=message.encode("utf-8"),
            env=self._ident_env(author, committer, date, commit_date or date),
        )
        return self.git("rev-parse", "HEAD")

    def merge(
        self,
        branch: str,
        message: str,
        *,
        date: str,
        author: tuple[str, str] = ("Merger", "merger@example.com"),
        extra: tuple[str, ...] = (),
    ) -> str:
        self.git(
            "merge",
            "-q",
            "--no-ff",
            "-m",
            message,
            *extra,
            branch,
            env=self._ident_env(author, author, date, date),
        )
        return self.git("rev-parse", "HEAD")

    @staticmethod
    def _ident_env(
        author: tuple[str, str], committer: tuple[str, str], adate: str, cdate: str
    ) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": author[0],
            "GIT_AUTHOR_EMAIL": author[1],
            "GIT_AUTHOR_DATE": adate,
            "GIT_COMMITTER_NAME": committer[0],
            "GIT_COMMITTER_EMAIL": committer[1],
            "GIT_COMMITTER_DATE": cdate,
        }


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def make_git_repo(tmp_path: Path) -> Callable[[str], GitRepo]:
    def make(name: str) -> GitRepo:
        return GitRepo(tmp_path / name)

    return make


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED} is missing: CI must have ../shared beside the project")
        pytest.skip(f"real data not available: {SHARED} is absent")
    return SHARED


@pytest.fixture(scope="module")
def small_demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The demo organization (``load_demo --small --seed 7``: the same generator with 4 teams and 6 months),
    committed once per test module and flushed after it, for tests that read it (a test's own writes are
    rolled back as usual).  Loading it in every test cost most of the developer loop's time."""
    from io import StringIO

    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("load_demo", "--small", "--seed", "7", verbosity=0, stdout=StringIO(), stderr=StringIO())
        try:
            yield
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def worker_db(tmp_path: Path) -> Iterator[WorkerDatabase]:
    """An empty database for a real Celery worker (tests/celery_worker.py), dropped afterwards."""
    db = WorkerDatabase(tmp_path)
    db.create()
    try:
        yield db
    finally:
        db.drop()


@pytest.fixture(scope="module")
def server() -> Iterator[FakeApiServer]:
    """A fake vendor API on 127.0.0.1 (tests/fakes/server.py), one a test module: starting one a test
    would cost more than the tests."""
    with FakeApiServer() as running:
        yield fast(running)


@pytest.fixture
def fresh_server(server: FakeApiServer) -> FakeApiServer:
    """The module's fake API with no routes, faults or logged requests left by the test before."""
    server.routes.clear()
    server.faults.clear()
    server.reset_log()
    return server
