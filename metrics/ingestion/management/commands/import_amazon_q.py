"""``manage.py import_amazon_q FILE.csv``: Amazon Q Developer's per-user daily activity report (columns:
connectors/amazon_q_csv.py).  Idempotent: rows upsert on (tool, user, day)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.amazon_q_csv import read_amazon_q
from metrics.ingestion.management.commands._csv_command import CsvFileCommand
from metrics.ingestion.recompute import recompute_request
from metrics.ingestion.services import records_ingest


class Command(CsvFileCommand):
    help = (
        "Import an Amazon Q Developer user activity report (the by_user_analytic CSV from S3: UserId, Date "
        "and the metric columns); every bad cell is reported with its line and column and nothing is "
        "stored until the file is clean."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        records = self.read(read_amazon_q, path)
        stored = records_ingest(records=records).counts.get("ai_usage_days", 0)
        people = len({record.user.key for record in records if record.user is not None})
        outcome = recompute_request(reason=f"import_amazon_q {path}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {stored} Amazon Q Developer usage days of {people} users from {path}; {outcome}."
            )
        )
