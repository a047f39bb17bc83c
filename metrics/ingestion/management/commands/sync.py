"""manage.py sync NAME [--repo OWNER/REPO] [--full]: run a source's sync in the foreground.

The same service (``metrics.ingestion.sync.source_sync``) as the Celery task: checkpointed, resumable,
recorded as a SyncRun.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from connectors.base import ConnectorError
from metrics.core.models import DataSource
from metrics.ingestion.sync import source_sync


class _Bar:
    """One tqdm bar per stage, on stderr (stdout keeps the summary line)."""

    def __init__(self, out: Any, quiet: bool) -> None:
        self.out, self.quiet = out, quiet
        self.bar: tqdm | None = None
        self.stage = ""

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self.quiet:
            return
        if stage != self.stage:
            self.close()
            self.bar = tqdm(desc=stage, total=total, unit=" items", file=self.out, leave=False)
            self.stage = stage
        if self.bar is not None:
            self.bar.total = total
            self.bar.n = done
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def summary(name: str, counts: dict[str, Any], error: str) -> str:
    c = {
        k: counts.get(k, 0)
        for k in (
            "prs_new",
            "prs_updated",
            "commits_new",
            "reviews",
            "deployments",
            "memberships",
            "api_requests",
            "api_not_modified",
        )
    }
    line = (
        f"{name}: {c['prs_new']} new and {c['prs_updated']} updated PRs, {c['commits_new']} new commits, "
        f"{c['reviews']} reviews, {c['deployments']} deployments, {c['memberships']} team memberships; "
        f"{c['api_requests']} API requests ({c['api_not_modified']} not modified)"
    )
    return line + (f"; problems: {error}" if error else "")


class Command(BaseCommand):
    help = "Sync one data source now, in the foreground (same service as the scheduled sync)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="source name (see `manage.py list_sources`)")
        parser.add_argument("--repo", default="", help="only this repository (OWNER/REPO)")
        parser.add_argument("--full", action="store_true", help="forget bookmarks: read everything again")

    def handle(self, *args: Any, **options: Any) -> None:
        source = DataSource.objects.filter(name=options["name"]).first()
        if source is None:
            raise CommandError(f"no source named {options['name']!r}; see `manage.py list_sources`")
        if options["full"]:
            source.checkpoint = {}
            source.save(update_fields=["checkpoint"])
        bar = _Bar(self.stderr._out, quiet=options["verbosity"] == 0)
        try:
            run = source_sync(source=source, progress=bar, repository=options["repo"])
        except ConnectorError as exc:
            raise CommandError(f"sync of {source.name} failed: {exc}") from None
        finally:
            bar.close()
        self.stdout.write(summary(source.name, run.counts, run.error))
