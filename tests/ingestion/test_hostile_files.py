"""Issue 15: hostile import files (out-of-range dates, huge numbers, deep nesting, 100,000 columns,
control characters) for every file importer: a non-zero exit with one line naming the problem,
nothing stored, and a recompute afterwards still succeeds."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from metrics.core.models import Identity, Person, Repository, Team, TeamMembership
from metrics.ingestion.models import AIUsageDay, PullRequest, SurveyResponse, SurveyRound
from metrics.ingestion.snapshots import snapshots_recompute

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
MODELS = (
    PullRequest,
    Repository,
    Person,
    Identity,
    Team,
    TeamMembership,
    AIUsageDay,
    SurveyRound,
    SurveyResponse,
)

PR_HEADER = "repository,number,title,author,created_at,merged_at,additions\n"
PR_ROW = "acme/api,{number},Fix,ada,{created},{merged},{additions}\n"
TEAMS_HEADER = "team,email,start,end\n"
USAGE_HEADER = "date,user,tool,active,cost\n"
USAGE_ROW = "{day},ada,Cursor,true,{cost}\n"
SURVEY_HEADER = "submitted_at,email,overall_satisfaction\n"
DEEP = "[" * 100_000


def pr_csv(
    number: str = "1",
    created: str = "2024-05-01T09:00:00Z",
    merged: str = "2024-05-02T09:00:00Z",
    additions: str = "3",
) -> str:
    good = PR_ROW.format(number=2, created="2024-05-01T09:00:00Z", merged="", additions=1)
    bad = PR_ROW.format(number=number, created=created, merged=merged, additions=additions)
    return PR_HEADER + good + bad


# (command, extra arguments, file name, content, words the one-line error must contain)
CASES: dict[str, tuple[str, tuple[str, ...], str, str, tuple[str, ...]]] = {
    "prs: merged in year 9999": (
        "import_prs",
        (),
        "prs.csv",
        pr_csv(merged="9999-12-31T23:59:59Z"),
        ("line 3", "merged_at", "9999-12-31", "future"),
    ),
    "prs: opened in year 1": (
        "import_prs",
        (),
        "prs.csv",
        pr_csv(created="0001-01-01T00:00:00+05:00"),
        ("line 3", "created_at", "0001-01-01", "before 1970"),
    ),
    "prs: number 2**63": (
        "import_prs",
        (),
        "prs.csv",
        pr_csv(number=str(2**63)),
        ("line 3", "number", "too large"),
    ),
    "prs: additions of 5,000 digits": (
        "import_prs",
        (),
        "prs.csv",
        pr_csv(additions="9" * 5000),
        ("line 3", "additions", "too large"),
    ),
    "prs: JSON number 2**63": (
        "import_prs",
        (),
        "prs.jsonl",
        f'{{"repository": "a/b", "number": {2**63}, "title": "t", "author": "x", '
        '"created_at": "2024-05-01T09:00:00Z"}\n',
        ("line 1", "number", "too large"),
    ),
    "prs: JSON integer of 5,000 digits": (
        "import_prs",
        (),
        "prs.jsonl",
        '{"repository": "a/b", "number": ' + "9" * 5000 + "}\n",
        ("line 1", "malformed JSON"),
    ),
    "prs: JSON nested 100,000 deep": ("import_prs", (), "prs.jsonl", DEEP + "\n", ("line 1", "nested")),
    "prs: 100,000 columns, one twice": (
        "import_prs",
        (),
        "prs.csv",
        PR_HEADER.strip() + "," + ",".join(f"c{i}" for i in range(100_000)) + ",c7\n",
        ("line 1", "'c7'", "twice"),
    ),
    "prs: NUL byte": (
        "import_prs",
        (),
        "prs.csv",
        PR_HEADER + "acme/api,1,F\0x,ada,2024-05-01T09:00:00Z,,\n",
        ("line 2", "title", "control character U+0000"),
    ),
    "prs: raw control character in JSON": (
        "import_prs",
        (),
        "prs.jsonl",
        '{"repository": "a/b", "number": 1, "title": "a\x1bb"}\n',
        ("line 1", "malformed JSON", "control character"),
    ),
    "prs: newline and escape in a bad cell": (
        "import_prs",
        (),
        "prs.csv",
        PR_HEADER + 'acme/api,"1\n\x1b[2J",F,ada,2024-05-01T09:00:00Z,,\n',
        ("line 2", "number", "not a whole number"),
    ),
    "prs: escape sequence in a title": (
        "import_prs",
        (),
        "prs.jsonl",
        '{"repository": "a/b", "number": 1, "title": "\\u001b[2J", "author": "x", '
        '"created_at": "2024-05-01T09:00:00Z"}\n',
        ("line 1", "title", "control character U+001B"),
    ),
    "prs: not UTF-8": (
        "import_prs",
        (),
        "prs.csv",
        PR_HEADER + "acme/api,1,F\udcff,ada,x,,\n",
        ("line 2", "not UTF-8"),
    ),
    "teams: start in year 9999": (
        "import_teams",
        (),
        "teams.csv",
        TEAMS_HEADER + "Core,a@x.io,9999-12-31,\n",
        ("line 2", "start", "9999-12-31"),
    ),
    "teams: end in year 9999": (
        "import_teams",
        (),
        "teams.csv",
        TEAMS_HEADER + "Core,a@x.io,2024-01-01,9999-12-31\n",
        ("line 2", "end", "after 2999"),
    ),
    "teams: 100,000 columns, none required": (
        "import_teams",
        (),
        "teams.csv",
        ",".join(f"c{i}" for i in range(100_000)) + "\n",
        ("line 1", "missing required column", "and 99980 more"),
    ),
    "usage: day in year 9999": (
        "import_ai_usage",
        (),
        "usage.csv",
        USAGE_HEADER + USAGE_ROW.format(day="9999-12-31", cost=""),
        ("line 2", "date", "9999-12-31"),
    ),
    "usage: day in year 1": (
        "import_ai_usage",
        (),
        "usage.csv",
        USAGE_HEADER + USAGE_ROW.format(day="0001-01-01", cost=""),
        ("line 2", "date", "before 1970"),
    ),
    "usage: huge cost": (
        "import_ai_usage",
        (),
        "usage.csv",
        USAGE_HEADER + USAGE_ROW.format(day="2024-05-01", cost="1e999"),
        ("line 2", "cost", "not a cost"),
    ),
    "survey: answered in year 9999": (
        "import_survey",
        ("--round", "Q2"),
        "survey.csv",
        SURVEY_HEADER + "9999-12-31,a@x.io,4\n",
        ("line 2", "submitted_at", "9999"),
    ),
    "survey: huge scale": (
        "import_survey",
        ("--round", "Q2"),
        "survey.csv",
        SURVEY_HEADER + f"2024-05-01,a@x.io,{2**63}\n",
        ("line 2", "overall_satisfaction"),
    ),
}


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def stored(tmp_path: Path) -> dict[str, int]:
    """Some good records first, so that "nothing stored" means "nothing changed"."""
    path = tmp_path / "good.csv"
    path.write_text(
        PR_HEADER
        + PR_ROW.format(number=1, created="2024-05-01T09:00:00Z", merged="2024-05-01T12:00:00Z", additions=2),
        encoding="utf-8",
    )
    call_command("import_prs", str(path), stdout=StringIO(), stderr=StringIO())
    return _counts()


def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    # surrogateescape: "\udcff" in a case stands for the raw byte 0xff (not UTF-8).
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_file_is_refused_in_one_line(case: str, tmp_path: Path, stored: dict[str, int]) -> None:
    command, extra, name, content, words = CASES[case]
    path = _write(tmp_path, name, content)
    with pytest.raises(CommandError) as raised:
        call_command(command, str(path), *extra, stdout=StringIO(), stderr=StringIO())
    message = str(raised.value)
    assert message.isprintable() and len(message) < 3000, message[:300]  # one line, no escapes, bounded
    assert message.startswith(str(path)), message[:300]
    for word in words:
        assert word in message, message[:300]
    assert _counts() == stored
    snapshots_recompute()


def test_deeply_nested_survey_mapping_is_one_line(tmp_path: Path, stored: dict[str, int]) -> None:
    survey = _write(tmp_path, "survey.csv", SURVEY_HEADER + "2024-05-01,a@x.io,4\n")
    mapping = _write(tmp_path, "mapping.json", DEEP)
    with pytest.raises(CommandError, match="nested too deeply"):
        call_command(
            "import_survey",
            str(survey),
            "--round",
            "Q2",
            "--mapping",
            str(mapping),
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert _counts() == stored


def _run(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A database of its own (the file is refused before any query; never the developer's var/ one).
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "case",
    [
        "prs: number 2**63",
        "prs: JSON nested 100,000 deep",
        "teams: start in year 9999",
        "usage: day in year 9999",
    ],
)
def test_exit_code_and_one_line_on_stderr(case: str, tmp_path: Path) -> None:
    command, extra, name, content, words = CASES[case]
    path = _write(tmp_path, name, content)
    result = _run(tmp_path / "db.sqlite3", command, str(path), *extra)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CommandError: "), result.stderr[-1000:]
    assert all(word in lines[0] for word in words)
