"""connectors.teams_csv: teams and dated memberships; rows of one person become one person (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.records import IdentityRecord, TeamMembershipRecord
from connectors.teams_csv import read_memberships
from tests.connectors.file_errors import permanent_error

HEADER = "team,parent_team,name,email,login,start,end"


def teams_file(tmp_path: Path, *rows: str, header: str = HEADER, encoding: str = "utf-8") -> Path:
    path = tmp_path / "teams.csv"
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def error_of(path: Path) -> str:
    return permanent_error(read_memberships, path)


class TestRows:
    def test_exact_record(self, tmp_path: Path) -> None:
        path = teams_file(
            tmp_path, "Checkout,Product,Ada Lovelace,ada@example.com,ada,2024-01-15,2024-06-30T17:00:00+02:00"
        )
        assert read_memberships(path) == [
            TeamMembershipRecord(
                team="Checkout",
                parent_team="Product",
                person_name="Ada Lovelace",
                identities=(
                    IdentityRecord(name="Ada Lovelace", email="ada@example.com"),
                    IdentityRecord(name="Ada Lovelace", login="ada"),
                ),
                start=datetime(2024, 1, 15, tzinfo=UTC),
                end=datetime(2024, 6, 30, 17, tzinfo=timezone(timedelta(hours=2))),
            )
        ]

    def test_minimal_columns_and_open_ended(self, tmp_path: Path) -> None:
        path = teams_file(tmp_path, "Search,bob", header="Team,LOGIN")
        assert read_memberships(path) == [
            TeamMembershipRecord(team="Search", identities=(IdentityRecord(login="bob"),))
        ]

    def test_timestamp_start_with_z(self, tmp_path: Path) -> None:
        path = teams_file(tmp_path, "Search,c@example.com,2024-03-01T08:30:00Z", header="team,email,start")
        assert read_memberships(path)[0].start == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)

    def test_one_person_from_two_emails_and_a_login(self, tmp_path: Path) -> None:
        path = teams_file(
            tmp_path,
            "Checkout,,,ada@old.example,,2023-01-01,2024-01-01",  # e-mail 1
            "Payments,,Ada,ADA@old.example,ada-gh,2024-01-01,",  # e-mail 1 again (case) + login
            "Payments,,,ada@new.example,Ada-GH,2024-06-01,",  # e-mail 2 + login again (case)
            "Search,,Bob,bob@example.com,,,",  # someone else
        )
        records = read_memberships(path)
        ada = (
            IdentityRecord(name="Ada", email="ada@old.example"),
            IdentityRecord(name="Ada", login="ada-gh"),
            IdentityRecord(name="Ada", email="ada@new.example"),
        )
        assert [(r.team, r.identities, r.person_name) for r in records] == [
            ("Checkout", ada, "Ada"),
            ("Payments", ada, "Ada"),
            ("Payments", ada, "Ada"),
            ("Search", (IdentityRecord(name="Bob", email="bob@example.com"),), "Bob"),
        ]
        assert [(r.start, r.end) for r in records[:2]] == [
            (datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)),
            (datetime(2024, 1, 1, tzinfo=UTC), None),
        ]

    def test_link_found_through_a_later_row(self, tmp_path: Path) -> None:
        # Rows 1 and 2 share nothing until row 3 gives both keys: all three are one person.
        path = teams_file(
            tmp_path, "A,x@example.com,", "B,,x-login", "C,X@example.com,x-login", header="team,email,login"
        )
        records = read_memberships(path)
        assert {r.identities for r in records} == {
            (IdentityRecord(email="x@example.com"), IdentityRecord(login="x-login"))
        }

    def test_first_non_empty_name_wins(self, tmp_path: Path) -> None:
        rows = ("A,,a@example.com", "B,Alice A.,a@example.com", "C,Alice B.,a@example.com")
        path = teams_file(tmp_path, *rows, header="team,name,email")
        assert {r.person_name for r in read_memberships(path)} == {"Alice A."}

    def test_rejoining_a_team_with_another_start_is_fine(self, tmp_path: Path) -> None:
        rows = ("A,a,2023-01-01,2023-06-01", "A,a,2024-01-01,")
        path = teams_file(tmp_path, *rows, header="team,login,start,end")
        assert len(read_memberships(path)) == 2

    def test_bom_blank_lines_unknown_columns(self, tmp_path: Path) -> None:
        path = teams_file(tmp_path, "", "A,a,ignored", "", header="team,login,notes", encoding="utf-8-sig")
        assert [r.team for r in read_memberships(path)] == ["A"]


class TestErrors:
    def test_missing_team_column(self, tmp_path: Path) -> None:
        path = teams_file(tmp_path, "a@example.com", header="email")
        assert error_of(path) == f"{path}, line 1: missing required column(s) 'team'; the header has 'email'"

    def test_missing_identity_columns(self, tmp_path: Path) -> None:
        path = teams_file(tmp_path, "A,Ada", header="team,name")
        assert error_of(path) == (
            f"{path}, line 1: missing required column(s) 'email' or 'login'; the header has 'team', 'name'"
        )

    def test_row_without_identity(self, tmp_path: Path) -> None:
        path = teams_file(tmp_path, "A,,Ada,,,,")
        assert error_of(path) == f"{path}, line 2, column 'email': needs an e-mail or a login (or both)"

    def test_empty_team(self, tmp_path: Path) -> None:
        path = teams_file(tmp_path, " ,,,a@example.com,,,")
        assert error_of(path) == f"{path}, line 2, column 'team': required, but empty"

    @pytest.mark.parametrize(
        ("column", "row", "problem"),
        [
            ("email", "A,,,not-an-email,,,", "'not-an-email' is not an e-mail address"),
            ("login", "A,,,,a@b.c,,", "'a@b.c' looks like an e-mail address (put it in the 'email' column)"),
            ("login", "A,,,,two words,,", "'two words' contains a space (a login is one word)"),
            ("start", "A,,,,a,2024-13-01,", "'2024-13-01' is not a valid date"),
            (
                "start",
                "A,,,,a,2024-01-01T09:00:00,",
                "'2024-01-01T09:00:00' has no UTC offset (add one, such as Z or +02:00)",
            ),
            ("end", "A,,,,a,,soon", "'soon' is not an ISO 8601 timestamp such as 2024-05-01T09:30:00+02:00"),
            (
                "end",
                "A,,,,a,2024-05-01,2024-04-30",
                "2024-04-30T00:00:00+00:00 is before start 2024-05-01T00:00:00+00:00",
            ),
        ],
    )
    def test_bad_value_names_line_and_column(
        self, tmp_path: Path, column: str, row: str, problem: str
    ) -> None:
        path = teams_file(tmp_path, "A,,,,ok,,", row)
        assert error_of(path) == f"{path}, line 3, column '{column}': {problem}"

    def test_same_person_team_and_start_twice_names_both_lines(self, tmp_path: Path) -> None:
        path = teams_file(
            tmp_path,
            "A,,,a@example.com,,2024-01-01,",
            "B,,,b@example.com,,,",
            "a,,,,a-login,2024-01-01T00:00:00Z,",
            "A,,,A@example.com,a-login,,",
        )
        assert error_of(path) == (
            f"{path}, line 4, column 'start': the same person, team 'a' and start already appear on line 2"
        )

    def test_conflicting_parents(self, tmp_path: Path) -> None:
        path = teams_file(tmp_path, "A,P,a", "A,,b", "A,Q,c", header="team,parent_team,login")
        assert error_of(path) == (
            f"{path}, line 4, column 'parent_team': 'Q' conflicts with the parent given for 'A' on line 2"
        )

    def test_own_parent(self, tmp_path: Path) -> None:
        path = teams_file(tmp_path, "A,a,a", header="team,parent_team,login")
        assert error_of(path) == f"{path}, line 2, column 'parent_team': team 'A' cannot be its own parent"

    def test_cycle(self, tmp_path: Path) -> None:
        path = teams_file(tmp_path, "Z,A,z", "A,B,a", "B,A,b", header="team,parent_team,login")
        assert error_of(path) == (
            f"{path}: 2 problems, fix them all and import again: "
            "line 3, column 'parent_team': teams form a cycle: a -> b -> a; "
            "line 4, column 'parent_team': teams form a cycle: b -> a -> b"
        )

    def test_all_problems_at_once(self, tmp_path: Path) -> None:
        path = teams_file(tmp_path, ",,,,,,", ",,Ann,,,,", "A,,,x,,,", "A,,,,y,bad,")
        assert error_of(path) == (
            f"{path}: 4 problems, fix them all and import again: "
            "line 3, column 'team': required, but empty; "
            "line 3, column 'email': needs an e-mail or a login (or both); "
            "line 4, column 'email': 'x' is not an e-mail address; "
            "line 5, column 'start': 'bad' is not an ISO 8601 timestamp such as 2024-05-01T09:30:00+02:00"
        )

    def test_unreadable(self, tmp_path: Path) -> None:
        assert error_of(tmp_path / "nope.csv") == f"{tmp_path / 'nope.csv'}: no such file"
        assert error_of(tmp_path) == f"{tmp_path}: is a directory, not a file"
        latin = teams_file(tmp_path, "\u00c9quipe,a", header="team,login", encoding="latin-1")
        assert error_of(latin) == f"{latin}, line 2, column 1: not UTF-8 (byte 0xc9); save the file as UTF-8"
