"""Import the real flask and crewAI histories (rebuilt from ../shared) and check the published counts,
then that every PR's phase spans are the same in the PR explorer, the API (JSON and CSV) and the snapshots
(tests/analytics/test_phase_identity.py's check, on the same import).

The counts come from ../shared/data/git/README.md ("PR-level counts, read independently").  Where
Sextant's definition differs, the test pins Sextant's figure and the comment explains the difference.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import statistics
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from metrics.ingestion.models import Commit, PullRequest, Revert
from tests.analytics.test_phase_identity import assert_identical

pytestmark = [pytest.mark.realdata, pytest.mark.django_db]
ROOT = Path(__file__).resolve().parents[2]


def rebuild(shared: Path, name: str, dest: Path) -> Path:
    """The real history ``name`` as a bare git repository, rebuilt once per data file and shared (read
    only) by every test and xdist worker of the run: under ``var/cache/realdata/``, keyed by the data's
    hash, built under a file lock.  ``dest`` is where it would go uncached (kept for the callers)."""
    tool = shared / "tools" / "rebuild_git_repo.py"
    data = shared / "data" / "git" / f"{name}.commits.jsonl.gz"
    digest = hashlib.sha256(data.read_bytes() + tool.read_bytes()).hexdigest()[:16]
    cache = ROOT / "var" / "cache" / "realdata"
    cache.mkdir(parents=True, exist_ok=True)
    built = cache / f"{name}-{digest}.git"
    with (cache / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (built / "sextant-complete").exists():
            shutil.rmtree(built, ignore_errors=True)
            subprocess.run(
                [sys.executable, str(tool), str(data), str(built), "--bare", "--force"],
                check=True,
                capture_output=True,
            )
            (built / "sextant-complete").touch()
    del dest
    return built


@pytest.fixture(scope="module")
def flask_repo(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rebuild(shared_dir, "flask", tmp_path_factory.mktemp("real") / "flask.git")


@pytest.fixture(scope="module")
def crewai_repo(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rebuild(shared_dir, "crewai", tmp_path_factory.mktemp("real") / "crewai.git")


def first_parent_reverts(repo: Path) -> int:
    """Reverts on main's first-parent line, read with git itself (the README's definition)."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--first-parent", "--format=%x1e%B", "main"],
        check=True,
        capture_output=True,
    ).stdout.decode("utf-8", "replace")
    return sum(1 for m in out.split("\x1e")[1:] if "This reverts commit" in m or m.startswith('Revert "'))


def import_and_check(repo: Path, name: str) -> dict[str, object]:
    out = StringIO()
    call_command("import_git", str(repo), "--name", name, stdout=out, verbosity=0)
    merged = PullRequest.objects.filter(repository__full_name=name, state="merged")
    spans = [(p.merged_at - p.first_commit_at).total_seconds() / 3600 for p in merged if p.first_commit_at]
    spans = [s for s in spans if s >= 0]
    again = StringIO()
    call_command("import_git", str(repo), "--name", name, stdout=again, verbosity=0)
    assert "(0 new)" in again.getvalue() and ", 0 new)" in again.getvalue()  # nothing twice
    return {
        "commits": Commit.objects.filter(repository__full_name=name).count(),
        "merged": merged.count(),
        "merge_style": merged.filter(merge_style="merge").count(),
        "squash_style": merged.filter(merge_style="squash").count(),
        "with_cycle_time": len(spans),
        "p50_hours": statistics.median(spans),
        "ai_assisted": merged.filter(ai_assisted=True).count(),
        "reverted_prs": Revert.objects.filter(repository__full_name=name, restored_at=None).count(),
        "summary": out.getvalue(),
    }


def test_flask(flask_repo: Path) -> None:
    got = import_and_check(flask_repo, "pallets/flask")
    assert got["commits"] == 11376
    assert (got["merged"], got["merge_style"], got["squash_style"]) == (1249, 1195, 54)
    assert got["with_cycle_time"] == 1247
    assert got["p50_hours"] == pytest.approx(5.21, abs=0.005)
    assert got["ai_assisted"] == 0  # the 5 PRs with Claude trailers are unmerged pull refs
    assert first_parent_reverts(flask_repo) == 3
    # Sextant links a revert to a merged PR: #1534 (reverted inside PR #1535) and #1855 (by title).  The
    # README's 3 first-parent reverts undo plain commits, which are not PRs; "This reverts commit" shas
    # name upstream commits, which the rebuilt repository does not have.
    assert got["reverted_prs"] == 2
    assert assert_identical() == PullRequest.objects.count() > 1000  # every PR, as the demo's test


def test_crewai(crewai_repo: Path) -> None:
    got = import_and_check(crewai_repo, "crewAIInc/crewAI")
    assert got["commits"] == 20222
    assert (got["merged"], got["merge_style"], got["squash_style"]) == (1581, 63, 1518)
    assert got["with_cycle_time"] == 1580
    assert got["p50_hours"] == pytest.approx(8.91, abs=0.005)
    # README: 151.  Sextant also counts agent branch prefixes (copilot/, cursor/...) of merge-commit PRs.
    assert got["ai_assisted"] == 152
    assert first_parent_reverts(crewai_repo) == 14
    assert got["reverted_prs"] == 4
    assert assert_identical() == PullRequest.objects.count() > 1000  # every PR, as the demo's test
