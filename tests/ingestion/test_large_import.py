"""Issue 15, finding 12: a 200 MB ``import_prs`` file imports with peak memory under 500 MB and shows
a progress bar (it took 2.7 GB with no progress before).

The file is a JSON Lines export of about 165,000 pull requests (about 1.2 KB a row: every column of
connectors/pr_file.py, plus the ``url`` and ``body`` an export carries and the importer ignores).  The
command runs in its own process on its own SQLite database, as an operator would run it, recompute
included; its peak resident memory is read from ``getrusage`` by a small wrapper process.  About 4
minutes on two cores.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIZE = 200 * 1000 * 1000
LIMIT_MB = 500
WORDS = [
    "fix",
    "add",
    "remove",
    "refactor",
    "retry",
    "cache",
    "parser",
    "exporter",
    "handler",
    "queue",
    "metrics",
    "login",
    "billing",
    "search",
    "index",
    "timeout",
    "flaky",
    "migration",
    "schema",
    "endpoint",
    "payload",
    "validation",
    "rollout",
    "feature",
    "flag",
    "dashboard",
]
# Runs the command as its only child and prints the child's peak resident memory (Linux: KiB).
WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _row(n: int, rnd: random.Random) -> dict[str, object]:
    zone = timezone(timedelta(hours=2))
    start = datetime(2020, 1, 1, tzinfo=zone) + timedelta(minutes=5 * n)

    def at(hours: int) -> str:
        return (start + timedelta(hours=hours)).isoformat()

    title = " ".join(rnd.choice(WORDS) for _ in range(28))[:200]
    repository, number = f"acme/service-{n % 25:02d}", n // 25 + 1
    merged = n % 10 != 0
    return {
        "repository": repository,
        "number": number,
        "title": title,
        "author": f"dev{n % 300}" if n % 5 else f"dev{n % 300}@example.com",
        "created_at": at(0),
        "ready_at": at(1),
        "first_commit_at": at(-5),
        "first_review_at": at(3),
        "approved_at": at(6),
        "merged_at": at(8) if merged else None,
        "closed_at": None if merged else at(9),
        "additions": rnd.randint(1, 900),
        "deletions": rnd.randint(0, 300),
        "changed_files": rnd.randint(1, 30),
        "head_branch": f"feature/{title.split()[0]}-{n}",
        "labels": ["backend", f"team-{n % 7}"],
        "ai_tool": "claude" if n % 4 == 0 else None,
        "url": f"https://git.example.com/{repository}/pull/{number}",
        "body": " ".join(rnd.choice(WORDS) for _ in range(60)),
    }


def _write_export(path: Path) -> int:
    rnd = random.Random(15)
    written = rows = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < SIZE:
            line = json.dumps(_row(rows, rnd)) + "\n"
            handle.write(line)
            written += len(line)
            rows += 1
    return rows


@pytest.mark.slow
def test_a_200_mb_file_imports_in_bounded_memory_with_progress(tmp_path: Path) -> None:
    export = tmp_path / "prs.jsonl"
    rows = _write_export(export)
    assert export.stat().st_size >= SIZE
    database = tmp_path / "sextant.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "PYTHONWARNINGS": "ignore"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True, capture_output=True)

    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, *manage, "import_prs", str(export)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Imported {rows} pull requests" in result.stdout and f"{rows} new" in result.stdout
    assert "checking prs.jsonl" in result.stderr and "storing prs.jsonl" in result.stderr  # the bars
    assert "%|" in result.stderr
    peak_mb = int(result.stderr.strip().splitlines()[-1]) / 1024
    print(f"{rows} pull requests, {export.stat().st_size / 1e6:.0f} MB: peak RSS {peak_mb:.0f} MB")
    assert peak_mb < LIMIT_MB, f"peak resident memory {peak_mb:.0f} MB"
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT COUNT(*) FROM ingestion_pullrequest").fetchone() == (rows,)
