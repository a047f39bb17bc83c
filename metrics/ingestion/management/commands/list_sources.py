"""manage.py list_sources: configured sources and their sync state (never a secret)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from metrics.core.models import DataSource
from metrics.ingestion.models import SyncRun
from metrics.ingestion.sync_sources import HALTED, WEBHOOK_SECRET_OPTION, source_target

COLUMNS = (
    "name",
    "kind",
    "target",
    "enabled",
    "every",
    "last success",
    "last run",
    "secret",
    "webhook",
    "error",
)


def _row(source: DataSource) -> tuple[str, ...]:
    run = SyncRun.objects.filter(data_source=source).order_by("-started_at", "-pk").first()
    last_run = f"{run.status} {run.started_at:%Y-%m-%d %H:%M}" if run else "never"
    error = (source.last_error or "").replace("\n", " ")
    if source.checkpoint.get(HALTED):
        error = "HALTED until the token is replaced: " + error
    return (
        source.name,
        source.kind,
        source_target(source),
        "yes" if source.enabled else "no",
        f"{source.sync_interval_minutes}m",
        f"{source.last_success_at:%Y-%m-%d %H:%M}" if source.last_success_at else "never",
        last_run,
        "set" if source.secret_encrypted else "-",
        "set" if source.options.get(WEBHOOK_SECRET_OPTION) else "-",
        error[:80] + ("..." if len(error) > 80 else ""),
    )


class Command(BaseCommand):
    help = "List the configured data sources and their sync state (secrets are never shown)."

    def handle(self, *args: Any, **options: Any) -> None:
        rows = [COLUMNS, *(_row(s) for s in DataSource.objects.order_by("name"))]
        if len(rows) == 1:
            self.stdout.write("no sources configured; add one with `manage.py add_source`")
            return
        widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
        for row in rows:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())
