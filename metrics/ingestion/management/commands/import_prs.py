"""``manage.py import_prs FILE``: pull requests from a CSV or JSON Lines file (see connectors/pr_file.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.base import ConnectorError
from connectors.pr_file import read_pull_requests
from metrics.ingestion.services import records_ingest
from metrics.ingestion.snapshots import snapshots_recompute


class Command(BaseCommand):
    help = (
        "Import pull requests from a CSV or JSON Lines (.jsonl/.ndjson) file; re-importing updates them. "
        "Required columns: repository, number, title, author, created_at."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a .csv, .jsonl or .ndjson file")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            records = read_pull_requests(path)
        except ConnectorError as exc:
            raise CommandError(str(exc)) from exc
        counts = records_ingest(records=records).counts
        snapshots = snapshots_recompute()
        self.stdout.write(self.style.SUCCESS(
            f"Imported {len(records)} pull requests from {path}: {counts.get('prs_new', 0)} new, "
            f"{counts.get('prs_updated', 0)} updated, {counts.get('reverts', 0)} reverts, "
            f"{counts.get('ai_assisted_prs', 0)} AI-assisted; {snapshots} snapshots recomputed."
        ))
