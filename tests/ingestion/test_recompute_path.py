"""One recompute path (issue 14, item 3): every trigger asks ``metrics.ingestion.recompute``, which sends
the task by name (no ``sync`` <-> ``tasks`` cycle), computes inline only in embedded mode and always under
the lock; ``MetricSnapshot`` has one writer; ``manage.py recompute`` for operators."""

from __future__ import annotations

import ast
import datetime as dt
import json
import subprocess
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
import redis
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from metrics.core.models import Team
from metrics.ingestion.models import AIImpactEstimate, MetricSnapshot
from metrics.ingestion.snapshots import MODELS_LOCK
from tests import redis_dbs
from tests.factories import make_snapshot
from tests.ingestion.test_worker import PYTHON, ROOT, environment

PACKAGE = ROOT / "metrics"
RECOMPUTES = {
    "snapshots_recompute",
    "snapshots_recompute_if_stale",
    "ai_impact_recompute",
    "write_snapshots",
    "replace_rows",
    "cells_recompute",
    "models_recompute",
}
# Where the computations may be called: the recompute module, and inside the snapshot engine itself.
ALLOWED = {
    "metrics/ingestion/recompute.py": RECOMPUTES,
    "metrics/ingestion/snapshots.py": {
        "snapshots_recompute",
        "ai_impact_recompute",
        "write_snapshots",
        "replace_rows",
    },
    # the incremental engine: the cells of a change, and the organization-wide models apart
    "metrics/ingestion/incremental.py": {"snapshots_recompute", "ai_impact_recompute", "replace_rows"},
}
TRIGGERS = [
    "metrics/ingestion/sync.py",  # syncs, and through them webhook deliveries
    "metrics/ingestion/tasks.py",  # beat's tick when a request was lost
    "metrics/ingestion/git_import.py",
    "metrics/ingestion/management/commands/import_prs.py",
    "metrics/ingestion/management/commands/import_teams.py",
    "metrics/ingestion/management/commands/import_survey.py",
    "metrics/ingestion/management/commands/import_ai_usage.py",
    "metrics/ingestion/management/commands/load_demo.py",
    "metrics/web/setup_teams.py",
    "metrics/web/setup_org.py",
]
WRITES = {"create", "bulk_create", "update", "delete", "update_or_create", "get_or_create", "bulk_update"}


def _modules() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(ROOT)): ast.parse(path.read_text(encoding="utf-8"))
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
    }


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def test_only_the_recompute_module_starts_a_recompute_and_every_trigger_asks_it() -> None:
    modules = _modules()
    calls = {
        (name, _called(node))
        for name, tree in modules.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _called(node) in RECOMPUTES
    }
    strays = sorted((name, fn) for name, fn in calls if fn not in ALLOWED.get(name, set()))
    assert strays == []
    asks = {
        name
        for name, tree in modules.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _called(node) == "recompute_request"
    }
    assert set(TRIGGERS) - asks == set()


def test_nothing_on_the_request_path_imports_the_task_module() -> None:
    """The task is sent by name: the sync and the recompute module import no tasks (the old import cycle)."""
    modules = _modules()
    for name in ("sync.py", "recompute.py", "snapshots.py"):
        tree = modules[f"metrics/ingestion/{name}"]
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
        assert "metrics.ingestion.tasks" not in imported, name


def _root_is_snapshot_manager(node: ast.AST) -> bool:
    while isinstance(node, ast.Call | ast.Attribute):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "objects"
            and isinstance(node.value, ast.Name)
            and node.value.id == "MetricSnapshot"
        ):
            return True
        node = node.func if isinstance(node, ast.Call) else node.value
    return False


def test_metric_snapshot_rows_have_one_writer() -> None:
    writers = set()
    for name, tree in _modules().items():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in WRITES
                    and _root_is_snapshot_manager(node.func.value)
                ):
                    writers.add((name, function.name))
    # The one writer is ``snapshots.replace_rows`` (it deletes the rows a caller selects and inserts the
    # new ones in one transaction): no function writes through the manager itself.
    assert writers == set()
    tree = _modules()["metrics/ingestion/snapshots.py"]
    replace = next(f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "replace_rows")
    assert any(isinstance(n, ast.Attribute) and n.attr == "delete" for n in ast.walk(replace))


@pytest.mark.django_db
def test_manage_recompute_computes_here_and_summarizes() -> None:
    call_command("load_demo", "--seed", "7", "--small", stdout=StringIO(), stderr=StringIO())
    stale = make_snapshot(metric="merged_prs", value=1.0, period_start=dt.date(2001, 1, 1))
    out, err = StringIO(), StringIO()
    call_command("recompute", stdout=out, stderr=err)
    rows = MetricSnapshot.objects.count()
    assert not MetricSnapshot.objects.filter(pk=stale.pk).exists() and rows > 1000
    assert err.getvalue().startswith("Recomputing metrics from ")
    summary = out.getvalue().strip()
    assert summary.startswith("Recomputed metrics in ")
    assert f": {rows} snapshot rows, {AIImpactEstimate.objects.count()} AI-impact estimates, " in summary
    with pytest.raises(CommandError, match="--queue needs a broker"):
        call_command("recompute", "--queue")  # the tests' embedded mode has none


def _recompute_queue(tmp_path: Path, broker: str) -> subprocess.CompletedProcess[str]:
    env = {**environment(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path), "CELERY_BROKER_URL": broker}
    command = [PYTHON, "manage.py", "recompute", "--queue"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_manage_recompute_queue_sends_the_task_by_name_and_names_a_broker_down(tmp_path: Path) -> None:
    broker_url = redis_dbs.RECOMPUTE_QUEUE
    broker = redis.Redis.from_url(broker_url)
    broker.delete("analytics")
    done = _recompute_queue(tmp_path, broker_url)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "Metrics recompute queued on 'analytics'."
    assert broker.llen("analytics") == 1
    message = json.loads(broker.lpop("analytics"))
    assert message["headers"]["task"] == "sextant.analytics.snapshots_recompute"
    assert message["headers"]["kwargsrepr"] == "{'reason': 'manage.py recompute --queue'}"
    down = _recompute_queue(tmp_path, "redis://:hunter2-secret@127.0.0.1:9/0")
    assert down.returncode == 1
    assert "could not queue the metrics recompute: OperationalError: " in down.stderr
    assert "hunter2-secret" not in down.stderr + down.stdout


@pytest.mark.django_db
def test_adding_a_member_in_settings_recomputes(admin_client: Client) -> None:
    team = Team.objects.create(name="Platform", slug="platform")
    stale = make_snapshot(metric="merged_prs", value=1.0, period_start=dt.date(2001, 1, 1))
    response = admin_client.post(
        f"/settings/teams/{team.slug}/",
        {"action": "add", "identity": "ada@example.com", "start": "2026-01-05"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Member added; 0 snapshots recomputed." in response.content.decode()
    assert not MetricSnapshot.objects.filter(pk=stale.pk).exists()  # every row replaced by a recompute


@pytest.mark.django_db(transaction=True)
def test_a_cost_change_in_settings_recomputes_roi_under_the_lock(admin_client: Client) -> None:
    """The costs page recomputed the AI-impact tables without the lock, beside a running recompute."""
    if connection.vendor != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's (DATABASE_URL=postgres://...)")
    data = {"action": "knobs", "loaded_hourly_cost": "150", "engineering_hours_per_pr": "6"}
    started = time.monotonic()
    assert admin_client.post("/settings/costs/", data).status_code == 302  # warm: imports, first queries
    hold = max(2.0, 5 * (time.monotonic() - started))  # far longer than a save takes on this machine
    answers: list[tuple[int, float]] = []

    def save() -> None:
        try:
            answers.append((admin_client.post("/settings/costs/", data).status_code, time.monotonic()))
        finally:
            connection.close()  # this thread's connection

    with connection.cursor() as cursor:
        # the AI-impact tables' lock: a models recompute (or a full one, which holds it too) is running
        cursor.execute("SELECT pg_advisory_lock(%s)", [MODELS_LOCK])
    saver = threading.Thread(target=save)
    try:
        saver.start()
        saver.join(timeout=hold)
    finally:
        released = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MODELS_LOCK])
    saver.join(timeout=60)
    assert len(answers) == 1 and answers[0][0] == 302
    assert answers[0][1] >= released  # it waited for the running recompute to end
    assert AIImpactEstimate.objects.count() == 0  # no PRs: nothing to estimate, but the save went through
