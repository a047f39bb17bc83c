"""``manage.py import_prs FILE``: pull requests from a CSV or JSON Lines file (see connectors/pr_file.py).

The file is read twice, as a stream: once to check every row (nothing is stored when any is wrong),
once to store them in batches inside one transaction.  Memory stays flat whatever the file's size; a
progress bar (by bytes read, on stderr) shows both passes of a long file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from connectors.base import ConnectorError
from connectors.file_rows import Progress
from connectors.pr_file import check_pull_requests, pull_request_batches
from metrics.ingestion.file_import import pull_requests_store
from metrics.ingestion.recompute import recompute_request

PROGRESS_FROM = 1_000_000  # bytes: a smaller file is read in well under a second


class Command(BaseCommand):
    help = (
        "Import pull requests from a CSV or JSON Lines (.jsonl/.ndjson) file; re-importing updates them. "
        "Required columns: repository, number, title, author, created_at."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="a .csv, .jsonl or .ndjson file")

    @contextmanager
    def _progress(self, path: Path, stage: str) -> Iterator[Progress | None]:
        try:
            size = path.stat().st_size
        except OSError:
            size = 0  # the reader names the problem
        if size < PROGRESS_FROM:
            yield None
            return
        # The underlying stream: Django's OutputWrapper would end every redraw with a newline.
        with tqdm(
            desc=f"{stage} {path.name}",
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=self.stderr._out,
            leave=False,
            mininterval=0.5,
        ) as bar:
            yield bar.update

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            with self._progress(path, "checking") as progress:
                count = check_pull_requests(path, progress)
            with self._progress(path, "storing") as progress:
                counts = pull_requests_store(pull_request_batches(path, progress)).counts
        except ConnectorError as exc:
            raise CommandError(str(exc)) from exc
        outcome = recompute_request(reason=f"import_prs {path}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {count} pull requests from {path}: {counts.get('prs_new', 0)} new, "
                f"{counts.get('prs_updated', 0)} updated, {counts.get('reverts', 0)} reverts, "
                f"{counts.get('ai_assisted_prs', 0)} AI-assisted; {outcome}."
            )
        )
