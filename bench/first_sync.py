#!/usr/bin/env python
"""Benchmark: a first sync of one large repository through the fake GitHub; is the time per page flat?

Serves one repository with 20,000 pull requests (reviews, commits, comments; real HTTP on 127.0.0.1,
tests/fakes) and runs ``source_sync`` (the service behind ``manage.py sync`` and the Celery task) into a
fresh database (SQLite, or DATABASE_URL), timing each page's store (one transaction: records upserted,
checkpoint saved).  A store that reads the repository's whole PR table for each page grows with the
pages already stored (a quadratic first sync); one that reads only its page stays flat.

Prints the mean store time of the first and the last tenth of the pages and their ratio (target: last /
first <= 1.5), and, as the baseline measured in the same run, what deriving the whole repository
(reverts, AI flags) once costs at the end: every page paid that before (a quadratic first sync, issue 14).

Usage: python bench/first_sync.py [--prs 20000] [--page-size 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.github_requests import setup_django  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prs", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(tmp)
        from connectors.records import PullRequestRecord
        from metrics.ingestion import sync
        from metrics.ingestion.derive import repository_derive
        from metrics.ingestion.models import PullRequest
        from metrics.ingestion.sync_sources import source_create
        from tests.fakes.github import FakeGitHub
        from tests.fakes.github_data import populate, populate_teams

        stores: list[float] = []
        store = sync._store

        def timed_store(source: object, batch: list, *a: object) -> None:
            started = time.perf_counter()
            store(source, batch, *a)  # type: ignore[arg-type]
            if any(isinstance(r, PullRequestRecord) for r in batch):  # pages of PRs, not of teams
                stores.append(time.perf_counter() - started)

        sync._store = timed_store  # type: ignore[assignment]
        start = datetime.now(UTC) - timedelta(hours=2 * args.prs + 48)  # every date in the past
        with FakeGitHub() as gh:
            populate(gh, "acme/big", prs=args.prs, seed=7, start=start)
            populate_teams(gh, "acme")
            source = source_create(
                kind="github",
                name="bench",
                secret="test-token",  # noqa: S106 - the fake's token
                options={"org": "acme", "api_url": gh.url, "page_size": args.page_size},
            )
            began = time.perf_counter()
            run = sync.source_sync(source=source)
            total = time.perf_counter() - began
        assert run.status == "succeeded", run.error
        stored = PullRequest.objects.count()
        assert stored == args.prs, stored
        began = time.perf_counter()
        repository_derive(repository=PullRequest.objects.first().repository)  # type: ignore[union-attr]
        whole_derive = time.perf_counter() - began
    tenth = max(1, len(stores) // 10)
    first, last = statistics.mean(stores[:tenth]), statistics.mean(stores[-tenth:])
    print(f"first sync: {stored} PRs in {len(stores)} page stores, {total:.1f} s in all")
    print(
        f"store per page: first tenth {first * 1000:.1f} ms, last tenth {last * 1000:.1f} ms, "
        f"median {statistics.median(stores) * 1000:.1f} ms"
    )
    verdict = "met" if last / first <= 1.5 else "MISSED"
    print(f"ratio last/first: {last / first:.2f} (target <= 1.5: {verdict})")
    print(
        f"baseline: deriving the whole repository once (reverts, AI flags; what every page paid before): "
        f"{whole_derive * 1000:.1f} ms = {whole_derive / statistics.median(stores):.1f}x a page's store"
    )
    return 0 if last / first <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
