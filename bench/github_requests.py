#!/usr/bin/env python
"""Benchmark: GitHub API requests per 100 pull requests, first sync and no-change re-sync.

Serves an organization with 5,000 pull requests (their commits, reviews, comments, deployments; one in
250 is a large one that needs extra pages of commits and reviews) and three teams from the local fake
GitHub (tests/fakes, real HTTP on 127.0.0.1), then runs ``source_sync`` (the service behind
``manage.py sync`` and the Celery task) into a fresh SQLite database twice, counting the requests the
server received.  Targets: at most 3 requests per 100 pull requests on the first sync, at most 2
requests per repository on a re-sync with nothing changed.

Usage: python bench/github_requests.py [--prs 5000] [--repos 1] [--page-size 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(tmp: str, database_url: str = "") -> None:
    """Django on a fresh SQLite database in ``tmp``, or on ``database_url`` (migrated here)."""
    from cryptography.fernet import Fernet

    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ["SEXTANT_VAR_DIR"] = tmp
    os.environ["SEXTANT_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metrics.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", "--noinput", verbosity=0)


def report(label: str, requests: int, not_modified: int, prs: int, repos: int, seconds: float) -> float:
    per_100 = requests / prs * 100
    print(
        f"{label:<22} {requests:>6} requests ({not_modified} answered 304)  "
        f"{per_100:6.2f} per 100 PRs  {requests / repos:6.2f} per repository  {seconds:6.1f}s"
    )
    return per_100


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prs", type=int, default=5000)
    parser.add_argument("--repos", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(tmp)
        from metrics.ingestion.models import PullRequest
        from metrics.ingestion.sync import source_sync
        from metrics.ingestion.sync_sources import source_create
        from tests.fakes.github import FakeGitHub
        from tests.fakes.github_data import populate, populate_teams

        with FakeGitHub() as gh:
            per_repo = args.prs // args.repos
            for i in range(args.repos):
                populate(gh, f"acme/repo{i + 1}", prs=per_repo, seed=i + 1, big_every=250)
            populate_teams(gh, "acme")
            prs = per_repo * args.repos
            source = source_create(
                kind="github",
                name="bench",
                secret="test-token",  # noqa: S106 - the fake server's token
                options={"org": "acme", "api_url": gh.url, "page_size": args.page_size},
            )
            print(
                f"fake GitHub: {prs} pull requests in {args.repos} repositories, 3 teams; page size "
                f"{args.page_size}"
            )
            results = []
            for label in ("first sync", "no-change re-sync", "  ... teams refresh due"):
                if label.endswith("due"):  # teams are re-read every 6 hours: conditional requests, 304s
                    source.refresh_from_db()
                    source.checkpoint["teams"]["synced_at"] = "2000-01-01T00:00:00+00:00"
                    source.save(update_fields=["checkpoint"])
                gh.server.reset_log()
                started = time.perf_counter()
                run = source_sync(source=source)
                elapsed = time.perf_counter() - started
                assert run.status == "succeeded", run.error
                results.append(
                    report(label, gh.server.count(), gh.server.count(status=304), prs, args.repos, elapsed)
                )
                if label == "first sync":
                    assert PullRequest.objects.count() == prs
                    graphql = gh.server.count("POST")
                    print(
                        f"{'':<22} {graphql} GraphQL ({gh.operation_count('PullRequests')} pages of pull "
                        f"requests, {gh.operation_count('PullRequestRest')} for large ones), "
                        f"{gh.server.count('GET')} REST"
                    )
                elif label == "no-change re-sync":
                    resync_per_repo = gh.server.count() / args.repos
    first_ok, resync_ok = results[0] <= 3, resync_per_repo <= 2
    print(
        f"targets: first sync <= 3 per 100 PRs: {'met' if first_ok else 'MISSED'}; "
        f"no-change re-sync <= 2 per repository: {'met' if resync_ok else 'MISSED'}"
    )
    return 0 if first_ok and resync_ok else 1


if __name__ == "__main__":
    sys.exit(main())
