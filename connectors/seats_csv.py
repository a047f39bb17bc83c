"""Seats paid for per AI tool and month, from a CSV file (what the invoices say), for ``import_seats``.

UTF-8 (optional byte-order mark), a header line, one row per tool and month.  Column names are
case-insensitive; unknown columns are ignored.

| column  | required | value                                                                   |
|---------|----------|-------------------------------------------------------------------------|
| `tool`  | yes      | the tool's name, e.g. `Cursor`; at most 50 characters                    |
| `month` | yes      | `YYYY-MM`, from 1970 to the current month                                |
| `seats` | yes      | a whole number, 0 or more                                               |

The same tool and month twice is an error.  Every problem in the file is reported at once, each with its
line and column; nothing is imported until the file is clean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from connectors.ai_usage_csv import parse_tool
from connectors.file_rows import Cells, Problems, csv_rows, parse_count, parse_text

REQUIRED = ("tool", "month", "seats")
_MONTH = re.compile(r"\d{4}-\d{2}")


@dataclass(frozen=True, slots=True)
class SeatCountRecord:
    tool: str
    month: date  # the first day of the month
    seats: int


def parse_month(value: object, *, today: date | None = None) -> date:
    """``YYYY-MM`` -> the first day of that month; months before 1970 or after the current one are refused
    (seats of a month that has not begun are a plan, not spend)."""
    text = parse_text(value)
    if not _MONTH.fullmatch(text):
        raise ValueError(f"{text!r} is not a month such as 2026-10 (YYYY-MM)")
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r} is not a month (01 to 12)")
    today = today or datetime.now(UTC).date()
    if year < 1970 or (year, month) > (today.year, today.month):
        raise ValueError(f"{text!r} is outside 1970-01 to {today:%Y-%m}")
    return date(year, month, 1)


def parse_seats(value: object) -> int:
    return parse_count(value)


def read_seat_counts(path: Path) -> list[SeatCountRecord]:
    """Every row of the file as a record, or a ConnectorError listing every problem (line and column)."""
    problems = Problems(path)
    records: list[SeatCountRecord] = []
    first_line: dict[tuple[str, date], int] = {}
    for line, values in csv_rows(path, REQUIRED, problems):
        cells = Cells(problems, line, values)
        tool = cells.required("tool", parse_tool, "")
        month = cells.required("month", parse_month, date.min)
        seats = cells.required("seats", parse_seats, 0)
        if not cells.ok:
            continue
        key = (tool.casefold(), month)
        if key in first_line:
            earlier = first_line[key]
            problems.add(line, "month", f"{tool!r} already has seats for {month:%Y-%m} on line {earlier}")
            continue
        first_line[key] = line
        records.append(SeatCountRecord(tool=tool, month=month, seats=seats))
    problems.raise_if_any()
    return records
