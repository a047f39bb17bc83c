"""Daily AI-tool usage from a CSV file, for tools without a connector (Cursor, Claude Code, Codex, ...).

UTF-8 (optional byte-order mark), a header line, one row per user, tool and day.  Column names are
case-insensitive; unknown columns are ignored.

| column   | required | value                                                                         |
|----------|----------|-------------------------------------------------------------------------------|
| `date`   | yes      | the day, `YYYY-MM-DD`, from 1970 to the day after the import                  |
| `user`   | yes      | the person's host login, or e-mail address (anything containing `@`)          |
| `tool`   | yes      | the tool's name, e.g. `Cursor`, `Claude Code` (matched to configured AI tools |
|          |          | without regard to case when stored); at most 50 characters                    |
| `active` | yes      | whether the user used the tool that day: `true`/`false`, `1`/`0`, `yes`/`no`  |
| `cost`   | no       | what that day's use cost, a number >= 0 (e.g. `1.25`), in the tool's currency |

The same user, tool and day twice is an error.  Every problem in the file is reported at once, each with
its line and column; nothing is imported until the file is clean.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from pathlib import Path

from connectors.file_rows import Cells, Problems, believable, csv_rows, parse_amount, parse_text
from connectors.records import AIUsageRecord, IdentityRecord

REQUIRED = ("date", "user", "tool", "active")
COLUMNS = (*REQUIRED, "cost")
SOURCE = "csv"

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def parse_day(value: object) -> date:
    text = parse_text(value)
    if not _DAY.fullmatch(text):
        raise ValueError(f"{text!r} is not a date such as 2024-05-01 (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date") from None
    believable(datetime.combine(day, time(), tzinfo=UTC))
    return day


def parse_user(value: object) -> IdentityRecord:
    text = parse_text(value)
    if "@" in text:
        if not _EMAIL.fullmatch(text):
            raise ValueError(f"{text!r} is not an e-mail address")
        return IdentityRecord(email=text)
    if re.search(r"\s", text):
        raise ValueError(f"{text!r} contains a space (a login is one word; an e-mail needs an @)")
    return IdentityRecord(login=text)


def parse_tool(value: object) -> str:
    text = " ".join(parse_text(value).split())
    if len(text) > 50:
        raise ValueError(f"{text[:20]!r}... is {len(text)} characters long (at most 50)")
    return text


def parse_active(value: object) -> bool:
    text = parse_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{text!r} is not true/false, 1/0 or yes/no")


def parse_cost(value: object) -> float:
    return parse_amount(value, allowed="a cost (a number, 0 or more)")


def _record(cells: Cells) -> AIUsageRecord | None:
    day = cells.required("date", parse_day, date.min)
    user = cells.required("user", parse_user, IdentityRecord())
    tool = cells.required("tool", parse_tool, "")
    active = cells.required("active", parse_active, False)
    cost = cells.optional("cost", parse_cost)
    if not cells.ok:
        return None
    return AIUsageRecord(tool=tool, day=day, user=user, active=active, cost=cost, source=SOURCE)


def read_ai_usage(path: Path) -> list[AIUsageRecord]:
    """Every row of the file as a record, or a ConnectorError listing every problem (line and column)."""
    problems = Problems(path)
    records: list[AIUsageRecord] = []
    first_line: dict[tuple[str, str, date], int] = {}
    for line, values in csv_rows(path, REQUIRED, problems):
        record = _record(Cells(problems, line, values))
        if record is None or record.user is None:
            continue
        key = (record.tool.casefold(), record.user.key, record.day)
        if key in first_line:
            who = parse_text(values["user"])
            problems.add(
                line,
                "user",
                f"{who!r} already has a {record.tool!r} row for "
                f"{record.day.isoformat()} on line {first_line[key]}",
            )
            continue
        first_line[key] = line
        records.append(record)
    problems.raise_if_any()
    return records
