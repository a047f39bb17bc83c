"""Pull requests from a file: CSV or JSON Lines, for hosts without a connector or exported history.

The format follows the extension (``.csv``; ``.jsonl`` or ``.ndjson``); any other name is sniffed:
a first character ``{`` means JSON Lines, anything else CSV.  Files are UTF-8, with or without a
byte-order mark.  A CSV file has a header line; a JSON Lines file has one object per line whose keys
are the column names.  Column names are case-insensitive; unknown columns are ignored.

| column            | required | value                                                                |
|-------------------|----------|----------------------------------------------------------------------|
| `repository`      | yes      | repository name, e.g. `acme/api`                                     |
| `number`          | yes      | PR number, a whole number >= 1; unique per repository in the file    |
| `title`           | yes      | PR title                                                             |
| `author`          | yes      | host login, or an e-mail address (anything containing `@`)           |
| `created_at`      | yes      | when the PR was opened                                               |
| `ready_at`        | no       | when it was marked ready for review (left draft)                     |
| `first_commit_at` | no       | when its first commit was authored                                   |
| `first_review_at` | no       | first review or comment by someone other than the author             |
| `approved_at`     | no       | (last) approval                                                      |
| `merged_at`       | no       | when merged; sets the state to `merged`                              |
| `closed_at`       | no       | when closed without merge; sets the state to `closed` (else `open`)  |
| `additions`       | no       | lines added, a whole number >= 0                                     |
| `deletions`       | no       | lines deleted, a whole number >= 0                                   |
| `changed_files`   | no       | files changed, a whole number >= 0                                   |
| `head_branch`     | no       | source branch (agent prefixes such as `copilot/` mark AI-assisted)   |
| `labels`          | no       | CSV: separated by `;` or `\\|`; JSON Lines: a list of strings         |
| `reverts`         | no       | number of the PR (same repository) that this PR reverts              |
| `ai_tool`         | no       | AI tool that helped write the PR, e.g. `copilot`, `claude`           |

Timestamps are ISO 8601 with a UTC offset (`2024-05-01T09:30:00+02:00`, or `Z` for UTC); a timestamp
without an offset is an error, because guessing the time zone would shift every duration.  Dates before
1970 or more than a day after the import are errors too (connectors/timebounds.py), and whole numbers
must fit the database (at most 2,147,483,647).  Empty cells (or JSON `null`) mean "unknown".  Every
problem in the file is reported at once, each with its line and column, and nothing is imported until
the file is clean.

The file is streamed (connectors/file_rows.py): :func:`check_pull_requests` reads it once to find every
problem, :func:`pull_request_batches` reads it again in batches to store; neither holds the whole file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from connectors.file_rows import (
    Cells,
    Problems,
    Progress,
    Row,
    csv_rows,
    first_nonblank,
    jsonl_rows,
    kind,
    parse_count,
    parse_number,
    parse_text,
    parse_timestamp,
)
from connectors.records import PR_TIMES, IdentityRecord, PullRequestRecord

REQUIRED = ("repository", "number", "title", "author", "created_at")
TIMESTAMPS = PR_TIMES
COUNTS = ("additions", "deletions", "changed_files")
COLUMNS = (*REQUIRED, *TIMESTAMPS[1:], *COUNTS, "head_branch", "labels", "reverts", "ai_tool")
BATCH = 2000

_LABEL_SEP = re.compile(r"[;|]")


def parse_labels(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        items = _LABEL_SEP.split(value)
    elif isinstance(value, list):
        items = [parse_text(item) for item in value if item is not None]
    else:
        raise ValueError(f"expected a list of labels, got {kind(value)}")
    return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))


def _author(login_or_email: str) -> IdentityRecord:
    if "@" in login_or_email:
        return IdentityRecord(email=login_or_email)
    return IdentityRecord(login=login_or_email)


def _pull_request(cells: Cells) -> PullRequestRecord | None:
    repository = cells.required("repository", parse_text, "")
    number = cells.required("number", parse_number, 0)
    title = cells.required("title", parse_text, "")
    author = cells.required("author", parse_text, "")
    created_at = cells.required("created_at", parse_timestamp, None)
    stamps = {column: cells.optional(column, parse_timestamp) for column in TIMESTAMPS[1:]}
    counts = {column: cells.optional(column, parse_count) for column in COUNTS}
    labels = cells.optional("labels", parse_labels) or ()
    reverts = cells.optional("reverts", parse_number)
    head_branch = cells.optional("head_branch", parse_text) or ""
    ai_tool = cells.optional("ai_tool", parse_text) or ""
    if not cells.ok:
        return None
    merged_at, closed_at = stamps["merged_at"], stamps["closed_at"]
    return PullRequestRecord(
        repository=repository,
        number=number,
        title=title,
        author=_author(author),
        state="merged" if merged_at else "closed" if closed_at else "open",
        created_at=created_at,
        ready_at=stamps["ready_at"],
        first_commit_at=stamps["first_commit_at"],
        first_review_at=stamps["first_review_at"],
        approved_at=stamps["approved_at"],
        merged_at=merged_at,
        closed_at=closed_at,
        additions=counts["additions"],
        deletions=counts["deletions"],
        changed_files=counts["changed_files"],
        head_branch=head_branch,
        labels=labels,
        merge_style="file",
        reverts_number=reverts,
        ai_tool=ai_tool,
    )


def _is_jsonl(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson"}:
        return True
    return suffix != ".csv" and first_nonblank(path).lstrip().lstrip("\ufeff").startswith("{")


def _key(values: Mapping[str, object]) -> tuple[str, int] | None:
    """(repository, number) even of an otherwise bad row, so that duplicates are reported in the same run."""
    try:
        key = parse_text(values.get("repository")), parse_number(values.get("number"))
    except ValueError:
        return None
    return key if key[0] else None


def _rows(path: Path, problems: Problems, progress: Progress | None) -> Iterator[Row]:
    if _is_jsonl(path):
        return jsonl_rows(path, problems, progress)
    return csv_rows(path, REQUIRED, problems, progress=progress)


def _pull_requests(path: Path, problems: Problems, progress: Progress | None) -> Iterator[PullRequestRecord]:
    """The file's good rows as records, streamed; every problem (duplicates too) goes to ``problems``."""
    # repository -> number -> first line: a dict of ints per repository, not a tuple per row.
    first_line: dict[str, dict[int, int]] = {}
    for line, values in _rows(path, problems, progress):
        record = _pull_request(Cells(problems, line, values))
        key = _key(values)
        if key is not None:
            seen = first_line.setdefault(key[0], {})
            if key[1] in seen:
                problems.add(
                    line,
                    "number",
                    f"{key[0]}#{key[1]} already appears on line {seen[key[1]]} "
                    "(each pull request may appear once)",
                )
                continue
            seen[key[1]] = line
        if record is not None:
            yield record


def check_pull_requests(path: Path, progress: Progress | None = None) -> int:
    """Read the whole file once; the number of pull requests, or a ConnectorError listing every problem."""
    problems = Problems(path)
    count = sum(1 for _ in _pull_requests(path, problems, progress))
    problems.raise_if_any()
    return count


def pull_request_batches(
    path: Path, progress: Progress | None = None, size: int = BATCH
) -> Iterator[list[PullRequestRecord]]:
    """The records of a checked file in batches of ``size``; a problem (the file changed since it was
    checked) raises a ConnectorError after the last batch, so that the caller's transaction rolls back."""
    problems = Problems(path)
    batch: list[PullRequestRecord] = []
    for record in _pull_requests(path, problems, progress):
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    problems.raise_if_any()
    if batch:
        yield batch


def read_pull_requests(path: Path) -> list[PullRequestRecord]:
    """Every pull request in the file, or a ConnectorError listing every problem (line and column)."""
    check_pull_requests(path)
    return [record for batch in pull_request_batches(path) for record in batch]
