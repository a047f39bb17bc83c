"""Storing a large file of pull requests batch by batch, all or nothing (``manage.py import_prs``).

``records_ingest`` takes every record at once and re-derives the touched repositories per call; a
200 MB export is read in batches instead (connectors/pr_file.py), each stored as it comes, all inside
one transaction, and each repository derived once at the end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction

from connectors.records import PullRequestRecord, RepositoryRecord
from metrics.core.models import Repository
from metrics.ingestion.derive import repository_derive
from metrics.ingestion.services import IngestSummary, pull_requests_upsert, repository_upsert


def pull_requests_store(batches: Iterable[list[PullRequestRecord]]) -> IngestSummary:
    """Upsert every batch, then derive reverts and AI flags of each touched repository, in one transaction:
    an error raised by ``batches`` (a file that changed since it was checked) stores nothing."""
    summary = IngestSummary()
    repos: dict[str, Repository] = {}
    with transaction.atomic():
        for batch in batches:
            by_repo: dict[str, list[PullRequestRecord]] = defaultdict(list)
            for record in batch:
                by_repo[record.repository].append(record)
            for name, records in by_repo.items():
                if name not in repos:
                    repos[name] = repository_upsert(record=RepositoryRecord(full_name=name))
                new, updated = pull_requests_upsert(repository=repos[name], records=records)
                summary.add("prs_new", new)
                summary.add("prs_updated", updated)
        for repository in repos.values():
            for key, value in repository_derive(repository=repository).items():
                summary.add(key, value)
    return summary
