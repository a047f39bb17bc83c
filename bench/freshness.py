#!/usr/bin/env python
"""Benchmark: from a signed GitHub webhook to the merged PR on ``/api/v1/metrics/``, at 1,000,000 PRs.

Builds the PostgreSQL database of DATABASE_URL as ``bench/pages.py`` does (500 teams, 5,000 engineers,
50 repositories, N PRs over 104 weeks; --rows, kept between runs, --rebuild to redo), replaces its
planted snapshots by a full recompute (timed: the baseline, with its peak RSS), gives ``bench/repo-1`` an
owning team, and connects it as a GitHub source with a webhook secret, served by the fake GitHub of the
tests (``tests/fakes/github.py``, a real HTTP server on 127.0.0.1).  A real Celery worker (prefork, queues
sync, analytics and analytics_models, on the Redis of CELERY_BROKER_URL) serves the webhooks' syncs and
recomputes.

Then, one every --every seconds, --deliveries times: a PR is merged on the fake GitHub and its signed
``pull_request`` delivery is POSTed to ``/webhooks/github`` (Django's whole stack, in this process).  For
each delivery: the time from its HTTP response to the moment ``/api/v1/metrics/`` (polled every 0.1 s)
counts it in the owning team's week (``merged_prs``).  Prints p50/p95 (target p95 < 5 s) beside the
full recompute measured in the same run, and the ratio.

The timed full recompute (``snapshots_recompute``, what the analytics worker runs) is measured in a fresh
child process (``--recompute-child``), so its peak RSS is the recompute's own (the interpreter, the
libraries, one recompute), not this process's built data and test client: wall and CPU seconds, peak RSS
and the RSS after each stage (the AI-impact models, then the cells) are printed.  ``--recompute-only``
stops after it (no worker, no deliveries: no CELERY_BROKER_URL needed).

``--skip-full`` leaves out the timed full recompute when an earlier run stored one (for iterating on the
deliveries; no ratio is printed then).  The worker's log (INFO) gives each sync's and each recompute's
seconds; their phases are logged at DEBUG (``metrics.ingestion.sync``, ``metrics.ingestion.incremental``).

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/sextant_fresh_bench \\
       CELERY_BROKER_URL=redis://127.0.0.1:6379/4 python bench/freshness.py [--rows N] [--deliveries 50]
       DATABASE_URL=... python bench/freshness.py --recompute-only   # the full recompute's time and memory
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metrics.settings")
os.environ.setdefault("ALLOWED_HOSTS", "localhost")
os.environ.setdefault("LOG_LEVEL", "WARNING")
SECRET = "bench-webhook-secret"  # noqa: S105 - the fake source's webhook secret, made up here
REPO = "bench/repo-1"
TEAM_ID = 26  # the first leaf team of bench/pages.py's tree ("team-1")


def setup(*, worker: bool = True) -> dict[str, str]:
    from cryptography.fernet import Fernet

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL database")
    if worker and not os.environ.get("CELERY_BROKER_URL"):
        sys.exit("CELERY_BROKER_URL must name a Redis database (the worker's broker)")
    os.environ.setdefault("SEXTANT_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    os.environ["MODELS_DEBOUNCE_SECONDS"] = os.environ.get("MODELS_DEBOUNCE_SECONDS", "30")
    import django

    django.setup()
    return dict(os.environ)


def forget_deliveries(rows: int) -> None:
    """Remove what an earlier run added (its webhook PRs, the source), so the built data is reused."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ingestion_pullrequest WHERE number > %s", [rows])
    from metrics.core.models import DataSource

    DataSource.objects.filter(name="bench").delete()


def full_recompute() -> tuple[float, float]:
    """Seconds of a full recompute of everything, and its peak RSS (GB), measured in a fresh process."""
    child = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--recompute-child"],
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode:
        sys.exit(f"the full recompute failed:\n{child.stderr[-3000:]}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    stages = ", ".join(f"{name} {mb:,.0f} MB" for name, mb in result["stages"])
    print(
        f"full recompute (fresh process): {result['rows']:,} snapshot rows in {result['seconds']:.1f} s "
        f"({result['cpu']:.1f} s CPU), peak RSS {result['peak_mb']:,.0f} MB; RSS at start "
        f"{result['start_mb']:,.0f} MB, after each stage: {stages}",
        flush=True,
    )
    return result["seconds"], result["peak_mb"] / 1024


# The stages of ``snapshots_recompute`` whose RSS the child reports (module-level names it calls).
STAGES = ("impact_frame", "ai_impact_recompute", "pr_inputs", "snapshot_rows", "write_snapshots")


def recompute_child() -> None:
    """One ``snapshots_recompute`` in this fresh process; prints its figures as JSON (the last line)."""
    setup(worker=False)
    from metrics.ingestion import snapshots

    def rss_mb() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    stages: list[tuple[str, float]] = []

    def noted(name: str, call: Callable[..., object]) -> Callable[..., object]:
        def after(*args: object, **kwargs: object) -> object:
            result = call(*args, **kwargs)
            stages.append((name, rss_mb()))
            return result

        return after

    for name in STAGES:
        setattr(snapshots, name, noted(name, getattr(snapshots, name)))
    start = rss_mb()
    began, cpu = time.perf_counter(), time.process_time()
    rows = snapshots.snapshots_recompute()
    figures = {
        "rows": rows,
        "seconds": time.perf_counter() - began,
        "cpu": time.process_time() - cpu,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "start_mb": start,
        "stages": stages,
    }
    print(json.dumps(figures))


def built_and_recomputed(args: argparse.Namespace) -> tuple[float, float]:
    """The bench database (built or reused) and the timed full recompute's seconds and peak RSS (GB),
    (0, 0) when ``--skip-full`` keeps an earlier one."""
    from bench.pages import build

    forget_deliveries(args.rows)
    build(args.rows, args.rebuild)
    return (0.0, 0.0) if args.skip_full and computed() else full_recompute()


def computed() -> bool:
    """Whether an earlier run's full recompute is stored (``--skip-full`` then keeps it)."""
    from metrics.ingestion.models import SnapshotState

    return SnapshotState.objects.filter(pk=1, cells_computed_at__isnull=False).exists()


def source(api_url: str) -> int:
    from metrics.core.models import Repository
    from metrics.ingestion.sync import source_sync
    from metrics.ingestion.sync_sources import source_create

    Repository.objects.filter(full_name=REPO).update(team_id=TEAM_ID)
    created = source_create(
        kind="github",
        name="bench",
        options={"repos": [REPO], "api_url": api_url, "backoff_seconds": 0.05},
        secret="test-token",  # noqa: S106 - the fake GitHub's token
        webhook_secret=SECRET,
    )
    source_sync(source=created)  # bookmarks set: a webhook's sync reads only what changed
    return created.pk


def merged_count(client: object, week: dt.date) -> int:
    response = client.get(  # type: ignore[attr-defined]
        "/api/v1/metrics/",
        {
            "scope": "team",
            "team": "team-1",
            "period": "week",
            "metric": "merged_prs",
            "since": week,
            "until": week,
        },
    )
    if response.status_code != 200:
        sys.exit(f"/api/v1/metrics/ answered {response.status_code}: {response.content[:300]!r}")
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return sum(
        int(r["n"]) for r in rows if r.get("team") in ("team-1", TEAM_ID) or r.get("team_id") == TEAM_ID
    )


def deliver(client: object, number: int, merged: dt.datetime) -> None:
    payload = {
        "action": "closed",
        "number": number,
        "pull_request": {"number": number, "merged": True, "merged_at": merged.isoformat()},
        "repository": {"full_name": REPO},
    }
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = client.post(  # type: ignore[attr-defined]
        "/webhooks/github",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature,
        HTTP_X_GITHUB_EVENT="pull_request",
        HTTP_X_GITHUB_DELIVERY=f"bench-{number}-{time.time_ns()}",
    )
    if response.status_code != 202:
        sys.exit(f"webhook answered {response.status_code}: {response.content[:300]!r}")


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--deliveries", type=int, default=50)
    parser.add_argument("--every", type=float, default=3.0, help="seconds between deliveries")
    parser.add_argument("--timeout", type=float, default=180.0, help="give up on a delivery after this")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--recompute-only", action="store_true", help="stop after the timed full recompute")
    parser.add_argument(
        "--skip-full",
        action="store_true",
        help="no timed full recompute when an earlier run left one (for iterating; prints no ratio)",
    )
    args = parser.parse_args()
    env = setup(worker=not args.recompute_only)

    from django.contrib.auth import get_user_model
    from django.test import Client

    from tests.celery_worker import kill, start_worker
    from tests.fakes.github import FakeGitHub, User
    from tests.fakes.github import PullRequest as FakePR

    full_seconds, full_peak = built_and_recomputed(args)
    if args.recompute_only:
        return
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    log = Path(tempfile.mkdtemp(prefix="freshness-")) / "worker.log"
    with FakeGitHub() as gh:
        repo = gh.add_repo(REPO)
        source(gh.url)
        worker = start_worker(env, log, "sync,analytics,analytics_models", concurrency=3)
        now = dt.datetime.now(dt.UTC)
        merged_at = now - dt.timedelta(minutes=5)
        week = (merged_at - dt.timedelta(days=merged_at.weekday())).date()
        base = merged_count(client, week)
        sent: dict[int, float] = {}
        seen: dict[int, float] = {}
        done = threading.Event()

        def watch() -> None:
            watcher = Client(HTTP_HOST="localhost")
            watcher.force_login(user)
            while not done.is_set():
                count = merged_count(watcher, week) - base
                moment = time.perf_counter()
                for k in list(sent):
                    if k < count and k not in seen:
                        seen[k] = moment
                time.sleep(0.1)

        first = args.rows + 1000

        def merge(number: int, k: int) -> None:
            author = User(login=f"newcomer{k % 7}", name=f"Newcomer {k % 7}")
            repo.prs[number] = FakePR(
                number=number,
                title=f"Bench change {number}",
                author=author,
                created_at=merged_at - dt.timedelta(hours=3),
                updated_at=dt.datetime.now(dt.UTC),  # after the source's bookmark: the sync reads it
                state="MERGED",
                merged_at=merged_at,
                closed_at=merged_at,
            )
            deliver(client, number, merged_at)

        # Warm-up, not timed: the first delivery after the build moves "data through" from the planted
        # history to now, which closes the revert window of weeks of PRs at once (a one-off).
        began = time.perf_counter()
        merge(first - 1, 99)
        while merged_count(client, week) - base < 1:
            time.sleep(0.2)
        print(f"warm-up delivery visible after {time.perf_counter() - began:.1f} s", flush=True)
        base += 1
        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        try:
            for k in range(args.deliveries):
                number = first + k
                merge(number, k)
                sent[k] = time.perf_counter()
                time.sleep(args.every)
            deadline = time.monotonic() + args.timeout
            while len(seen) < len(sent) and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            done.set()
            thread.join(timeout=10)
            kill(worker)
    latencies = [seen[k] - sent[k] for k in sorted(seen)]
    missing = len(sent) - len(seen)
    if len(latencies) < 2:
        sys.exit(f"only {len(latencies)} of {len(sent)} deliveries reached the metrics; worker log: {log}")
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(f"{len(sent)} deliveries, one every {args.every:.1f} s, {args.rows:,} PRs (worker log {log})")
    print(
        f"webhook response -> /api/v1/metrics/: p50 {p50:.2f} s, p95 {p95:.2f} s, max {max(latencies):.2f} s"
    )
    if missing:
        print(f"{missing} deliveries not visible within {args.timeout:.0f} s (counted as missing, not timed)")
    report_full(full_seconds, full_peak, p95)


def report_full(seconds: float, peak: float, p95: float) -> None:
    if seconds:
        print(f"full recompute in the same run: {seconds:.1f} s (peak RSS {peak:.2f} GB, fresh process)")
        print(f"p95 / full recompute: {p95 / seconds:.3f}")
    else:
        print("full recompute: skipped (--skip-full)")
    print(f"target p95 < 5 s: {'met' if p95 < 5 else 'NOT met'}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--recompute-child"]:
        recompute_child()
    else:
        main()
