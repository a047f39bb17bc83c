"""``manage.py import_ai_usage FILE.csv``: daily usage of AI tools without a connector (columns:
connectors/ai_usage_csv.py).  Idempotent: rows upsert on (tool, user, day)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.ai_usage_csv import read_ai_usage
from metrics.ingestion.management.commands._csv_command import CsvFileCommand
from metrics.ingestion.models import AIUsageDay
from metrics.ingestion.recompute import recompute_request
from metrics.ingestion.services import records_ingest


class Command(CsvFileCommand):
    help = (
        "Import daily AI-tool usage (Cursor, Claude Code, Codex, ...) from a CSV file with columns date, "
        "user (login or e-mail), tool, active (true/false, 1/0, yes/no) and an optional cost; every bad "
        "row is reported with its line and column and nothing is stored until the file is clean."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        records = self.read(read_ai_usage, path)
        before = AIUsageDay.objects.count()
        stored = records_ingest(records=records).counts.get("ai_usage_days", 0)
        new = AIUsageDay.objects.count() - before
        people = len({record.user.key for record in records if record.user is not None})
        tools = len({record.tool.casefold() for record in records})
        # Usage decides adoption levels (snapshot rows), detection coverage and ROI users: a full recompute.
        outcome = recompute_request(reason=f"import_ai_usage {path}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {stored} daily usage rows of {people} people and {tools} tools from {path} "
                f"({new} new, {stored - new} updated); {outcome}."
            )
        )
