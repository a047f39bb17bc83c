"""import_git end to end on real git repositories: reverts, AI evidence, bots, idempotency, bad input."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from metrics.ingestion.models import AIEvidence, Commit, MetricSnapshot, PullRequest, Revert, SyncRun
from tests.conftest import GitRepo

pytestmark = pytest.mark.django_db

BOB = ("Bob", "bob@example.com")
BOT = ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")


def at(day: int, hour: int = 0) -> str:
    return f"2024-03-{day:02d}T{hour:02d}:00:00+00:00"


def pr(
    repo: GitRepo,
    number: int,
    branch: str,
    day: int,
    *,
    message: str = "",
    author: tuple[str, str] = BOB,
    title: str = "",
) -> str:
    repo.git("checkout", "-q", "-b", branch)
    repo.commit(message or f"{branch} change", date=at(day), author=author)
    repo.git("checkout", "-q", "main")
    return repo.merge(
        branch, f"Merge pull request #{number} from bob/{branch}\n\n{title or branch}", date=at(day, 5)
    )


def run(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_git", str(path), "--name", "acme/app", *args, stdout=out, verbosity=0)
    return out.getvalue()


def test_reverts_revert_of_revert_ai_and_bots(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    merge1 = pr(git_repo, 1, "feature", 2, title="Add feature")
    pr(git_repo, 2, "ai-work", 3, message="Use AI\n\nCo-authored-by: Claude <noreply@anthropic.com>")
    pr(git_repo, 3, "deps", 4, author=BOT, title="Bump lib")
    pr(git_repo, 4, "copilot/fix-thing", 5, title="Agent fix")
    # PR 1 is reverted through a revert PR (GitHub's revert button), PR 2 by a direct commit...
    git_repo.git("checkout", "-q", "-b", "revert-1-feature")
    git_repo.commit(f'Revert "Add feature"\n\nThis reverts commit {merge1}.', date=at(6))
    git_repo.git("checkout", "-q", "main")
    git_repo.merge(
        "revert-1-feature",
        'Merge pull request #5 from bob/revert-1-feature\n\nRevert "Add feature"\n\nReverts acme/app#1',
        date=at(6, 12),
    )
    revert2 = git_repo.commit('Revert "ai-work"', date=at(7), commit_date=at(7, 2))
    # ...and that direct revert is itself reverted: PR 2 stands again.
    git_repo.commit(f'Revert "Revert "ai-work""\n\nThis reverts commit {revert2}.', date=at(8))
    # Later work, so that the 14-day observation window of those merges has closed (revert rate counts
    # only merges whose window closed before the data ends: definition 1.2).
    git_repo.commit("later work", date=at(28))
    out = run(git_repo.path)
    assert "5 PRs found (5 merged, 5 new)" in out and "1 reverts" in out and "2 AI-assisted PRs" in out
    prs = {p.number: p for p in PullRequest.objects.all()}
    assert prs[1].reverted_at is not None and prs[1].reverted_at.isoformat() == "2024-03-06T12:00:00+00:00"
    assert prs[5].revert_of_id == prs[1].pk
    assert prs[2].reverted_at is None
    restored = Revert.objects.get(reverted_pr=prs[2])
    assert restored.restored_at is not None and restored.revert_sha == revert2
    assert prs[2].ai_tools == ["Claude Code"] and prs[4].ai_tools == ["GitHub Copilot"]
    assert AIEvidence.objects.get(pull_request=prs[4]).kind == "branch"
    assert prs[3].is_bot and not prs[1].is_bot
    week = MetricSnapshot.objects.get(
        scope="organization", period="week", metric="revert_rate", period_start="2024-02-26"
    )
    assert (week.value, week.n) == (0.5, 2)  # PRs 1 and 2 merged that week; 1 stays reverted


def test_import_twice_and_incrementally(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    pr(git_repo, 1, "a", 2)
    first = run(git_repo.path)
    assert "3 commits (3 new)" in first and "1 PRs found (1 merged, 1 new)" in first
    again = run(git_repo.path)
    assert "3 commits (0 new)" in again and "(1 merged, 0 new)" in again
    pr(git_repo, 2, "b", 3)
    later = run(git_repo.path)
    assert "5 commits (2 new)" in later and "2 PRs found (2 merged, 1 new)" in later
    assert Commit.objects.count() == 5 and PullRequest.objects.count() == 2
    assert PullRequest.commits.through.objects.count() == 4
    assert SyncRun.objects.filter(status="succeeded").count() == 3


def test_not_a_repository_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not a git repository"):
        call_command("import_git", str(tmp_path))
    assert Commit.objects.count() == 0 and SyncRun.objects.count() == 0


def test_unknown_team_stores_nothing(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    with pytest.raises(CommandError, match="unknown team 'nope'"):
        run(git_repo.path, "--team", "nope")
    assert Commit.objects.count() == 0


def test_cli_exit_code_and_single_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(root / "manage.py"), "import_git", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert done.returncode != 0
    expected = f"CommandError: {tmp_path / 'nowhere'}: no such file or directory"
    assert done.stderr.strip().splitlines() == [expected]
