"""``manage.py import_incidents FILE``: incidents from a CSV or JSON Lines file (columns: id, service or
repository, started_at, resolved_at, severity, deployment_id, sha; connectors/delivery_file.py).  All or
nothing: a file with bad rows is rejected whole, each bad line named.  Each incident is linked to the
deployment that caused it (analytics/delivery.py: link_incidents)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from connectors.delivery_file import read_incidents
from metrics.ingestion.management.commands._csv_command import CsvFileCommand
from metrics.ingestion.models import Incident
from metrics.ingestion.recompute import recompute_request
from metrics.ingestion.services import records_ingest


class Command(CsvFileCommand):
    help = (
        "Import incidents from a CSV or JSON Lines file with columns id, service or repository, started_at, "
        "resolved_at, severity, deployment_id, sha (and optional title, url); every bad row is reported with "
        "its line and column and nothing is stored until the file is clean."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        records = self.read(read_incidents, path)
        if not records:
            raise CommandError(f"{path}: the file holds no rows")
        summary = records_ingest(records=records)
        outcome = recompute_request(reason=f"import_incidents {path}")
        ids = [r.external_id for r in records]
        linked = Incident.objects.filter(source="file", external_id__in=ids, deployment__isnull=False).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {summary.counts.get('incidents', 0)} incidents from {path} ({linked} linked to a "
                f"deployment); {outcome}."
            )
        )
