"""Amazon Q Developer's per-user daily activity report (CSV), as a file import.

Amazon Q writes it every day at 00:00 UTC to the organization's S3 bucket
(``.../QDeveloperLogs/by_user_analytic/{region}/{yyyy}/{mm}/{dd}/00/{account}_by_user_analytic_{ts}.csv``,
1,000 users a file, ``part_1``, ``part_2`` ...): one row per user who used Amazon Q that day, columns
``UserId``, ``Date`` and the metrics of https://docs.aws.amazon.com/amazonq/latest/qdeveloper-ug/user-activity-metrics.html
(``Inline_SuggestionsCount``, ``Inline_AcceptanceCount``, ``Inline_AICodeLines``, ``Chat_AICodeLines``,
``Chat_MessagesSent``, ``InlineChat_AcceptedLineAdditions``, ``Dev_AcceptedLines``, ...).

Mapping: ``suggestions``/``acceptances`` = Inline_SuggestionsCount/Inline_AcceptanceCount, ``chat_turns`` =
Chat_MessagesSent, ``lines_accepted`` = ``lines_added`` = the accepted AI lines of every feature (inline,
chat, inline chat, /dev, /review fixes, /test, /doc where present), ``lines_removed`` =
InlineChat_AcceptedLineDeletions; every numeric column is kept in ``extra``.  ``UserId`` is an IAM Identity
Center user id, not an e-mail: it becomes the login ``<UserId>``, which the identities settings page links to
a person by hand.  ``Date`` may be ``YYYY-MM-DD``, ``MM-DD-YYYY`` or ``MM/DD/YYYY``.
Every bad cell is reported with its line and column; nothing is imported until the file is clean.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path

from connectors.file_rows import (
    Cells,
    Problems,
    believable,
    csv_rows,
    memoized,
    parse_count,
    parse_text,
)
from connectors.records import AIUsageRecord, IdentityRecord

TOOL = "Amazon Q Developer"
SOURCE = "amazon-q-csv"
REQUIRED = ("userid", "date")
ACCEPTED_LINES = (
    "inline_aicodelines",
    "chat_aicodelines",
    "inlinechat_acceptedlineadditions",
    "dev_acceptedlines",
    "codefix_acceptedlines",
    "testgeneration_acceptedlines",
)
_FORMATS = (
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
    (re.compile(r"\d{2}-\d{2}-\d{4}"), "%m-%d-%Y"),
    (re.compile(r"\d{2}/\d{2}/\d{4}"), "%m/%d/%Y"),
)


def parse_day(value: object) -> date:
    text = parse_text(value)[:10]
    for pattern, layout in _FORMATS:
        if pattern.fullmatch(text):
            try:
                day = datetime.strptime(text, layout).date()  # noqa: DTZ007 - a calendar day, no time
            except ValueError:
                raise ValueError(f"{text!r} is not a valid date") from None
            believable(datetime.combine(day, time(), tzinfo=UTC))
            return day
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD, MM-DD-YYYY or MM/DD/YYYY)")


def _record(
    cells: Cells,
    numeric: list[str],
    day_of: Callable[[object], date] = parse_day,
    count_of: Callable[[object], int] = parse_count,
) -> AIUsageRecord | None:
    user = cells.required("userid", parse_text, "")
    day = cells.required("date", day_of, date.min)
    counts = {name: cells.optional(name, count_of) for name in numeric}
    if not cells.ok:
        return None
    values = {name: value for name, value in counts.items() if value is not None}
    lines = sum(values.get(name, 0) for name in ACCEPTED_LINES)
    return AIUsageRecord(
        tool=TOOL,
        day=day,
        user=IdentityRecord(login=user),
        active=True,
        suggestions=values.get("inline_suggestionscount"),
        acceptances=values.get("inline_acceptancecount"),
        chat_turns=values.get("chat_messagessent"),
        lines_accepted=lines,
        lines_added=lines,
        lines_removed=values.get("inlinechat_acceptedlinedeletions"),
        extra=tuple(sorted((name, float(value)) for name, value in values.items())),
        source=SOURCE,
    )


def read_amazon_q(path: Path) -> list[AIUsageRecord]:
    """Every row as a record, or a ConnectorError listing every problem (line and column)."""
    problems = Problems(path)
    records: list[AIUsageRecord] = []
    first_line: dict[tuple[str, date], int] = {}
    day_of, count_of = memoized(parse_day), memoized(parse_count)  # the same dates and counts recur
    for line, values in csv_rows(path, REQUIRED, problems):
        numeric = [name for name in values if name not in REQUIRED and "_" in name]
        record = _record(Cells(problems, line, values), numeric, day_of, count_of)
        if record is None or record.user is None:
            continue
        key = (record.user.key, record.day)
        if key in first_line:
            problems.add(
                line, "userid", f"this user already has a row for {record.day} on line {first_line[key]}"
            )
            continue
        first_line[key] = line
        records.append(record)
    problems.raise_if_any()
    return records
