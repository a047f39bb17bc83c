"""Issue 15, findings 1, 11 and 12 at the reader: believable dates, numbers that fit the database,
deep JSON, linear header checks, rows streamed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from connectors.base import ConnectorError
from connectors.file_rows import MAX_INTEGER, Problems, csv_rows, lines
from connectors.pr_file import check_pull_requests, pull_request_batches, read_pull_requests

HEADER = "repository,number,title,author,created_at"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConnectorError) as raised:
        read_pull_requests(path)
    return str(raised.value)


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        ("merged_at", "9999-12-31T23:59:59Z", "is more than a day in the future"),
        ("created_at", "0001-01-01T00:00:00+05:00", "is before 1970-01-01"),
        ("closed_at", "1969-12-31T23:59:59Z", "is before 1970-01-01"),
    ],
)
def test_dates_outside_the_believable_range_are_refused(
    tmp_path: Path, column: str, value: str, why: str
) -> None:
    row = {
        "repository": "a/b",
        "number": "1",
        "title": "t",
        "author": "x",
        "created_at": "2024-05-01T09:00:00Z",
        column: value,
    }
    path = write(tmp_path, "prs.csv", ",".join(row) + "\n" + ",".join(row.values()) + "\n")
    assert error_of(path) == (
        f"{path}, line 2, column '{column}': {value.replace('Z', '+00:00')} {why}; "
        "dates must be from 1970 on and at most a day after the import"
    )


@pytest.mark.parametrize("value", [str(2**63), str(MAX_INTEGER + 1), "9" * 5000, str(-(2**63))])
def test_whole_numbers_must_fit_the_database(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, "prs.csv", f"{HEADER},additions\na/b,1,t,x,2024-05-01T09:00:00Z,{value}\n")
    message = error_of(path)
    assert f"line 2, column 'additions': {value[:20]}" in message
    assert f"is too large (at most {MAX_INTEGER})" in message and "\n" not in message


def test_json_number_too_large(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "prs.jsonl",
        f'{{"repository": "a/b", "number": {2**63}, "title": "t", '
        '"author": "x", "created_at": "2024-05-01T09:00:00Z"}\n',
    )
    assert error_of(path) == f"{path}, line 1, column 'number': {2**63} is too large (at most {MAX_INTEGER})"


def test_largest_number_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "prs.csv", f"{HEADER}\na/b,{MAX_INTEGER},t,x,2024-05-01T09:00:00Z\n")
    assert read_pull_requests(path)[0].number == MAX_INTEGER


def test_deeply_nested_json_line(tmp_path: Path) -> None:
    good = (
        '{"repository": "a/b", "number": 1, "title": "t", "author": "x", '
        '"created_at": "2024-05-01T09:00:00Z"}'
    )
    path = write(tmp_path, "prs.jsonl", good + "\n" + "[" * 100_000 + "\n")
    assert error_of(path) == f"{path}, line 2, column 1: JSON nested too deeply (a row is one flat object)"


def test_a_million_columns_are_checked_in_linear_time(tmp_path: Path) -> None:
    extra = ",".join(f"c{i}" for i in range(1_000_000))
    path = write(tmp_path, "prs.csv", f"{HEADER},{extra}\na/b,1,t,x,2024-05-01T09:00:00Z\n")
    started = time.monotonic()
    assert len(read_pull_requests(path)) == 1
    twice = write(tmp_path, "twice.csv", f"{HEADER},{extra},c999999,c5\n")
    message = error_of(twice)
    assert time.monotonic() - started < 30  # names.count() per name: over 90 s for the first alone
    assert message == f"{twice}, line 1: column(s) 'c5', 'c999999' appear twice in the header"


def test_missing_columns_of_a_huge_header_are_named_briefly(tmp_path: Path) -> None:
    path = write(tmp_path, "prs.csv", ",".join(f"c{i}" for i in range(100_000)) + "\n")
    message = error_of(path)
    assert message.startswith(f"{path}, line 1: missing required column(s) 'repository', 'number'")
    assert message.endswith("'c18', 'c19' and 99980 more") and len(message) < 1000


def test_rows_are_streamed_in_batches(tmp_path: Path) -> None:
    rows = "".join(f"a/b,{n},t,x,2024-05-01T09:00:00Z\n" for n in range(1, 2501))
    path = write(tmp_path, "prs.csv", f"{HEADER}\n{rows}")
    read: list[int] = []
    assert check_pull_requests(path, read.append) == 2500
    assert sum(read) == path.stat().st_size  # the progress callback saw every byte
    batches = list(pull_request_batches(path, size=1000))
    assert [len(batch) for batch in batches] == [1000, 1000, 500]


def test_a_file_changed_after_the_check_raises_after_the_last_batch(tmp_path: Path) -> None:
    path = write(tmp_path, "prs.csv", f"{HEADER}\na/b,1,t,x,2024-05-01T09:00:00Z\n")
    check_pull_requests(path)
    path.write_text(f"{HEADER}\na/b,1,t,x,2024-05-01T09:00:00Z\na/b,x,t,x,2024-05-01T09:00:00Z\n")
    batches = pull_request_batches(path)
    with pytest.raises(ConnectorError, match="line 3, column 'number'"):
        list(batches)


def test_many_problems_keep_a_bounded_message(tmp_path: Path) -> None:
    rows = "".join(f"a/b,x{n},t,x,2024-05-01T09:00:00Z\n" for n in range(5000))
    path = write(tmp_path, "prs.csv", f"{HEADER}\n{rows}")
    message = error_of(path)
    assert message.startswith(f"{path}: 5000 problems") and message.endswith("; and 4980 more")


def test_lines_report_bytes_that_are_not_utf8_with_their_place(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\nok,\xff\n")
    with pytest.raises(ConnectorError, match=r"line 2, column 4: not UTF-8 \(byte 0xff\)"):
        list(lines(path))
    problems = Problems(path)
    with pytest.raises(ConnectorError, match="line 2, column 4"):
        list(csv_rows(path, ("a",), problems))
