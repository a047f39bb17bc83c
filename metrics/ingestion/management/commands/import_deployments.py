"""``manage.py import_deployments FILE``: deployments from a CSV or JSON Lines file (columns: id, repository,
environment, sha, started_at, finished_at, status; connectors/delivery_file.py).  All or nothing: a file
with bad rows is rejected whole, each bad line named.  Importing the same file again changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from connectors.delivery_file import read_deployments
from metrics.ingestion.management.commands._csv_command import CsvFileCommand
from metrics.ingestion.recompute import recompute_request
from metrics.ingestion.services import records_ingest


class Command(CsvFileCommand):
    help = (
        "Import deployments from a CSV or JSON Lines file with columns id, repository, environment, sha, "
        "started_at, finished_at, status (and optional production, url); every bad row is reported with its "
        "line and column and nothing is stored until the file is clean."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        records = self.read(read_deployments, path)
        if not records:
            raise CommandError(f"{path}: the file holds no rows")
        summary = records_ingest(records=records)
        outcome = recompute_request(reason=f"import_deployments {path}")
        production = sum(1 for r in records if r.is_production)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {summary.counts.get('deployments', 0)} deployments ({production} to production) "
                f"from {path}; {outcome}."
            )
        )
