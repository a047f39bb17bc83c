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
without an offset is an error, because guessing the time zone would shift every duration.  Empty cells
(or JSON `null`) mean "unknown".  Every problem in the file is reported at once, each with its line
and column, and nothing is imported until the file is clean.

The generic helpers here (reading, CSV rows with line numbers, problem collection, value parsers)
are shared with :mod:`connectors.teams_csv`.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from connectors.base import ConnectorError
from connectors.records import IdentityRecord, PullRequestRecord

T = TypeVar("T")
MAX_SHOWN = 20

REQUIRED = ("repository", "number", "title", "author", "created_at")
TIMESTAMPS = (
    "created_at", "ready_at", "first_commit_at", "first_review_at", "approved_at", "merged_at", "closed_at",
)
COUNTS = ("additions", "deletions", "changed_files")
COLUMNS = (*REQUIRED, *TIMESTAMPS[1:], *COUNTS, "head_branch", "labels", "reverts", "ai_tool")

Row = tuple[int, dict[str, object]]
"""(line number, column name -> raw value): a CSV cell is a str, a JSON value anything."""

_WHOLE = re.compile(r"[+-]?\d+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LABEL_SEP = re.compile(r"[;|]")


class Problems:
    """Every problem found in one file, raised together so the user fixes the file in one go."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[tuple[int, str, str]] = []

    def add(self, line: int, column: str | int, message: str) -> None:
        where = f"column {column}" if isinstance(column, int) else f"column '{column}'"
        self.items.append((line, where, message))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        items = sorted(self.items, key=lambda item: item[0])  # stable: a line's problems keep their order
        if len(items) == 1:
            line, where, message = items[0]
            raise ConnectorError(f"{self.path}, line {line}, {where}: {message}")
        shown = "; ".join(f"line {line}, {where}: {message}" for line, where, message in items[:MAX_SHOWN])
        more = f"; and {len(items) - MAX_SHOWN} more" if len(items) > MAX_SHOWN else ""
        raise ConnectorError(
            f"{self.path}: {len(items)} problems, fix them all and import again: {shown}{more}"
        )


class Cells:
    """One row's raw values.  A value that does not parse is added to ``problems`` and spoils the row."""

    def __init__(self, problems: Problems, line: int, values: Mapping[str, object]) -> None:
        self.problems = problems
        self.line = line
        self.values = values
        self.ok = True

    def fail(self, column: str, message: str) -> None:
        self.ok = False
        self.problems.add(self.line, column, message)

    def optional(self, column: str, parse: Callable[[object], T]) -> T | None:
        value = self.values.get(column)
        if is_blank(value):
            return None
        try:
            return parse(value)
        except ValueError as exc:
            self.fail(column, str(exc))
            return None

    def required(self, column: str, parse: Callable[[object], T], placeholder: T) -> T:
        if is_blank(self.values.get(column)):
            self.fail(column, "required, but missing" if column not in self.values else "required, but empty")
            return placeholder
        parsed = self.optional(column, parse)
        return placeholder if parsed is None else parsed


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_text(path: Path) -> str:
    """The file's text (UTF-8, optional BOM), or a ConnectorError naming the file and why not."""
    if path.is_dir():
        raise ConnectorError(f"{path}: is a directory, not a file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConnectorError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConnectorError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise ConnectorError(
            f"{path}, line {line}, column {column}: not UTF-8 (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8"
        ) from None
    if not text.strip():
        raise ConnectorError(f"{path}: the file is empty")
    return text


def csv_rows(path: Path, text: str, required: tuple[str, ...], one_of: tuple[str, ...] = ()) -> list[Row]:
    """The rows under the header; blank lines are skipped, a row's line is the one where it starts.

    The header must name every ``required`` column and at least one of ``one_of``; that is checked
    before any row, since without those columns every row would fail.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] = []
    rows: list[Row] = []
    problems = Problems(path)
    start = 1
    try:
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not any(field.strip() for field in fields):
                continue
            if not header:
                header = _header(path, line, fields, required, one_of)
                continue
            if len(fields) > len(header) and any(field.strip() for field in fields[len(header):]):
                problems.add(line, len(header) + 1, f"{len(fields)} fields, but the header has {len(header)}")
                continue
            padded = [*fields, *[""] * (len(header) - len(fields))][: len(header)]
            cells = zip(header, padded, strict=True)
            rows.append((line, {name: value.strip() for name, value in cells if name}))
    except csv.Error as exc:
        # ``start`` is where the broken row begins (an unclosed quote makes csv read to the end).
        raise ConnectorError(f"{path}, line {start}: malformed CSV row ({exc})") from None
    problems.raise_if_any()
    return rows


def _header(path: Path, line: int, fields: list[str], required: tuple[str, ...],
            one_of: tuple[str, ...]) -> list[str]:
    names = [field.strip().lower() for field in fields]
    twice = sorted({name for name in names if name and names.count(name) > 1})
    if twice:
        raise ConnectorError(f"{path}, line {line}: column(s) {_quoted(twice)} appear twice in the header")
    missing = [_quoted([name]) for name in required if name not in names]
    if one_of and not any(name in names for name in one_of):
        missing.append(_quoted(list(one_of), " or "))
    if missing:
        raise ConnectorError(
            f"{path}, line {line}: missing required column(s) {', '.join(missing)}; "
            f"the header has {_quoted([name for name in names if name]) or 'no names'}"
        )
    return names


def _quoted(names: list[str], separator: str = ", ") -> str:
    return separator.join(f"'{name}'" for name in names)


def jsonl_rows(path: Path, text: str, problems: Problems) -> list[Row]:
    """One object per non-blank line; a malformed line is a problem at its line and character column."""
    rows: list[Row] = []
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and friends verbatim.
    for line, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.add(line, exc.colno, f"malformed JSON ({exc.msg})")
            continue
        if not isinstance(value, dict):
            problems.add(line, 1, f"expected a JSON object, got {_kind(value)}")
            continue
        rows.append((line, {str(key).strip().lower(): item for key, item in value.items()}))
    return rows


def _kind(value: object) -> str:
    names = {list: "a list", dict: "an object", bool: "true/false", str: "text"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def parse_text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected text, got {_kind(value)}")


def _whole(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        return int(value)
    raise ValueError(f"{value!r} is not a whole number")


def parse_count(value: object) -> int:
    number = _whole(value)
    if number < 0:
        raise ValueError(f"{number} is negative (counts are 0 or more)")
    return number


def parse_number(value: object) -> int:
    number = _whole(value)
    if number < 1:
        raise ValueError(f"{number} is not a pull request number (1 or more)")
    return number


def parse_timestamp(value: object) -> datetime:
    """ISO 8601 with a UTC offset; the offset is kept (author local time means something)."""
    text = parse_text(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 timestamp such as 2024-05-01T09:30:00+02:00") from None
    if parsed.utcoffset() is None:
        raise ValueError(f"{text!r} has no UTC offset (add one, such as Z or +02:00)")
    return parsed


def parse_date_or_timestamp(value: object) -> datetime:
    """A plain date (``2024-05-01``, meaning 00:00 UTC) or a timestamp with an offset."""
    text = parse_text(value)
    if _DATE.fullmatch(text):
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(f"{text!r} is not a valid date") from None
    return parse_timestamp(text)


def parse_labels(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        items = _LABEL_SEP.split(value)
    elif isinstance(value, list):
        items = [parse_text(item) for item in value if item is not None]
    else:
        raise ValueError(f"expected a list of labels, got {_kind(value)}")
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
        repository=repository, number=number, title=title, author=_author(author),
        state="merged" if merged_at else "closed" if closed_at else "open",
        created_at=created_at, ready_at=stamps["ready_at"], first_commit_at=stamps["first_commit_at"],
        first_review_at=stamps["first_review_at"], approved_at=stamps["approved_at"],
        merged_at=merged_at, closed_at=closed_at,
        additions=counts["additions"], deletions=counts["deletions"], changed_files=counts["changed_files"],
        head_branch=head_branch, labels=labels, merge_style="file", reverts_number=reverts, ai_tool=ai_tool,
    )


def _is_jsonl(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson"}:
        return True
    return suffix != ".csv" and text.lstrip().startswith("{")


def _key(values: Mapping[str, object]) -> tuple[str, int] | None:
    """(repository, number) even of an otherwise bad row, so that duplicates are reported in the same run."""
    try:
        key = parse_text(values.get("repository")), parse_number(values.get("number"))
    except ValueError:
        return None
    return key if key[0] else None


def read_pull_requests(path: Path) -> list[PullRequestRecord]:
    """Every pull request in the file, or a ConnectorError listing every problem (line and column)."""
    text = read_text(path)
    problems = Problems(path)
    rows = jsonl_rows(path, text, problems) if _is_jsonl(path, text) else csv_rows(path, text, REQUIRED)
    records: list[PullRequestRecord] = []
    first_line: dict[tuple[str, int], int] = {}
    for line, values in rows:
        record = _pull_request(Cells(problems, line, values))
        key = _key(values)
        if key is not None and key in first_line:
            problems.add(line, "number", f"{key[0]}#{key[1]} already appears on line {first_line[key]} "
                                         "(each pull request may appear once)")
        elif key is not None:
            first_line[key] = line
        if record is not None:
            records.append(record)
    problems.raise_if_any()
    return records
