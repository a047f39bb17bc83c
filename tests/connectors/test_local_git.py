"""The local_git connector on small real repositories built with the git CLI, with exact expectations."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.base import ConnectorError, SourceConfig
from connectors.local_git import LocalGitConnector
from connectors.records import CommitRecord, PullRequestRecord, RepositoryRecord
from tests.conftest import GitRepo
from tests.hostile_git import drop_object, forge_commit, ident, make_hostile

BOB = ("Bob", "bob@example.com")
CAROL = ("Carol", "carol@example.com")


def at(day: int, hour: int = 0) -> str:
    return f"2024-03-{day:02d}T{hour:02d}:00:00+00:00"


def ts(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC)


def read(path: Path, **options: object) -> tuple[list[CommitRecord], dict[int, PullRequestRecord]]:
    config = SourceConfig(kind="git", name="t", location=str(path), options=options)
    records = list(LocalGitConnector(config).records())
    commits = [r for r in records if isinstance(r, CommitRecord)]
    prs = {r.number: r for r in records if isinstance(r, PullRequestRecord)}
    return commits, prs


def feature_branch(repo: GitRepo, name: str, commits: list[tuple[int, tuple[str, str], int]]) -> list[str]:
    repo.git("checkout", "-q", "-b", name)
    shas = [
        repo.commit(f"{name} work {i}", date=at(day), author=who, files={f"{name}.txt": lines})
        for i, (day, who, lines) in enumerate(commits)
    ]
    repo.git("checkout", "-q", "main")
    return shas


def test_merge_commit_pr(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    feature_branch(git_repo, "feature", [(3, BOB, 5), (4, BOB, 2), (5, CAROL, 1)])
    git_repo.commit("unrelated on main", date=at(6))
    merge = git_repo.merge(
        "feature", "Merge pull request #12 from bob/feature\n\nAdd the feature", date=at(7, 12)
    )
    commits, prs = read(git_repo.path)
    pr = prs[12]
    assert pr.state == "merged" and pr.merge_style == "merge"
    assert pr.title == "Add the feature"
    assert pr.head_branch == "feature" and pr.base_branch == "main"
    assert pr.first_commit_at == ts(3) and pr.merged_at == ts(7, 12)
    assert pr.commits_count == 3 and pr.merge_sha == merge
    assert (pr.additions, pr.deletions, pr.changed_files) == (8, 0, 1)  # the PR's diff, not the main commit
    assert pr.author is not None and pr.author.email == "bob@example.com"  # wrote most of its commits
    assert len(commits) == 6 and all(c.on_default_branch for c in commits)


def test_squash_merge_with_pull_ref_uses_the_pr_commits(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    shas = feature_branch(git_repo, "topic", [(2, BOB, 3), (3, BOB, 1)])
    git_repo.git("update-ref", "refs/pull/7/head", shas[-1])
    squash = git_repo.commit(
        "Add topic (#7)", date=at(4), author=BOB, commit_date=at(5, 6), files={"topic.txt": 4}
    )
    commits, prs = read(git_repo.path)
    pr = prs[7]
    assert (pr.state, pr.merge_style, pr.title) == ("merged", "squash", "Add topic")
    assert pr.first_commit_at == ts(2) and pr.merged_at == ts(5, 6)
    assert pr.commits_count == 2 and pr.merge_sha == squash
    assert (pr.additions, pr.deletions, pr.changed_files) == (4, 0, 1)
    landed = {c.sha: c.on_default_branch for c in commits}
    assert landed[squash] and not landed[shas[0]]


def test_squash_merge_without_pull_ref_has_unknown_first_commit(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    git_repo.commit("Fix bug (#8)", date=at(2), commit_date=at(2, 3))
    _, prs = read(git_repo.path)
    assert prs[8].first_commit_at is None and prs[8].commits_count is None
    assert prs[8].merged_at == ts(2, 3) and prs[8].state == "merged"


def test_gitlab_merge_request(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    feature_branch(git_repo, "feat-x", [(2, BOB, 1)])
    git_repo.merge(
        "feat-x", "Merge branch 'feat-x' into 'main'\n\nAdd X\n\nSee merge request group/proj!31", date=at(3)
    )
    _, prs = read(git_repo.path)
    assert (prs[31].merge_style, prs[31].title, prs[31].head_branch) == ("gitlab", "Add X", "feat-x")
    assert prs[31].first_commit_at == ts(2) and prs[31].merged_at == ts(3)


def test_octopus_merge_counts_every_branch(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    feature_branch(git_repo, "a", [(3, BOB, 1)])
    feature_branch(git_repo, "b", [(2, CAROL, 1), (4, CAROL, 1)])
    git_repo.git(
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge pull request #40 from org/a\n\nOctopus",
        "a",
        "b",
        env=GitRepo._ident_env(BOB, BOB, at(5), at(5)),
    )
    _, prs = read(git_repo.path)
    assert prs[40].commits_count == 3 and prs[40].first_commit_at == ts(2)
    assert prs[40].changed_files == 2


def test_merging_main_into_the_branch_does_not_add_main_commits(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.commit("feature 1", date=at(5), author=BOB)
    git_repo.git("checkout", "-q", "main")
    git_repo.commit("main moved on", date=at(2), author=CAROL, commit_date=at(6), files={"main.txt": 9})
    git_repo.git("checkout", "-q", "feature")
    git_repo.merge("main", "Merge branch 'main' into feature", date=at(7), author=BOB)
    git_repo.commit("feature 2", date=at(8), author=BOB)
    git_repo.git("checkout", "-q", "main")
    git_repo.merge("feature", "Merge pull request #3 from bob/feature\n\nFeature", date=at(9))
    _, prs = read(git_repo.path)
    # main's commit (authored on day 2) is not the PR's first commit, and its lines are not the PR's size.
    assert prs[3].first_commit_at == ts(5)
    assert prs[3].commits_count == 3  # two feature commits and the merge of main into the branch
    assert prs[3].additions == 2


def test_unmerged_pull_refs_are_open_or_closed_by_age(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    old = feature_branch(git_repo, "old", [(2, BOB, 1)])
    fresh = feature_branch(git_repo, "fresh", [(20, CAROL, 2)])
    git_repo.git("update-ref", "refs/pull/1/head", old[-1])
    git_repo.git("update-ref", "refs/pull/2/head", fresh[-1])
    git_repo.commit("later", date=at(25))
    _, prs = read(git_repo.path, open_pr_max_age_days=10)
    assert prs[1].state == "closed" and prs[2].state == "open"
    assert prs[2].merged_at is None and prs[2].first_commit_at == ts(20) and prs[2].additions == 2
    assert prs[2].title == "fresh work 0"


def test_odd_and_missing_dates(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    git_repo.git("checkout", "-q", "-b", "odd")
    git_repo.commit("far east", date="2024-03-02T23:30:00+14:00", author=BOB)
    git_repo.commit("epoch", date="@0 +0000", author=BOB)  # git's rendering of a missing date
    git_repo.git("checkout", "-q", "main")
    git_repo.merge("odd", "Merge pull request #5 from bob/odd\n\nOdd dates", date=at(3))
    commits, prs = read(git_repo.path)
    far_east = next(c for c in commits if c.message == "far east")
    assert far_east.authored_at == datetime(2024, 3, 2, 23, 30, tzinfo=timezone(timedelta(hours=14)))
    assert next(c for c in commits if c.message == "epoch").authored_at is None
    assert prs[5].first_commit_at == datetime(2024, 3, 2, 9, 30, tzinfo=UTC)


def test_non_utf8_message_is_read(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    (git_repo.path / "msg").write_bytes("Caf\xe9 au lait (#9)\n".encode("latin-1"))
    (git_repo.path / "x.txt").write_text("x\n")
    git_repo.git("add", "x.txt")
    git_repo.git(
        "-c",
        "i18n.commitEncoding=utf-8",
        "commit",
        "-q",
        "-F",
        "msg",
        env=GitRepo._ident_env(BOB, BOB, at(2), at(2)),
    )
    _, prs = read(git_repo.path)
    assert prs[9].title == "Café au lait"


def test_empty_repository_yields_only_the_repository(git_repo: GitRepo) -> None:
    config = SourceConfig(kind="git", name="e", location=str(git_repo.path))
    records = list(LocalGitConnector(config).records())
    assert len(records) == 1 and isinstance(records[0], RepositoryRecord)


def test_bare_mirror_and_name_from_remote(git_repo: GitRepo, tmp_path: Path) -> None:
    git_repo.commit("initial", date=at(1))
    feature_branch(git_repo, "f", [(2, BOB, 1)])
    git_repo.merge("f", "Merge pull request #1 from bob/f\n\nF", date=at(3))
    git_repo.git("remote", "add", "origin", "git@git.example.com:acme/widgets.git")
    mirror = tmp_path / "mirror.git"
    git_repo.git("clone", "-q", "--mirror", str(git_repo.path), str(mirror))
    records = list(LocalGitConnector(SourceConfig(kind="git", name="m", location=str(mirror))).records())
    repo = next(r for r in records if isinstance(r, RepositoryRecord))
    assert repo.full_name == "repo"  # a mirror's origin is the local path: its folder name is used
    assert [r.number for r in records if isinstance(r, PullRequestRecord)] == [1]
    named = list(LocalGitConnector(SourceConfig(kind="git", name="w", location=str(git_repo.path))).records())
    assert next(r for r in named if isinstance(r, RepositoryRecord)).full_name == "acme/widgets"


@pytest.mark.parametrize("make", ["missing", "file", "plain_dir"])
def test_not_a_repository(tmp_path: Path, make: str) -> None:
    target = tmp_path / "thing"
    if make == "file":
        target.write_text("x")
    elif make == "plain_dir":
        target.mkdir()
    with pytest.raises(ConnectorError, match="thing"):
        list(LocalGitConnector(SourceConfig(kind="git", name="x", location=str(target))).records())


# -- hostile repositories (issue 15, findings 2 and 6, and forged dates) ------------------------------
AI_TRAILER = "Use AI\n\nCo-authored-by: Claude <noreply@anthropic.com>"


def connector(path: Path) -> LocalGitConnector:
    return LocalGitConnector(SourceConfig(kind="git", name="t", location=str(path)))


def test_separator_bytes_in_a_message_forge_no_commit(git_repo: GitRepo) -> None:
    first = git_repo.commit("initial", date=at(1))
    # What the old log format (%x1e record, %x1f field separators) read as a second record for `first`.
    forged = (
        f"Harmless\x1f\x1e{first}\x1f\x1fMallory\x1fmallory@evil.example\x1f{at(2)}\x1fMallory"
        f"\x1fmallory@evil.example\x1f{at(2)}\x1f{AI_TRAILER}\x1f and \x01\x7f bytes"
    )
    second = git_repo.commit(forged, date=at(3))
    commits, _ = read(git_repo.path)
    assert [c.sha for c in commits] == [first, second]
    assert [c.message for c in commits] == ["initial", forged]
    assert {c.author.name for c in commits} == {"Alice"}
    assert [c.authored_at for c in commits] == [ts(1), ts(3)]


def test_separator_bytes_in_names_and_emails(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    odd = ("Ev\x1eil\x1fone\x1e", "e\x1f\x1evil@example.com")
    sha = git_repo.commit("odd person", date=at(2), author=odd, committer=("Q\x1fq", "q@example.com"))
    commits, _ = read(git_repo.path)
    assert len(commits) == 2 and commits[1].sha == sha and commits[1].message == "odd person"
    assert (commits[1].author.name, commits[1].author.email) == (odd[0][:-1], odd[1])
    assert commits[1].committer.name == "Q\x1fq" and commits[1].committed_at == ts(2)


def test_forged_commit_objects_with_any_bytes(git_repo: GitRepo) -> None:
    base = git_repo.commit("initial", date=at(1))
    when = b"1709424000 +0100"  # 2024-03-03T00:00:00Z
    sig = b"gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEz\n -----END PGP SIGNATURE-----\n"
    latin = forge_commit(
        git_repo,
        b"author "
        + ident(b"Jos\xe9", b"j@example.com", when)
        + b"\ncommitter "
        + ident(b"C", b"c@example.com", when)
        + b"\nencoding ISO-8859-1\n"
        + sig,
        b"Caf\xe9\x00\x1e\x1f\n\nbody\n",
        parent=base,
    )
    broken = b"author Nobody\ncommitter Half <open " + when + b"\nencoding no-such-codec\n"
    odd = forge_commit(git_repo, broken, b"\xff\xfe raw", parent=latin)
    huge = forge_commit(
        git_repo,
        b"author "
        + ident(b"A", b"a@example.com", when)
        + b"\ncommitter "
        + ident(b"A", b"a@example.com", when)
        + b"\n",
        b"x" * 5_000_000 + b"\n",
        parent=odd,
    )
    git_repo.git("update-ref", "refs/heads/main", huge)
    commits, _ = read(git_repo.path)
    assert [c.sha for c in commits] == [base, latin, odd, huge]
    assert commits[1].message == "Caf\xe9\ufffd\x1e\x1f\n\nbody" and commits[1].author.name == "José"
    assert commits[1].authored_at == datetime(2024, 3, 3, 1, tzinfo=timezone(timedelta(hours=1)))
    assert (commits[2].author.name, commits[2].author.email, commits[2].authored_at) == ("Nobody", "", None)
    assert commits[2].committer.name == "Half" and commits[2].message == "\xff\xfe raw"
    assert len(commits[3].message) == 5_000_000 and commits[3].parents == (odd,)


def test_forged_dates_are_stored_as_unknown(git_repo: GitRepo) -> None:
    now = datetime.now(UTC)
    base = git_repo.commit("initial", date=at(1))
    year_9999 = git_repo.commit("year 9999", date="@253402300799 +0000")
    soon = int((now + timedelta(hours=12)).timestamp())
    tomorrow = git_repo.commit("in 12 hours", date=f"@{soon} +0000", commit_date=at(5))
    later = git_repo.commit("in 3 days", date=f"@{soon + 3 * 86400} +0000", commit_date=at(5))
    dates = {
        b"year 1": b"-62135596800 +0000",
        b"overflow": b"99999999999999999999 +0000",
        b"epoch": b"0 +0000",
        b"odd zone": b"1709424000 +9999",
    }
    parent = later
    for message, when in dates.items():
        parent = forge_commit(
            git_repo,
            b"author "
            + ident(b"F", b"f@example.com", when)
            + b"\ncommitter "
            + ident(b"F", b"f@example.com", when)
            + b"\n",
            message,
            parent=parent,
        )
    git_repo.git("update-ref", "refs/heads/main", parent)
    source = connector(git_repo.path)
    commits = {c.message: c for c in source.records() if isinstance(c, CommitRecord)}
    assert commits["initial"].sha == base and commits["year 9999"].sha == year_9999
    assert (commits["year 9999"].authored_at, commits["year 9999"].committed_at) == (None, None)
    assert commits["in 12 hours"].sha == tomorrow and commits["in 12 hours"].authored_at is not None
    assert commits["in 3 days"].authored_at is None and commits["in 3 days"].committed_at == ts(5)
    for message in ("year 1", "overflow", "epoch"):
        assert (commits[message].authored_at, commits[message].committed_at) == (None, None), message
    # An impossible UTC offset does not lose the moment: it is kept in UTC.
    assert commits["odd zone"].authored_at == datetime(2024, 3, 3, tzinfo=UTC)
    assert source.discarded_dates == 9 and source.counts == {"dates_discarded": 9}
    assert source.problems == [
        f"9 commit dates stored as unknown: unreadable, before 1970 or more than a day after this import "
        f"(first: {source.discarded_example})"
    ]
    assert source.discarded_example.startswith(f"{year_9999[:12]} author date 9999-12-31T23:59:59+00:00")


def hostile_repo_with_prs(repo: GitRepo) -> None:
    repo.commit("initial", date=at(1))
    feature_branch(repo, "feature", [(2, BOB, 3)])
    repo.merge("feature", "Merge pull request #1 from bob/feature\n\nF", date=at(3))
    open_pr = feature_branch(repo, "open", [(4, CAROL, 2)])
    repo.git("update-ref", "refs/pull/2/head", open_pr[-1])
    when = b"1709510400 +0000"
    signed = forge_commit(
        repo,
        b"author "
        + ident(b"A", b"a@example.com", when)
        + b"\ncommitter "
        + ident(b"A", b"a@example.com", when)
        + b"\ngpgsig -----BEGIN PGP SIGNATURE-----\n iQEz\n -----END PGP SIGNATURE-----\n",
        b"signed\n",
        parent=repo.git("rev-parse", "HEAD"),
    )
    repo.git("update-ref", "refs/heads/main", signed)


def test_repository_config_runs_no_command(git_repo: GitRepo, tmp_path: Path) -> None:
    hostile_repo_with_prs(git_repo)
    markers = tmp_path / "markers"
    make_hostile(git_repo, markers)
    commits, prs = read(git_repo.path)
    assert sorted(p.name for p in markers.iterdir()) == []
    assert len(commits) == 5 and sorted(prs) == [1, 2]
    assert (prs[1].additions, prs[2].additions) == (3, 2)  # sizes still come from git's own diff


def test_a_missing_object_is_not_fetched_through_the_repository_remote(
    git_repo: GitRepo, tmp_path: Path
) -> None:
    git_repo.commit("initial", date=at(1))
    git_repo.commit("second", date=at(2))
    tree = git_repo.git("rev-parse", "HEAD^{tree}")
    markers = tmp_path / "markers"
    make_hostile(git_repo, markers)
    drop_object(git_repo, tree)
    with pytest.raises(ConnectorError, match=r"^git log failed in .*: .*tree"):
        read(git_repo.path)
    assert sorted(p.name for p in markers.iterdir()) == []


def test_the_environment_cannot_point_git_elsewhere(
    git_repo: GitRepo, make_git_repo: Callable[[str], GitRepo], monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo.commit("initial", date=at(1))
    other = make_git_repo("other")
    other.commit("other one", date=at(2))
    other.commit("other two", date=at(3))
    monkeypatch.setenv("GIT_DIR", str(other.path / ".git"))
    commits, _ = read(git_repo.path)
    assert [c.message for c in commits] == ["initial"]


def test_a_folder_inside_a_repository_is_not_that_repository(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    (git_repo.path / "sub").mkdir()
    with pytest.raises(ConnectorError, match="sub: not a git repository"):
        read(git_repo.path / "sub")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a folder away needs root")
def test_a_repository_of_another_user_is_named_as_such(git_repo: GitRepo) -> None:
    git_repo.commit("initial", date=at(1))
    subprocess.run(["chown", "-R", "nobody", str(git_repo.path)], check=True)
    # git refuses it (safe.directory), and Sextant does not lift that: one line saying why.
    with pytest.raises(ConnectorError, match=r"repo: owned by another user, and git will not read"):
        read(git_repo.path)
