"""Survey answers exported from another tool (a CSV file), mapped onto the built-in question set.

UTF-8 (optional byte-order mark), a header line, one response per row.  Each *field* below is read
from the column named by the mapping, else from a column named like the field (case-insensitive).

| field                     | value                                                                   |
|---------------------------|-------------------------------------------------------------------------|
| `submitted_at` (required) | a date (`2024-05-01`, 00:00 UTC) or an ISO 8601 timestamp with offset   |
| `external_id`             | the tool's response id; unique in the file                              |
| `email`, `login`, `name`  | who answered (all optional: anonymous exports are fine)                 |
| `team`                    | the team the respondent answered for (a team name known to Sextant)      |
| `overall_satisfaction`    | whole number 1-5                                                        |
| `ease_of_shipping`        | whole number 1-5                                                        |
| `ai_hours_saved_per_week` | hours per week, a number from 0 to 40                                   |
| `ai_tool`                 | the AI coding tool used most                                            |
| `ai_frequency`            | `never`, `monthly`, `weekly` or `daily` (case-insensitive)              |
| `free_text`               | anything                                                                |

A mapping is given as ``field=Column`` pairs (``--map overall_satisfaction="How happy are you?"``) and/or
a JSON file, either ``{"overall_satisfaction": "Q1", ...}`` or ``{"columns": {...}, "values": {...}}``
where ``values`` translates a tool's answer texts per field, e.g.
``{"ai_frequency": {"Every day": "daily"}, "overall_satisfaction": {"Very satisfied": "5"}}`` (matched
case-insensitively; values not listed are read as they are).  ``--map`` pairs override the file.

The header must hold every mapped column, ``submitted_at`` and at least one answer column.  Each row
needs at least one answer; a respondent (same e-mail, or login when there is no e-mail) answers once.
Without an ``external_id`` column a response is identified by its respondent, else by its contents,
so importing the same file again changes nothing.  Every problem is reported at once with its line
and column; nothing is returned until the file is clean.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from connectors.base import ConnectorError
from connectors.file_rows import (
    Cells,
    Problems,
    csv_rows,
    first_nonblank,
    parse_amount,
    parse_date_or_timestamp,
    parse_text,
    read_text,
)
from connectors.records import IdentityRecord, SurveyResponseRecord
from connectors.teams_csv import parse_email, parse_login

IDENTITY = ("external_id", "email", "login", "name", "submitted_at", "team")
ANSWERS = (
    "overall_satisfaction",
    "ease_of_shipping",
    "ai_hours_saved_per_week",
    "ai_tool",
    "ai_frequency",
    "free_text",
)
FIELDS = (*IDENTITY, *ANSWERS)
FREQUENCIES = ("never", "monthly", "weekly", "daily")
MAX_HOURS = 40.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # placeholder of a row that is rejected anyway
T = TypeVar("T")


@dataclass(frozen=True)
class SurveyMapping:
    """field -> CSV column, and per field a translation of answer texts (keys compared case-insensitively)."""

    columns: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def _check_field(name: str, where: str) -> str:
    if name not in FIELDS:
        raise ConnectorError(f"{where}: unknown field {name!r}; the fields are {', '.join(FIELDS)}")
    return name


def mapping_from_pairs(pairs: Iterable[str], base: SurveyMapping | None = None) -> SurveyMapping:
    """``field=Column`` pairs on top of ``base`` (a mapping file): a pair wins over the file."""
    columns = dict(base.columns) if base else {}
    seen: set[str] = set()
    for pair in pairs:
        name, sep, column = pair.partition("=")
        where = f"--map {pair!r}"
        if not sep or not column.strip():
            raise ConnectorError(f"{where}: expected field=Column, e.g. overall_satisfaction=Q1")
        name = _check_field(name.strip(), where)
        if name in seen:
            raise ConnectorError(f"{where}: field {name!r} is mapped twice")
        seen.add(name)
        columns[name] = column.strip()
    return SurveyMapping(columns=columns, values=dict(base.values) if base else {})


def mapping_from_file(path: Path) -> SurveyMapping:
    """JSON: ``{field: column}``, or ``{"columns": {...}, "values": {field: {text: value}}}``."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        where = f"{path}, line {exc.lineno}, column {exc.colno}"
        raise ConnectorError(f"{where}: malformed JSON ({exc.msg})") from None
    except RecursionError:
        raise ConnectorError(f"{path}: JSON nested too deeply (a mapping is two levels deep)") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise ConnectorError(f"{path}: malformed JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict):
        raise ConnectorError(f"{path}: expected a JSON object of field: column")
    nested = set(data) <= {"columns", "values"} and isinstance(data.get("columns", {}), dict)
    columns = data.get("columns", {}) if nested else data
    values = data.get("values", {}) if nested else {}
    if not isinstance(values, dict):
        raise ConnectorError(f"{path}: 'values' must be an object of field: {{answer text: value}}")
    for name, column in columns.items():
        _check_field(name, f"{path}, columns")
        if not isinstance(column, str) or not column.strip():
            raise ConnectorError(f"{path}: the column for {name!r} must be a non-empty text")
    checked: dict[str, dict[str, str]] = {}
    for name, table in values.items():
        _check_field(name, f"{path}, values")
        if not isinstance(table, dict) or not all(isinstance(v, str | int | float) for v in table.values()):
            raise ConnectorError(f"{path}: values of {name!r} must be an object of answer text: value")
        checked[name] = {str(k).strip().casefold(): str(v) for k, v in table.items()}
    return SurveyMapping(columns={k: v.strip() for k, v in columns.items()}, values=checked)


def parse_scale(value: object) -> int:
    text = parse_text(value)
    if text not in {"1", "2", "3", "4", "5"}:
        raise ValueError(f"{text!r} is not a whole number from 1 to 5 (map answer texts with 'values')")
    return int(text)


def parse_hours(value: object) -> float:
    return parse_amount(
        value, allowed=f"between 0 and {MAX_HOURS:g} hours per week", high=MAX_HOURS, noun="number of hours"
    )


def parse_frequency(value: object) -> str:
    text = parse_text(value).lower()
    if text not in FREQUENCIES:
        raise ValueError(f"{text!r} is not one of {', '.join(FREQUENCIES)} (map answer texts with 'values')")
    return text


def _header(path: Path, mapping: SurveyMapping) -> tuple[dict[str, str], list[str]]:
    """field -> column as the CSV spells it, and the header; a mapped column that is missing is an error."""
    try:
        first = next(csv.reader([first_nonblank(path)]), [])
    except csv.Error as exc:
        raise ConnectorError(f"{path}: malformed CSV header ({exc})") from None
    header = [cell.strip() for cell in first]
    by_lower = {name.lower(): name for name in header if name}
    columns: dict[str, str] = {}
    missing = []
    explicit = {column.lower() for column in mapping.columns.values()}
    for name in FIELDS:
        # A column named like a field is that field's default, unless the mapping uses it for another.
        default = name if name in by_lower and name not in explicit else ""
        wanted = mapping.columns.get(name, default)
        if wanted and wanted.lower() in by_lower:
            columns[name] = by_lower[wanted.lower()]
        elif wanted:
            missing.append(f"'{wanted}' (for {name})")
    if "submitted_at" not in columns and "submitted_at" not in mapping.columns:
        missing.append("a column for submitted_at (name one with --map submitted_at=COLUMN)")
    if missing:
        raise ConnectorError(
            f"{path}, line 1: the header lacks {', '.join(missing)}; it has "
            f"{', '.join(repr(h) for h in header if h) or 'no names'}"
        )
    twice = {c for c, count in Counter(columns.values()).items() if count > 1}
    if twice:
        clashes = [
            f"{column!r} is mapped to {' and '.join(n for n, c in columns.items() if c == column)}"
            for column in sorted(twice)
        ]
        raise ConnectorError(f"{path}: a column may hold one field only, but {'; '.join(clashes)}")
    if not any(name in columns for name in ANSWERS):
        raise ConnectorError(
            f"{path}, line 1: no answer column found; map at least one of {', '.join(ANSWERS)}"
        )
    return columns, header


def _translated(
    values: Mapping[str, str], columns: Mapping[str, str], tables: Mapping[str, Mapping[str, str]]
) -> dict[str, object]:
    """The row with answer texts replaced through the mapping's ``values`` tables."""
    out: dict[str, object] = dict(values)
    for name, table in tables.items():
        column = columns.get(name)
        raw = values.get(column, "") if column else ""
        if column and raw.strip().casefold() in table:
            out[column] = table[raw.strip().casefold()]
    return out


def _record(cells: Cells, columns: Mapping[str, str]) -> SurveyResponseRecord | None:
    def get(name: str, parse: Callable[[object], T]) -> T | None:
        return cells.optional(columns[name], parse) if name in columns else None

    submitted_at = cells.required(columns["submitted_at"], parse_date_or_timestamp, None)
    identity = IdentityRecord(
        name=get("name", parse_text) or "",
        email=get("email", parse_email) or "",
        login=get("login", parse_login) or "",
    )
    record = SurveyResponseRecord(
        external_id=get("external_id", parse_text) or "",
        respondent=identity,
        submitted_at=submitted_at or EPOCH,
        team=get("team", parse_text) or "",
        overall_satisfaction=get("overall_satisfaction", parse_scale),
        ease_of_shipping=get("ease_of_shipping", parse_scale),
        ai_hours_saved_per_week=get("ai_hours_saved_per_week", parse_hours),
        ai_tool=get("ai_tool", parse_text) or "",
        ai_frequency=get("ai_frequency", parse_frequency) or "",
        free_text=get("free_text", parse_text) or "",
    )
    if cells.ok and all(getattr(record, name) in (None, "") for name in ANSWERS):
        given = [columns[name] for name in ANSWERS if name in columns]
        cells.fail(given[0], f"no answers: {', '.join(repr(c) for c in given)} are all empty")
    if not cells.ok:
        return None
    anonymous = not (identity.email or identity.login or identity.name)
    return _replace(record, respondent=None) if anonymous else record


def _identify(record: SurveyResponseRecord) -> tuple[SurveyResponseRecord, str, str]:
    """The record with an external id, who answered (identity key or ""), and where the id came from:
    "given", "person" (the respondent's key) or "content" (a digest of the time and answers)."""
    who = record.respondent
    person = (who.key if who.email or who.login else "") if who else ""
    if record.external_id:
        return record, person, "given"
    if person:
        return _replace(record, external_id=person), person, "person"
    content = json.dumps([str(getattr(record, name)) for name in ("submitted_at", "team", *ANSWERS)])
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]
    return _replace(record, external_id=f"sha256:{digest}"), person, "content"


def _duplicate(
    record: SurveyResponseRecord,
    person: str,
    origin: str,
    first_id: dict[str, int],
    first_person: dict[str, int],
) -> tuple[str, str]:
    """(field, why) when this record repeats an earlier row, else ("", "")."""
    if person and person in first_person:
        who = person.split(":", 1)
        return who[0], f"{who[1]} already answered on line {first_person[person]} (one response per person)"
    line = first_id.get(record.external_id)
    if line is None:
        return "", ""
    if origin == "content":
        return "submitted_at", f"the same time and answers already appear on line {line} (a copied row?)"
    return "external_id", f"response id {record.external_id!r} already appears on line {line}"


def _replace(record: SurveyResponseRecord, **changes: object) -> SurveyResponseRecord:
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


def read_survey_responses(path: Path, mapping: SurveyMapping | None = None) -> list[SurveyResponseRecord]:
    """Every response in the file, or a ConnectorError listing every problem (line and column)."""
    mapping = mapping or SurveyMapping()
    columns, header = _header(path, mapping)
    spelled = {name.lower(): name for name in header if name}
    problems = Problems(path)
    records: list[SurveyResponseRecord] = []
    first_id: dict[str, int] = {}
    first_person: dict[str, int] = {}
    for line, values in csv_rows(path, (), problems):
        row = {spelled.get(k, k): str(v) for k, v in values.items()}
        record = _record(Cells(problems, line, _translated(row, columns, mapping.values)), columns)
        if record is None:
            continue
        record, person, origin = _identify(record)
        name, repeated = _duplicate(record, person, origin, first_id, first_person)
        if repeated:
            problems.add(line, columns[name], repeated)
        first_id.setdefault(record.external_id, line)
        if person:
            first_person.setdefault(person, line)
        records.append(record)
    problems.raise_if_any()
    return records
