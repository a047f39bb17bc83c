"""``manage.py import_teams FILE.csv``: teams and dated memberships (columns: connectors/teams_csv.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.teams_csv import read_memberships
from metrics.ingestion.management.commands._csv_command import CsvFileCommand
from metrics.ingestion.recompute import recompute_request
from metrics.ingestion.services import records_ingest


class Command(CsvFileCommand):
    help = (
        "Import teams and dated memberships from a CSV file with columns team, parent_team, name, "
        "email, login, start, end; rows sharing an e-mail or login are one person."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        records = self.read(read_memberships, path)
        counts = records_ingest(records=records).counts
        outcome = recompute_request(reason=f"import_teams {path}")
        teams = len({record.team.casefold() for record in records})
        people = len({min(identity.key for identity in record.identities) for record in records})
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {counts.get('memberships', 0)} memberships of {people} people in {teams} teams "
                f"from {path}; {outcome}."
            )
        )
