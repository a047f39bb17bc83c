"""connectors.pr_file: pull requests from CSV / JSON Lines, every rule and every error (no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.base import ConnectorError
from connectors.pr_file import read_pull_requests
from connectors.records import IdentityRecord, PullRequestRecord

HEADER = (
    "repository,number,title,author,created_at,ready_at,first_commit_at,first_review_at,approved_at,"
    "merged_at,closed_at,additions,deletions,changed_files,head_branch,labels,reverts,ai_tool"
)
MIN_HEADER = "repository,number,title,author,created_at"
NO_OFFSET = "has no UTC offset (add one, such as Z or +02:00)"
NOT_ISO = "is not an ISO 8601 timestamp such as 2024-05-01T09:30:00+02:00"
ONCE = "(each pull request may appear once)"
CEST = timezone(timedelta(hours=2))


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def csv_file(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "prs.csv") -> Path:
    return write(tmp_path, name, "\n".join([header, *rows]) + "\n")


def jsonl_file(tmp_path: Path, *objects: dict, name: str = "prs.jsonl") -> Path:
    return write(tmp_path, name, "".join(json.dumps(o) + "\n" for o in objects))


def error_of(path: Path) -> str:
    with pytest.raises(ConnectorError) as info:
        read_pull_requests(path)
    assert info.value.permanent
    return str(info.value)


FULL_ROW = (
    "acme/api,12,Add retries,alice,2024-05-01T09:00:00+02:00,2024-05-01T10:00:00+02:00,"
    "2024-04-30T15:00:00+02:00,2024-05-01T12:00:00Z,2024-05-02T08:00:00Z,2024-05-02T09:30:00Z,"
    ",120,30,4,copilot/add-retries,bug;backend|ai,7,copilot"
)
MINIMAL = {
    "repository": "acme/api",
    "number": 1,
    "title": "T",
    "author": "alice",
    "created_at": "2024-05-01T09:00:00Z",
}


class TestCsv:
    def test_full_row_exact_values(self, tmp_path: Path) -> None:
        [pr] = read_pull_requests(csv_file(tmp_path, FULL_ROW))
        assert pr == PullRequestRecord(
            repository="acme/api",
            number=12,
            title="Add retries",
            author=IdentityRecord(login="alice"),
            state="merged",
            created_at=datetime(2024, 5, 1, 9, 0, tzinfo=CEST),
            ready_at=datetime(2024, 5, 1, 10, 0, tzinfo=CEST),
            first_commit_at=datetime(2024, 4, 30, 15, 0, tzinfo=CEST),
            first_review_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
            approved_at=datetime(2024, 5, 2, 8, 0, tzinfo=UTC),
            merged_at=datetime(2024, 5, 2, 9, 30, tzinfo=UTC),
            closed_at=None,
            additions=120,
            deletions=30,
            changed_files=4,
            head_branch="copilot/add-retries",
            labels=("bug", "backend", "ai"),
            merge_style="file",
            reverts_number=7,
            ai_tool="copilot",
        )
        # The original offset is kept (author local time), not converted.
        assert pr.created_at is not None and pr.created_at.utcoffset() == timedelta(hours=2)

    def test_only_required_columns(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "acme/api,3,Fix,bob,2024-05-01T09:00:00Z", header=MIN_HEADER)
        [pr] = read_pull_requests(path)
        assert pr.state == "open"
        assert (pr.additions, pr.deletions, pr.changed_files, pr.reverts_number) == (None, None, None, None)
        assert (pr.labels, pr.head_branch, pr.ai_tool, pr.merged_at) == ((), "", "", None)
        assert pr.merge_style == "file"

    def test_states(self, tmp_path: Path) -> None:
        header = "repository,number,title,author,created_at,merged_at,closed_at"
        path = csv_file(
            tmp_path,
            "r,1,a,x,2024-05-01T09:00:00Z,2024-05-02T09:00:00Z,2024-05-02T09:00:00Z",
            "r,2,b,x,2024-05-01T09:00:00Z,,2024-05-03T09:00:00Z",
            "r,3,c,x,2024-05-01T09:00:00Z,,",
            header=header,
        )
        assert [pr.state for pr in read_pull_requests(path)] == ["merged", "closed", "open"]

    def test_email_author(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "r,1,a,Bob@Example.com,2024-05-01T09:00:00Z", header=MIN_HEADER)
        assert read_pull_requests(path)[0].author == IdentityRecord(email="Bob@Example.com")

    def test_header_case_whitespace_bom_unknown_columns_and_blank_lines(self, tmp_path: Path) -> None:
        text = (
            " Repository , NUMBER,Title,author,created_at,url\r\n\r\n"
            "r,1, Spaced title ,x,2024-05-01T09:00:00Z,u\r\n"
        )
        path = write(tmp_path, "prs.csv", text, encoding="utf-8-sig")
        [pr] = read_pull_requests(path)
        assert (pr.repository, pr.number, pr.title) == ("r", 1, "Spaced title")

    def test_quoted_multiline_title_and_line_numbers_after_it(self, tmp_path: Path) -> None:
        path = csv_file(
            tmp_path,
            'r,1,"two\nlines",x,2024-05-01T09:00:00Z',
            "r,zz,b,x,2024-05-01T09:00:00Z",
            header=MIN_HEADER,
        )
        assert "line 4, column 'number'" in error_of(path)

    def test_labels_dedupe_and_empty_parts(self, tmp_path: Path) -> None:
        path = csv_file(
            tmp_path,
            "r,1,a,x,2024-05-01T09:00:00Z, a ;;b|a| ",
            header="repository,number,title,author,created_at,labels",
        )
        assert read_pull_requests(path)[0].labels == ("a", "b")

    def test_merged_before_created_is_allowed(self, tmp_path: Path) -> None:
        path = csv_file(
            tmp_path,
            "r,1,a,x,2024-05-02T09:00:00Z,2024-05-01T09:00:00Z",
            header="repository,number,title,author,created_at,merged_at",
        )
        assert read_pull_requests(path)[0].merged_at == datetime(2024, 5, 1, 9, tzinfo=UTC)

    def test_header_only_gives_nothing(self, tmp_path: Path) -> None:
        assert read_pull_requests(csv_file(tmp_path)) == []

    def test_short_row_means_empty_trailing_cells(self, tmp_path: Path) -> None:
        [pr] = read_pull_requests(csv_file(tmp_path, "r,1,a,x,2024-05-01T09:00:00Z"))
        assert pr.state == "open"


class TestJsonLines:
    def test_full_object_exact_values(self, tmp_path: Path) -> None:
        path = jsonl_file(
            tmp_path,
            {
                **MINIMAL,
                "number": 5,
                "author": "carol@example.com",
                "merged_at": "2024-05-03T10:00:00+00:00",
                "additions": 10,
                "deletions": 0,
                "changed_files": 1,
                "labels": ["x;y", "z"],
                "reverts": 2,
                "ai_tool": "claude",
                "head_branch": "fix",
                "closed_at": None,
                "extra": {"ignored": True},
            },
        )
        [pr] = read_pull_requests(path)
        assert pr == PullRequestRecord(
            repository="acme/api",
            number=5,
            title="T",
            author=IdentityRecord(email="carol@example.com"),
            state="merged",
            created_at=datetime(2024, 5, 1, 9, tzinfo=UTC),
            merged_at=datetime(2024, 5, 3, 10, tzinfo=UTC),
            additions=10,
            deletions=0,
            changed_files=1,
            head_branch="fix",
            labels=("x;y", "z"),
            merge_style="file",
            reverts_number=2,
            ai_tool="claude",
        )

    @pytest.mark.parametrize("name", ["prs.ndjson", "prs.JSONL", "export.txt", "no_extension"])
    def test_detected_by_extension_or_content(self, tmp_path: Path, name: str) -> None:
        path = jsonl_file(tmp_path, MINIMAL, {**MINIMAL, "number": 2}, name=name)
        assert [pr.number for pr in read_pull_requests(path)] == [1, 2]

    def test_csv_content_without_extension(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "r,1,a,x,2024-05-01T09:00:00Z", name="export.txt", header=MIN_HEADER)
        assert read_pull_requests(path)[0].number == 1

    def test_numeric_strings_integral_floats_and_blank_lines(self, tmp_path: Path) -> None:
        text = "\n" + json.dumps({**MINIMAL, "number": "7", "additions": 3.0, "labels": "a|b"}) + "\n\n"
        [pr] = read_pull_requests(write(tmp_path, "p.jsonl", text))
        assert (pr.number, pr.additions, pr.labels) == (7, 3, ("a", "b"))

    def test_missing_key(self, tmp_path: Path) -> None:
        path = jsonl_file(tmp_path, {k: v for k, v in MINIMAL.items() if k != "title"})
        assert error_of(path) == f"{path}, line 1, column 'title': required, but missing"

    def test_malformed_line(self, tmp_path: Path) -> None:
        path = write(tmp_path, "p.jsonl", json.dumps(MINIMAL) + '\n{"repository": "r",, }\n')
        message = error_of(path)
        assert message.startswith(f"{path}, line 2, column 20: malformed JSON")

    def test_not_an_object(self, tmp_path: Path) -> None:
        path = write(tmp_path, "p.jsonl", "[1, 2]\n")
        assert error_of(path) == f"{path}, line 1, column 1: expected a JSON object, got a list"

    @pytest.mark.parametrize(
        ("column", "value", "problem"),
        [
            ("number", True, "True is not a whole number"),
            ("number", 1.5, "1.5 is not a whole number"),
            ("title", ["a"], "expected text, got a list"),
            ("labels", {"a": 1}, "expected a list of labels, got an object"),
            ("created_at", 1714554000, "'1714554000' is not an ISO 8601 timestamp"),
        ],
    )
    def test_wrong_json_types(self, tmp_path: Path, column: str, value: object, problem: str) -> None:
        path = jsonl_file(tmp_path, {**MINIMAL, column: value})
        assert error_of(path).startswith(f"{path}, line 1, column '{column}': {problem}")


class TestErrors:
    def test_missing_required_columns_before_any_row(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "not,even,valid,json", header="repository,title,created_at")
        assert error_of(path) == (
            f"{path}, line 1: missing required column(s) 'number', 'author'; "
            "the header has 'repository', 'title', 'created_at'"
        )

    def test_duplicate_header_column(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, header="repository,number,title,author,created_at,Title")
        assert error_of(path) == f"{path}, line 1: column(s) 'title' appear twice in the header"

    def test_empty_required_value(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "r,1,,x,2024-05-01T09:00:00Z")
        assert error_of(path) == f"{path}, line 2, column 'title': required, but empty"

    @pytest.mark.parametrize(
        ("column", "value", "problem"),
        [
            ("number", "12a", "'12a' is not a whole number"),
            ("number", "0", "0 is not a pull request number (1 or more)"),
            ("additions", "-5", "-5 is negative (counts are 0 or more)"),
            ("deletions", "1.5", "'1.5' is not a whole number"),
            ("changed_files", "-1", "-1 is negative (counts are 0 or more)"),
            ("reverts", "x", "'x' is not a whole number"),
            ("merged_at", "yesterday", f"'yesterday' {NOT_ISO}"),
            ("created_at", "2024-05-01T09:00:00", f"'2024-05-01T09:00:00' {NO_OFFSET}"),
            ("approved_at", "2024-05-01", f"'2024-05-01' {NO_OFFSET}"),
            ("closed_at", "2024-02-30T10:00:00Z", "'2024-02-30T10:00:00Z' is not an ISO 8601 timestamp"),
        ],
    )
    def test_bad_value_names_line_and_column(
        self, tmp_path: Path, column: str, value: str, problem: str
    ) -> None:
        cells = dict(zip(HEADER.split(","), FULL_ROW.split(","), strict=True))
        cells[column] = value
        path = csv_file(tmp_path, "r,1,ok,x,2024-05-01T09:00:00Z", ",".join(cells.values()))
        assert error_of(path).startswith(f"{path}, line 3, column '{column}': {problem}")

    def test_duplicate_pr_names_both_lines(self, tmp_path: Path) -> None:
        path = csv_file(
            tmp_path,
            "r,1,a,x,2024-05-01T09:00:00Z",
            "other,1,a,x,2024-05-01T09:00:00Z",
            "r,1,b,x,2024-05-01T09:00:00Z",
            header=MIN_HEADER,
        )
        assert error_of(path) == (f"{path}, line 4, column 'number': r#1 already appears on line 2 {ONCE}")

    def test_every_bad_row_is_reported_at_once(self, tmp_path: Path) -> None:
        path = csv_file(
            tmp_path,
            "r,1,a,x,2024-05-01T09:00:00",  # line 2: naive
            "r,2,b,x,2024-05-01T09:00:00Z",  # fine
            "r,x,c,,2024-05-01T09:00:00Z",  # line 4: bad number and empty author
            "r,1,d,x,2024-05-01T09:00:00Z",  # line 5: duplicate of line 2 even though line 2 is bad
            header=MIN_HEADER,
        )
        assert error_of(path) == (
            f"{path}: 4 problems, fix them all and import again: "
            f"line 2, column 'created_at': '2024-05-01T09:00:00' {NO_OFFSET}; "
            "line 4, column 'number': 'x' is not a whole number; "
            "line 4, column 'author': required, but empty; "
            f"line 5, column 'number': r#1 already appears on line 2 {ONCE}"
        )

    def test_first_twenty_problems_with_a_count(self, tmp_path: Path) -> None:
        rows = [f"r,{n},t,x,not-a-date" for n in range(1, 26)]
        message = error_of(csv_file(tmp_path, *rows, header=MIN_HEADER))
        assert message.count("column 'created_at'") == 20
        assert "25 problems" in message
        assert "line 21, column 'created_at'" in message
        assert "line 22," not in message
        assert message.endswith("; and 5 more")

    def test_extra_fields(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "r,1,a,x,2024-05-01T09:00:00Z,surplus,", header=MIN_HEADER)
        assert error_of(path) == f"{path}, line 2, column 6: 7 fields, but the header has 5"

    def test_trailing_empty_fields_are_fine(self, tmp_path: Path) -> None:
        path = csv_file(tmp_path, "r,1,a,x,2024-05-01T09:00:00Z,,", header=MIN_HEADER)
        assert len(read_pull_requests(path)) == 1


class TestUnreadable:
    def test_missing_file(self, tmp_path: Path) -> None:
        path = tmp_path / "nope.csv"
        assert error_of(path) == f"{path}: no such file"

    def test_directory(self, tmp_path: Path) -> None:
        assert error_of(tmp_path) == f"{tmp_path}: is a directory, not a file"

    def test_not_utf8(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            "prs.csv",
            "repository,number,title,author,created_at\nr,1,Caf\u00e9,x,now\n",
            encoding="latin-1",
        )
        assert error_of(path) == (f"{path}, line 2, column 8: not UTF-8 (byte 0xe9); save the file as UTF-8")

    @pytest.mark.parametrize("name", ["prs.csv", "prs.jsonl"])
    def test_empty_file(self, tmp_path: Path, name: str) -> None:
        path = write(tmp_path, name, "\ufeff \n\n")
        assert error_of(path) == f"{path}: the file is empty"

    @pytest.mark.parametrize(
        ("row", "detail"),
        [
            ('r,1,"a"b,x,y', "',' expected after '\"'"),
            ('r,1,"never closed,x,y\nr,2', "unexpected end of data"),
        ],
    )
    def test_malformed_csv(self, tmp_path: Path, row: str, detail: str) -> None:
        path = csv_file(tmp_path, "r,1,a,x,2024-05-01T09:00:00Z", row)
        assert error_of(path) == f"{path}, line 3: malformed CSV row ({detail})"
