"""Teams and dated team memberships from a CSV file: who was in which team, and when.

UTF-8 (optional byte-order mark), a header line, one membership per row.  Column names are
case-insensitive; unknown columns are ignored.

| column        | required | value                                                                   |
|---------------|----------|-------------------------------------------------------------------------|
| `team`        | yes      | team name (created when new)                                            |
| `parent_team` | no       | the team's parent in the team tree (one parent per team)                |
| `name`        | no       | the person's display name                                               |
| `email`       | one of   | the person's e-mail address                                             |
| `login`       | the two  | the person's Git host login                                             |
| `start`       | no       | first day in the team: a date (`2024-05-01`, 00:00 UTC) or a timestamp  |
| `end`         | no       | when they left (empty: still a member); not before `start`              |

The header needs `team` and at least one of `email` / `login`; every row needs a team and an e-mail or
a login.  Rows that share an e-mail or a login (case-insensitive), and a row giving both, describe one
person: all their e-mails and logins become identities of that one person, and their name is the
first non-empty `name`.  A person may be in several teams, or in one team several times with different
`start`s; the same person, team and start twice is an error.  Timestamps need a UTC offset (`Z` or
`+02:00`); dates before 1970, a start more than a day after the import and an end after 2999 are
errors (connectors/timebounds.py).  Every problem in the file is reported at once, each with its line
and column.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from connectors.file_rows import Cells, Problems, csv_rows, is_blank, parse_date_or_timestamp, parse_text
from connectors.records import IdentityRecord, TeamMembershipRecord

REQUIRED = ("team",)
COLUMNS = ("team", "parent_team", "name", "email", "login", "start", "end")

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    team: str
    parent_team: str
    name: str
    identities: tuple[IdentityRecord, ...]  # this row's own e-mail and/or login
    start: datetime | None
    end: datetime | None


def parse_email(value: object) -> str:
    text = parse_text(value)
    if not _EMAIL.fullmatch(text):
        raise ValueError(f"{text!r} is not an e-mail address")
    return text


def parse_login(value: object) -> str:
    text = parse_text(value)
    if "@" in text:
        raise ValueError(f"{text!r} looks like an e-mail address (put it in the 'email' column)")
    if re.search(r"\s", text):
        raise ValueError(f"{text!r} contains a space (a login is one word)")
    return text


def _planned_end(value: object) -> datetime:
    """A leaving date may lie ahead (a planned move); a start may not (it would be read as unknown)."""
    return parse_date_or_timestamp(value, planned=True)


def _row(cells: Cells) -> _Row | None:
    team = cells.required("team", parse_text, "")
    parent_team = cells.optional("parent_team", parse_text) or ""
    name = cells.optional("name", parse_text) or ""
    email = cells.optional("email", parse_email) or ""
    login = cells.optional("login", parse_login) or ""
    start = cells.optional("start", parse_date_or_timestamp)
    end = cells.optional("end", _planned_end)
    if is_blank(cells.values.get("email")) and is_blank(cells.values.get("login")):
        cells.fail("email" if "email" in cells.values else "login", "needs an e-mail or a login (or both)")
    if start is not None and end is not None and end < start:
        cells.fail("end", f"{end.isoformat()} is before start {start.isoformat()}")
    if not cells.ok:
        return None
    identities = tuple(
        identity
        for identity in (IdentityRecord(email=email), IdentityRecord(login=login))
        if identity.email or identity.login
    )
    return _Row(cells.line, team, parent_team, name, identities, start, end)


def _people(rows: list[_Row]) -> list[tuple[tuple[IdentityRecord, ...], str]]:
    """For each row, (all identities, name) of its person: connected components over e-mail/login keys."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]  # path halving keeps the trees flat
            key = parent[key]
        return key

    for row in rows:
        keys = [identity.key for identity in row.identities]
        for key in keys[1:]:
            parent[find(key)] = find(keys[0])
    identities: dict[str, dict[str, IdentityRecord]] = defaultdict(dict)
    names: dict[str, str] = {}
    for row in rows:
        root = find(row.identities[0].key)
        for identity in row.identities:
            identities[root].setdefault(identity.key, identity)
        if row.name:
            names.setdefault(root, row.name)
    people: dict[str, tuple[tuple[IdentityRecord, ...], str]] = {}
    for root, found in identities.items():
        name = names.get(root, "")
        people[root] = (tuple(_named(identity, name) for identity in found.values()), name)
    return [people[find(row.identities[0].key)] for row in rows]


def _named(identity: IdentityRecord, name: str) -> IdentityRecord:
    return IdentityRecord(name=name, email=identity.email, login=identity.login)


def _team_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _check_parents(rows: list[_Row], problems: Problems) -> None:
    """One parent per team, never itself, and no cycles: the team tree must stay a tree."""
    parent_of: dict[str, tuple[str, int]] = {}  # team key -> (parent key, line that said so)
    for row in rows:
        if not row.parent_team:
            continue
        team, parent = _team_key(row.team), _team_key(row.parent_team)
        if team == parent:
            problems.add(row.line, "parent_team", f"team {row.team!r} cannot be its own parent")
        elif team in parent_of and parent_of[team][0] != parent:
            problems.add(
                row.line,
                "parent_team",
                f"{row.parent_team!r} conflicts with the parent given for "
                f"{row.team!r} on line {parent_of[team][1]}",
            )
        else:
            parent_of.setdefault(team, (parent, row.line))
    for team, (parent, line) in parent_of.items():
        chain, current = {team}, parent
        while current in parent_of and current not in chain:
            chain.add(current)
            current = parent_of[current][0]
        if current == team:
            problems.add(line, "parent_team", f"teams form a cycle: {' -> '.join(_cycle(parent_of, team))}")


def _cycle(parent_of: dict[str, tuple[str, int]], team: str) -> list[str]:
    names, current = [team], parent_of[team][0]
    while current != team:
        names.append(current)
        current = parent_of[current][0]
    return [*names, team]


def _check_duplicates(
    rows: list[_Row], people: list[tuple[tuple[IdentityRecord, ...], str]], problems: Problems
) -> None:
    first_line: dict[tuple[str, str, datetime | None], int] = {}
    for row, (identities, _) in zip(rows, people, strict=True):
        # The smallest key names the person whichever of their rows we look at.
        key = (min(identity.key for identity in identities), _team_key(row.team), row.start)
        if key in first_line:
            problems.add(
                row.line,
                "start",
                f"the same person, team {row.team!r} and start already appear on line {first_line[key]}",
            )
        else:
            first_line[key] = row.line


def read_memberships(path: Path) -> list[TeamMembershipRecord]:
    """Every membership in the file, or a ConnectorError listing every problem (line and column)."""
    problems = Problems(path)
    raw_rows = csv_rows(path, REQUIRED, problems, one_of=("email", "login"))
    rows = [row for line, values in raw_rows if (row := _row(Cells(problems, line, values))) is not None]
    people = _people(rows)
    _check_parents(rows, problems)
    _check_duplicates(rows, people, problems)
    problems.raise_if_any()
    return [
        TeamMembershipRecord(
            team=row.team,
            identities=identities,
            person_name=name,
            parent_team=row.parent_team,
            start=row.start,
            end=row.end,
        )
        for row, (identities, name) in zip(rows, people, strict=True)
    ]
