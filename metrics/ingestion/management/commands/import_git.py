"""manage.py import_git PATH [--name owner/repo] [--team TEAM] [--branch main]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from connectors.base import ConnectorError
from metrics.ingestion.git_import import git_import


class Command(BaseCommand):
    help = "Import a git repository (working clone or bare mirror): commits, PRs, reverts, AI evidence."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--name", default="", help="repository name shown in Sextant, e.g. owner/repo")
        parser.add_argument("--team", default="", help="team that owns the repository (must exist)")
        parser.add_argument("--branch", default="", help="default branch (default: origin/HEAD, HEAD, main)")

    def handle(self, *args: Any, **options: Any) -> None:
        bar: tqdm | None = None
        stage_name = ""

        def progress(stage: str, done: int, total: int | None) -> None:
            nonlocal bar, stage_name
            if options["verbosity"] == 0:
                return
            if stage != stage_name:
                if bar is not None:
                    bar.close()
                bar = tqdm(desc=stage, total=total, unit=" items", file=self.stderr._out, leave=False)
                stage_name = stage
            if bar is not None:
                if total is not None:
                    bar.total = total
                bar.n = done
                bar.refresh()

        try:
            counts = git_import(
                path=options["path"],
                name=options["name"],
                team=options["team"],
                branch=options["branch"],
                progress=progress,
            )
        except ConnectorError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if bar is not None:
                bar.close()
        self.stdout.write(
            f"{counts['repository']}: {counts['commits']} commits ({counts['commits_new']} new), "
            f"{counts['prs']} PRs found ({counts['prs_merged']} merged, {counts['prs_new']} new), "
            f"{counts['reverts']} reverts, {counts['ai_assisted_prs']} AI-assisted PRs"
        )
        if counts["dates_discarded"]:
            self.stderr.write(
                f"warning: {counts['dates_discarded']} commit dates stored as unknown: unreadable, before "
                f"1970 or more than a day after this import (first: {counts['dates_example']})"
            )
