"""The git half of the hostile-input suite (issue 15): one real repository with forged dates, separator
bytes in messages and names, a 5 MB message and a config that would run commands.  import_git must store
exactly what the repository holds (forged dates as unknown), run nothing, and leave the metrics computable."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from metrics.core.models import Identity, Person
from metrics.ingestion.models import AIEvidence, Commit, MetricSnapshot, PullRequest, SyncRun
from metrics.ingestion.snapshots import snapshots_recompute
from tests.conftest import GitRepo
from tests.hostile_git import forge_commit, ident, make_hostile

pytestmark = pytest.mark.django_db

BOB = ("Bob", "bob@example.com")
ODD = ("Od\x1ed\x1fone", "odd\x1f\x1e@example.com")
AI_TRAILER = "Use AI\n\nCo-authored-by: Claude <noreply@anthropic.com>"
FORGED_DATES = {  # raw commit dates no honest git writes; each commit is stored with unknown dates
    "year 1": b"-62135596800 +0000",
    "overflow": b"99999999999999999999 +0000",
    "epoch": b"0 +0000",
}


def at(day: int, hour: int = 0) -> str:
    return f"2024-03-{day:02d}T{hour:02d}:00:00+00:00"


def pr(repo: GitRepo, number: int, branch: str, day: int, *, merge_date: str = "") -> tuple[str, str]:
    repo.git("checkout", "-q", "-b", branch)
    work = repo.commit(f"{branch} change", date=at(day), author=BOB)
    repo.git("checkout", "-q", "main")
    merge = repo.merge(
        branch, f"Merge pull request #{number} from bob/{branch}\n\n{branch}", date=merge_date or at(day, 5)
    )
    return work, merge


def build(repo: GitRepo) -> dict[str, str]:
    """14 commits: 3 PRs (one merged in year 9999), a forged record in a message, odd names, forged
    raw dates and a 5 MB message."""
    shas = {"initial": repo.commit("initial", date=at(1))}
    shas["work1"], _ = pr(repo, 1, "feature", 2)
    # The old separators: a second record claiming PR 1's commit, by Mallory, with an AI trailer.
    forged = (
        f"Harmless\x1f\x1e{shas['work1']}\x1f\x1fMallory\x1fmallory@evil.example\x1f{at(3)}\x1fMallory"
        f"\x1fmallory@evil.example\x1f{at(3)}\x1f{AI_TRAILER}\x1f"
    )
    shas["forged"] = repo.commit(forged, date=at(3))
    shas["odd"] = repo.commit("odd names", date=at(4), author=ODD)
    shas["year 9999"] = repo.commit("year 9999", date="@253402300799 +0000")
    pr(repo, 2, "far", 5, merge_date="@253402300799 +0000")
    parent = repo.git("rev-parse", "HEAD")
    for message, when in FORGED_DATES.items():
        line = ident(b"F", b"f@example.com", when)
        parent = forge_commit(
            repo, b"author " + line + b"\ncommitter " + line + b"\n", message.encode(), parent=parent
        )
        shas[message] = parent
    huge = ident(b"H", b"h@example.com", b"1709856000 +0000")  # 2024-03-08
    body = b"big\n\n" + b"y" * 5_000_000
    parent = forge_commit(repo, b"author " + huge + b"\ncommitter " + huge + b"\n", body, parent=parent)
    repo.git("update-ref", "refs/heads/main", parent)
    repo.git("reset", "-q", "--hard", parent)
    pr(repo, 3, "last", 9)
    return shas


def test_a_hostile_repository_imports_exactly_and_runs_nothing(git_repo: GitRepo, tmp_path: Path) -> None:
    shas = build(git_repo)
    markers = tmp_path / "markers"
    make_hostile(git_repo, markers)
    out, err = StringIO(), StringIO()
    call_command("import_git", str(git_repo.path), "--name", "acme/app", stdout=out, stderr=err, verbosity=0)
    assert "acme/app: 14 commits (14 new), 3 PRs found (3 merged, 3 new), 0 reverts, 0 AI-assisted PRs" in (
        out.getvalue()
    )
    # year 9999 (author and committer), PR 2's merge (both), the three forged raw dates (both): 10 dates.
    assert err.getvalue().startswith("warning: 10 commit dates stored as unknown")
    assert sorted(p.name for p in markers.iterdir()) == []
    assert Commit.objects.count() == 14
    # The trailer line is really in the forged commit's own message, and nowhere else: not on PR 1's commit.
    assert list(AIEvidence.objects.values_list("commit__sha", "pull_request")) == [(shas["forged"], None)]
    assert not Identity.objects.filter(value__icontains="mallory").exists()
    assert sorted(Person.objects.values_list("display_name", flat=True)) == sorted(
        ["Alice", "Bob", "F", "H", "Merger", ODD[0]]
    )
    commits = {c.sha: c for c in Commit.objects.all()}
    assert commits[shas["work1"]].message == "feature change"
    assert commits[shas["forged"]].message.startswith("Harmless\x1f\x1e")
    for name in ("year 9999", *FORGED_DATES):
        assert (commits[shas[name]].authored_at, commits[shas[name]].committed_at) == (None, None), name
    assert max(len(c.message) for c in commits.values()) == 5_000_005
    prs = {p.number: p for p in PullRequest.objects.all()}
    assert prs[2].merged_at is None and prs[1].merged_at is not None and prs[3].merged_at is not None
    assert not any(p.ai_tools for p in prs.values())
    assert SyncRun.objects.get().counts["dates_discarded"] == 10
    # The metrics were computed, and a recompute after the import still succeeds.
    assert MetricSnapshot.objects.exists()
    assert snapshots_recompute() > 0
