"""connectors.ai_usage_csv: daily AI-tool usage rows from CSV, every problem named by line and column."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from connectors.ai_usage_csv import read_ai_usage
from connectors.records import AIUsageRecord, IdentityRecord
from tests.connectors.file_errors import permanent_error


def usage_file(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "usage.csv"
    path.write_bytes(text.encode(encoding))
    return path


def error_of(path: Path) -> str:
    return permanent_error(read_ai_usage, path)


def test_exact_records(tmp_path: Path) -> None:
    path = usage_file(
        tmp_path,
        "\ufeffDate,USER,Tool,Active,Cost,team\n"
        "2026-05-04, ada ,Claude  Code,TRUE,3.5,ignored\n"
        "2026-05-04,bob@example.com,Codex,0,,\n",
    )
    assert read_ai_usage(path) == [
        AIUsageRecord(
            tool="Claude Code",
            day=date(2026, 5, 4),
            user=IdentityRecord(login="ada"),
            active=True,
            cost=3.5,
            source="csv",
        ),
        AIUsageRecord(
            tool="Codex",
            day=date(2026, 5, 4),
            user=IdentityRecord(email="bob@example.com"),
            active=False,
            cost=None,
            source="csv",
        ),
    ]


def test_cost_column_is_optional_and_yes_no_work(tmp_path: Path) -> None:
    path = usage_file(tmp_path, "date,user,tool,active\n2026-05-04,ada,Cursor,yes\n2026-05-05,ada,Cursor,No")
    assert [(r.day.day, r.active, r.cost) for r in read_ai_usage(path)] == [(4, True, None), (5, False, None)]


def test_every_problem_with_line_and_column(tmp_path: Path) -> None:
    path = usage_file(
        tmp_path,
        "date,user,tool,active,cost\n2026-13-01,a b,Cursor,true,1\n,ada,,\n2026-05-01,x@,Cursor,2,nan\n",
    )
    message = error_of(path)
    assert message.startswith(f"{path}: 8 problems, fix them all and import again: ")
    assert "line 2, column 'date': '2026-13-01' is not a valid date" in message
    assert "line 2, column 'user': 'a b' contains a space" in message
    assert "line 3, column 'date': required, but empty" in message
    assert "line 3, column 'tool': required, but empty" in message
    assert "line 3, column 'active': required, but empty" in message
    assert "line 4, column 'user': 'x@' is not an e-mail address" in message
    assert "line 4, column 'active': '2' is not true/false, 1/0 or yes/no" in message
    assert "line 4, column 'cost': 'nan' is not a cost (a number, 0 or more)" in message


def test_file_level_problems(tmp_path: Path) -> None:
    assert error_of(usage_file(tmp_path, "")).endswith("the file is empty")
    latin1 = usage_file(tmp_path, "date,user,tool,active\n2026-05-04,é,x,1\n", "latin-1")
    assert "line 2, column 12: not UTF-8" in error_of(latin1)
    assert "missing required column(s) 'active'" in error_of(usage_file(tmp_path, "date,user,tool\n"))
    long_tool = "x" * 51
    assert "is 51 characters long (at most 50)" in error_of(
        usage_file(tmp_path, f"date,user,tool,active\n2026-05-04,ada,{long_tool},1\n")
    )
