"""``manage.py import_survey FILE.csv --round NAME [--map field=Column ...] [--mapping FILE.json]``.

Survey answers exported from another tool, mapped onto the built-in question set (fields and mapping
format: connectors/survey_csv.py).  All or nothing: one bad row rejects the whole file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.base import ConnectorError
from connectors.survey_csv import FIELDS, mapping_from_file, mapping_from_pairs, read_survey_responses
from metrics.ingestion.recompute import recompute_request
from metrics.ingestion.surveys import SurveyError, survey_responses_import


class Command(BaseCommand):
    help = (
        "Import survey answers from a CSV file into a survey round (created when new). Map the file's "
        f"columns onto the fields {', '.join(FIELDS)} with --map field=Column or a --mapping JSON file; "
        "a column named like a field needs no mapping."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a .csv file exported from a survey tool")
        parser.add_argument(
            "--round",
            required=True,
            dest="round_name",
            help="name of the survey round the answers belong to (created when new)",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            dest="pairs",
            help="read FIELD from the CSV column COLUMN (repeatable; wins over --mapping)",
        )
        parser.add_argument(
            "--mapping",
            type=Path,
            default=None,
            help='JSON file: {"field": "Column", ...} or {"columns": {...}, "values": '
            '{"field": {"answer text": "value"}}}',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            base = mapping_from_file(options["mapping"]) if options["mapping"] else None
            mapping = mapping_from_pairs(options["pairs"], base)
            records = read_survey_responses(path, mapping)
            summary = survey_responses_import(records=records, round_name=options["round_name"])
        except (ConnectorError, SurveyError) as exc:
            raise CommandError(str(exc)) from exc
        state = "new round" if summary.round_created else "existing round"
        # Reported hours saved feed only the ROI table.
        outcome = recompute_request(reason=f"import_survey {path}", part="ai_impact")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {len(records)} responses from {path} into round {summary.survey_round.name!r} "
                f"({state}, id {summary.survey_round.pk}): {summary.new} new, {summary.updated} updated; "
                f"{summary.teams} teams; {outcome}."
            )
        )
