"""``manage.py import_seats FILE.csv``: seats paid for per AI tool and month (columns tool, month as
YYYY-MM, seats: connectors/seats_csv.py), for tools whose API does not report seats.  All or nothing;
importing the same file again changes nothing.  An entered count wins over API seat assignments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from connectors.seats_csv import read_seat_counts
from metrics.ingestion.management.commands._csv_command import CsvFileCommand
from metrics.ingestion.recompute import recompute_request
from metrics.ingestion.seats import seat_counts_set


class Command(CsvFileCommand):
    help = (
        "Import the seats paid for per AI tool and month from a CSV file with columns tool, month (YYYY-MM) "
        "and seats (a whole number); every bad row is reported with its line and column and nothing is "
        "stored until the file is clean. Spend = seats x the tool's monthly seat price (Settings > AI tools)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        records = self.read(read_seat_counts, path)
        if not records:
            raise CommandError(f"{path}: the file holds no rows (columns: tool, month, seats)")
        new, updated = seat_counts_set(records=records, source="csv")
        # Seats feed only the spend of the ROI rows: the AI-impact part of the recompute is enough.
        outcome = recompute_request(reason=f"import_seats {path}", part="ai_impact")
        tools = len({r.tool.casefold() for r in records})
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported seats for {len(records)} tool-months of {tools} tools from {path} "
                f"({new} new, {updated} updated); {outcome}."
            )
        )
