"""``manage.py import_teams FILE.csv``: teams and dated memberships (columns: connectors/teams_csv.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.base import ConnectorError
from connectors.teams_csv import read_memberships
from metrics.ingestion.recompute import recompute_request
from metrics.ingestion.services import records_ingest


class Command(BaseCommand):
    help = (
        "Import teams and dated memberships from a CSV file with columns team, parent_team, name, "
        "email, login, start, end; rows sharing an e-mail or login are one person."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a .csv file")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            records = read_memberships(path)
        except ConnectorError as exc:
            raise CommandError(str(exc)) from exc
        counts = records_ingest(records=records).counts
        outcome = recompute_request(reason=f"import_teams {path}")
        teams = len({record.team.casefold() for record in records})
        people = len({min(identity.key for identity in record.identities) for record in records})
        self.stdout.write(self.style.SUCCESS(
            f"Imported {counts.get('memberships', 0)} memberships of {people} people in {teams} teams "
            f"from {path}; {outcome}."
        ))
