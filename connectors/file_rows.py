"""Reading import files row by row: UTF-8 lines, CSV and JSON Lines rows, problems with line and column.

Files are read as a stream (one line at a time), never whole: a 200 MB export must not need gigabytes
of memory.  Every check is linear in the size of the file (a header of a million columns included).
Hostile content gets a one-line error naming line and column: bytes that are not UTF-8, malformed
CSV, JSON nested too deeply, numbers too long to be numbers.  The value parsers shared by the
importers (text, whole numbers within the database's integer range, timestamps within the range of
believable dates, connectors/timebounds.py) live here too.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from itertools import zip_longest
from pathlib import Path
from typing import TypeVar

from connectors import timebounds
from connectors.base import ConnectorError

T = TypeVar("T")
MAX_SHOWN = 20
MAX_KEPT = 1000  # problems kept for the message; a file of a million bad rows must not hold them all
MAX_INTEGER = 2**31 - 1  # the database's integer columns (PostgreSQL ``integer``)

Row = tuple[int, dict[str, object]]
"""(line number, column name -> raw value): a CSV cell is a str, a JSON value anything."""
Progress = Callable[[int], None]
"""Called with the number of bytes just read."""

_WHOLE = re.compile(r"[+-]?\d+")
# C0 controls but tab and line ends, and DEL: no export has them in a title or a name; NUL cannot even be
# stored by PostgreSQL, and escape sequences would act on the terminal that shows the value.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Problems:
    """Every problem found in one file, raised together so the user fixes the file in one go."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[tuple[int, str, str]] = []
        self.count = 0

    def add(self, line: int, column: str | int, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_KEPT:
            where = f"column {column}" if isinstance(column, int) else f"column '{column}'"
            self.items.append((line, where, _one_line(message)))

    def raise_if_any(self) -> None:
        if not self.count:
            return
        items = sorted(self.items, key=lambda item: item[0])  # stable: a line's problems keep their order
        if self.count == 1:
            line, where, message = items[0]
            raise ConnectorError(f"{self.path}, line {line}, {where}: {message}")
        shown = "; ".join(f"line {line}, {where}: {message}" for line, where, message in items[:MAX_SHOWN])
        more = f"; and {self.count - MAX_SHOWN} more" if self.count > MAX_SHOWN else ""
        raise ConnectorError(
            f"{self.path}: {self.count} problems, fix them all and import again: {shown}{more}"
        )


def _one_line(message: str) -> str:
    """Control characters (a newline in a cell) would split the error over lines or forge new ones."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message)


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


def memoized(parse: Callable[[object], T], limit: int = 10_000) -> Callable[[object], T]:
    """``parse`` remembering what it returned for each text (a file repeats its dates and small counts
    row after row); an error is raised anew each time, and after ``limit`` distinct texts the rest are
    parsed without being kept.  Make one per file: a parser whose answer depends on the time (``believable``
    dates) must not outlive the import."""
    seen: dict[str, T] = {}

    def parse_once(value: object) -> T:
        if type(value) is not str:
            return parse(value)
        if value in seen:
            return seen[value]
        parsed = parse(value)
        if len(seen) < limit:
            seen[value] = parsed
        return parsed

    return parse_once


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _opened(path: Path):  # type: ignore[no-untyped-def]
    if path.is_dir():
        raise ConnectorError(f"{path}: is a directory, not a file")
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise ConnectorError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConnectorError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def lines(path: Path, progress: Progress | None = None) -> Iterator[tuple[int, str]]:
    """(line number, text with its line end) of a UTF-8 file (optional BOM), one line in memory at a time.

    Lines end at ``\\n`` only, as JSON Lines and CSV (``\\r\\n``) files do; U+2028 and friends inside
    JSON strings stay where they are.  An empty file, or bytes that are not UTF-8, are a ConnectorError.
    """
    blank = True
    with _opened(path) as handle:
        for number, raw in enumerate(handle, start=1):
            if progress is not None:
                progress(len(raw))
            offset = 0
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw, offset = raw[len(codecs.BOM_UTF8) :], len(codecs.BOM_UTF8)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ConnectorError(
                    f"{path}, line {number}, column {exc.start + offset + 1}: not UTF-8 "
                    f"(byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
                ) from None
            blank = blank and not text.strip()
            yield number, text
    if blank:
        raise ConnectorError(f"{path}: the file is empty")


def read_text(path: Path) -> str:
    """A small file's whole text (UTF-8, optional BOM), or a ConnectorError naming the file and why not."""
    return "".join(text for _, text in lines(path))


def first_nonblank(path: Path) -> str:
    """The first non-blank line (an error when there is none), to sniff a file's format."""
    for _, text in lines(path):
        if text.strip():
            return text
    raise ConnectorError(f"{path}: the file is empty")  # pragma: no cover - lines() raises first


def csv_rows(
    path: Path,
    required: tuple[str, ...],
    problems: Problems,
    *,
    one_of: tuple[str, ...] = (),
    progress: Progress | None = None,
) -> Iterator[Row]:
    """The rows under the header, streamed; blank lines are skipped, a row's line is the one where it starts.

    The header must name every ``required`` column and at least one of ``one_of``; that is checked
    before any row, since without those columns every row would fail.  A row with more fields than the
    header is a problem (added to ``problems``, the row is skipped).
    """
    source = lines(path, progress)
    reader = csv.reader((text for _, text in source), strict=True)
    header: list[str] = []
    start = 1
    try:
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not any(field.strip() for field in fields):
                continue
            if not header:
                header = _header(path, line, fields, required, one_of)
                continue
            if len(fields) > len(header) and any(field.strip() for field in fields[len(header) :]):
                problems.add(line, len(header) + 1, f"{len(fields)} fields, but the header has {len(header)}")
                continue
            cells = zip_longest(header, fields, fillvalue="")  # a short row: the missing cells are empty
            yield line, {name: value.strip() for name, value in cells if name}
    except csv.Error as exc:
        # ``start`` is where the broken row begins (an unclosed quote makes csv read to the end).
        raise ConnectorError(f"{path}, line {start}: malformed CSV row ({_one_line(str(exc))})") from None


def _header(
    path: Path, line: int, fields: list[str], required: tuple[str, ...], one_of: tuple[str, ...]
) -> list[str]:
    names = [field.strip().lower() for field in fields]
    counts = Counter(name for name in names if name)  # linear: names.count() per name was quadratic
    twice = sorted(name for name, count in counts.items() if count > 1)
    if twice:
        raise ConnectorError(
            f"{path}, line {line}: column(s) {quoted(twice[:MAX_SHOWN])}"
            f"{' and more' if len(twice) > MAX_SHOWN else ''} appear twice in the header"
        )
    missing = [quoted([name]) for name in required if name not in counts]
    if one_of and not any(name in counts for name in one_of):
        missing.append(quoted(list(one_of), " or "))
    if missing:
        shown = [name for name in names if name]
        more = f" and {len(shown) - MAX_SHOWN} more" if len(shown) > MAX_SHOWN else ""
        raise ConnectorError(
            f"{path}, line {line}: missing required column(s) {', '.join(missing)}; "
            f"the header has {quoted(shown[:MAX_SHOWN]) + more or 'no names'}"
        )
    return names


def quoted(names: Iterable[str], separator: str = ", ") -> str:
    return separator.join(f"'{_one_line(name)}'" for name in names)


def jsonl_rows(path: Path, problems: Problems, progress: Progress | None = None) -> Iterator[Row]:
    """One object per non-blank line, streamed; a malformed line is a problem at its line and column."""
    for line, raw in lines(path, progress):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.add(line, exc.colno, f"malformed JSON ({exc.msg})")
            continue
        except RecursionError:
            problems.add(line, 1, "JSON nested too deeply (a row is one flat object)")
            continue
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            problems.add(line, 1, f"malformed JSON ({str(exc)[:80]})")
            continue
        if not isinstance(value, dict):
            problems.add(line, 1, f"expected a JSON object, got {kind(value)}")
            continue
        yield line, {str(key).strip().lower(): item for key, item in value.items()}


def kind(value: object) -> str:
    names = {list: "a list", dict: "an object", bool: "true/false", str: "text"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def parse_text(value: object) -> str:
    if isinstance(value, str):
        control = _CONTROL.search(value)
        if control:
            raise ValueError(
                f"contains the control character U+{ord(control.group()):04X} "
                f"at character {control.start() + 1}"
            )
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected text, got {kind(value)}")


def _whole(value: object) -> int:
    text = value.strip() if isinstance(value, str) else ""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif _WHOLE.fullmatch(text) and len(text) > 20:  # int() of 5,000 digits is slow, then refused
        raise ValueError(f"{text[:20]}... is too large (at most {MAX_INTEGER})")
    elif _WHOLE.fullmatch(text):
        number = int(text)
    else:
        raise ValueError(f"{repr(value)[:40]} is not a whole number")
    if abs(number) > MAX_INTEGER:
        raise ValueError(
            f"{str(number)[:20]}{'...' if len(str(number)) > 20 else ''} is too large (at most {MAX_INTEGER})"
        )
    return number


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


def parse_amount(value: object, *, allowed: str, high: float = math.inf, noun: str = "number") -> float:
    """A finite number from 0 to ``high``.  Errors: "'x' is not a <noun>", "'50' is not <allowed>"."""
    text = parse_text(value)
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a {noun}") from None
    if not (math.isfinite(number) and 0 <= number <= high):  # nan, inf (1e999) and negatives too
        raise ValueError(f"{text!r} is not {allowed}")
    return number


def believable(moment: datetime, *, planned: bool = False) -> datetime:
    """``moment`` when it is within the believed range (connectors/timebounds.py), else a ValueError."""
    why = timebounds.out_of_range(moment, planned=planned)
    if why is not None:
        raise ValueError(
            f"{why}; dates must be from 1970 on{'' if planned else ' and at most a day after the import'}"
        )
    return moment


def parse_timestamp(value: object, *, planned: bool = False) -> datetime:
    """ISO 8601 with a UTC offset, in the believed range; the offset is kept (local time means something)."""
    text = parse_text(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        example = "2024-05-01T09:30:00+02:00"
        raise ValueError(f"{text[:60]!r} is not an ISO 8601 timestamp such as {example}") from None
    if parsed.utcoffset() is None:
        raise ValueError(f"{text!r} has no UTC offset (add one, such as Z or +02:00)")
    return believable(parsed, planned=planned)


def parse_date_or_timestamp(value: object, *, planned: bool = False) -> datetime:
    """A plain date (``2024-05-01``, 00:00 UTC) or a timestamp with an offset, in the believed range."""
    text = parse_text(value)
    if _DATE.fullmatch(text):
        try:
            day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(f"{text!r} is not a valid date") from None
        return believable(day, planned=planned)
    return parse_timestamp(text, planned=planned)
