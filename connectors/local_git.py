"""The local_git connector: pull requests recovered from any git repository, no API needed.

Works on a working clone or a bare mirror from any host.  See ``git_prs`` for how merge commits,
squash merges, GitLab merges and pull refs become PRs.  Three git processes do all the reading:
one ``git log`` over the default branch and the pull refs (hashes, parents and sizes only), one
``git cat-file --batch`` for the commits themselves (see ``git_objects``: no byte of a message can
forge a record), and one ``git diff-tree --stdin`` for the diffs of merged and open PRs.  Every git
command runs with the safe configuration of ``git_cli``: the repository's config runs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from connectors.base import Connector, ConnectorError, ProgressCallback, SourceConfig
from connectors.git_cli import Git, GitError, decode
from connectors.git_dag import CommitGraph
from connectors.git_notes import ai_attributions, notes_refs
from connectors.git_objects import parse_commit, read_objects
from connectors.git_prs import PullRequestFinder
from connectors.records import CommitRecord, Record, RepositoryRecord

PULL_REF = re.compile(r"^refs/(?:pull|merge-requests)/(\d+)/head$")
STAT_RE = re.compile(rb"(\d+) files? changed(?:, (\d+) insertions?\(\+\))?(?:, (\d+) deletions?\(-\))?")
REMOTE_RE = re.compile(r"[:/]([^/:]+/[^/]+?)(?:\.git)?/?$")
# Only hexadecimal hashes and git's own stat line come out of git log; the NUL before each commit
# cannot occur in either.
LOG_FORMAT = "%x00%H %P"
DIFF_FLAGS = ("--no-renames", "--no-color", "--no-ext-diff", "--no-textconv", "--shortstat")


def parse_stat(raw: bytes) -> tuple[int, int, int]:
    match = STAT_RE.search(raw)
    if not match:
        return 0, 0, 0
    files, plus, minus = match.groups()
    return int(plus or 0), int(minus or 0), int(files)


def open_repository(path: Path) -> Git:
    if not path.exists():
        raise ConnectorError(f"{path}: no such file or directory")
    if not path.is_dir():
        raise ConnectorError(f"{path}: not a directory, so not a git repository")
    git = Git(path)
    try:
        git.run("rev-parse", "--git-dir")
    except GitError as exc:
        if "dubious ownership" in exc.stderr:
            raise ConnectorError(
                f"{path}: owned by another user, and git will not read a repository it cannot trust "
                "(run Sextant as the repository's owner, or import a clone that Sextant's user owns)"
            ) from exc
        raise ConnectorError(
            f"{path}: not a git repository (no .git directory, and not a bare mirror)"
        ) from exc
    return git


def refs_of(git: Git) -> dict[str, str]:
    out = decode(git.run("for-each-ref", "--format=%(refname) %(objectname) %(objecttype)"))
    refs = {}
    for line in out.splitlines():
        name, sha, kind = line.split(" ")
        if kind == "commit":
            refs[name] = sha
    return refs


def default_branch_ref(git: Git, refs: dict[str, str], wanted: str = "") -> str | None:
    candidates = []
    if wanted:
        candidates += [f"refs/heads/{wanted}", f"refs/remotes/origin/{wanted}", wanted]
    for symbolic in ("refs/remotes/origin/HEAD", "HEAD"):
        target = git.try_run("symbolic-ref", "-q", symbolic)
        if target:
            candidates.append(target)
    candidates += [
        "refs/heads/main",
        "refs/heads/master",
        "refs/remotes/origin/main",
        "refs/remotes/origin/master",
    ]
    if wanted and not any(c in refs for c in candidates[:3]):
        raise ConnectorError(f"branch {wanted!r} not found in {git.path}")
    return next((c for c in candidates if c in refs), None)


def repository_name(git: Git, path: Path) -> str:
    url = git.try_run("config", "--get", "remote.origin.url") or ""
    match = REMOTE_RE.search(url)
    if match and not url.startswith(("/", ".", "file:")):
        return match.group(1)
    name = Path(url.rstrip("/")).name if url else path.resolve().name
    return name[:-4] if name.endswith(".git") else name


def read_log(git: Git, refs: list[str]) -> tuple[list[tuple[str, tuple[str, ...], bytes]], list[str]]:
    """(sha, parents, stat line) of every commit reachable from ``refs``, parents before children."""
    out = git.run("log", "--topo-order", "--reverse", *DIFF_FLAGS, f"--format={LOG_FORMAT}", *refs, "--")
    entries = []
    for chunk in out.split(b"\x00")[1:]:
        line, _, stat = chunk.partition(b"\n")
        sha, *parents = line.decode("ascii").split()
        entries.append((sha, tuple(parents), stat))
    return entries, [sha for sha, _, _ in entries]


class DroppedDates:
    """How many commit dates were stored as unknown, and the first, for the import's warning."""

    def __init__(self) -> None:
        self.count = 0
        self.example = ""

    def note(self, sha: str, which: str, reason: str) -> None:
        if reason:
            self.count += 1
            self.example = self.example or f"{sha[:12]} {which} date {reason}"


def read_commits(git: Git, refs: list[str], repository: str, dropped: DroppedDates) -> Iterator[CommitRecord]:
    """Every commit reachable from ``refs``, parents before children, read from the objects themselves."""
    entries, shas = read_log(git, refs)
    objects = git.run("cat-file", "--batch", "--buffer", input="".join(f"{sha}\n" for sha in shas).encode())
    now = datetime.now(UTC)
    for (sha, parents, stat), raw in zip(entries, read_objects(objects, shas), strict=True):
        commit = parse_commit(raw, now)
        dropped.note(sha, "author", commit.author.dropped)
        dropped.note(sha, "committer", commit.committer.dropped)
        additions, deletions, files = parse_stat(stat)
        yield CommitRecord(
            repository=repository,
            sha=sha,
            parents=parents,
            author=commit.author.identity,
            authored_at=commit.author.at,
            committer=commit.committer.identity,
            committed_at=commit.committer.at,
            message=commit.message,
            additions=additions,
            deletions=deletions,
            changed_files=files,
        )


def diff_stats(git: Git, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Diff (additions, deletions, files) from ``base`` to ``head`` for each pair, in one git process."""
    if not pairs:
        return {}
    lines = "".join(f"{head} {base}\n" for base, head in pairs).encode()
    out = git.run("diff-tree", "--stdin", "-r", *DIFF_FLAGS, input=lines)
    stats: dict[str, tuple[int, int, int]] = {}
    current = ""
    for line in out.splitlines():
        if line.startswith(b" "):
            stats[current] = parse_stat(line)
        elif line.strip():
            current = decode(line).split()[0]
            stats.setdefault(current, (0, 0, 0))
    # diff-tree echoes the head; a head diffed against two bases never happens for one PR.
    return {(base, head): stats.get(head, (0, 0, 0)) for base, head in pairs}


class LocalGitConnector(Connector):
    """Options: ``name`` (owner/repo), ``branch`` (default branch), ``open_pr_max_age_days``."""

    kind = "git"

    def __init__(self, config: SourceConfig, progress: ProgressCallback | None = None) -> None:
        super().__init__(config, progress)
        self._dropped = DroppedDates()

    @property
    def discarded_dates(self) -> int:
        """Commit dates of the last read stored as unknown: unreadable, or not believable (timebounds)."""
        return self._dropped.count

    @property
    def discarded_example(self) -> str:
        return self._dropped.example

    @property
    def counts(self) -> dict[str, int]:
        return {"dates_discarded": self._dropped.count} if self._dropped.count else {}

    def check(self) -> None:
        open_repository(Path(self.config.location))

    def records(self) -> Iterator[Record]:
        path = Path(self.config.location)
        git = open_repository(path)
        self._dropped = DroppedDates()
        name = self.config.options.get("name") or repository_name(git, path)
        refs = refs_of(git)
        main_ref = default_branch_ref(git, refs, self.config.options.get("branch", ""))
        branch = (main_ref or "refs/heads/main").split("/")[-1]
        yield RepositoryRecord(full_name=name, host="git", default_branch=branch, url="")
        if main_ref is None:
            return  # an empty repository: nothing to import
        pull_refs = {int(m.group(1)): sha for ref, sha in refs.items() if (m := PULL_REF.match(ref))}
        self.progress("reading history", 0, None)
        graph = CommitGraph()
        commits: list[CommitRecord] = []
        wanted = [main_ref, *(ref for ref in refs if PULL_REF.match(ref))]
        for commit in read_commits(git, wanted, name, self._dropped):
            graph.add(commit.sha, commit.parents)
            commits.append(commit)
            if len(commits) % 5000 == 0:
                self.progress("reading history", len(commits), None)
        self.progress("reading history", len(commits), len(commits))
        if self._dropped.count:  # the sync records it on the run; import_git warns
            self.problems.append(
                f"{self._dropped.count} commit dates stored as unknown: unreadable, before 1970 or more than "
                f"a day after this import (first: {self._dropped.example})"
            )
        finder = PullRequestFinder(
            repository=name,
            branch=branch,
            graph=graph,
            commits=commits,
            main_tip=refs[main_ref],
            pull_refs=pull_refs,
            open_max_age_days=int(self.config.options.get("open_pr_max_age_days", 30)),
        )
        landed = finder.landed
        for i, commit in enumerate(commits):
            yield replace(commit, on_default_branch=bool(landed[i])) if landed[i] else commit
        # Line-level AI attribution in git notes (refs/notes/ai), where a tool such as git-ai writes it.
        additions = {commit.sha: commit.additions for commit in commits if not commit.is_merge}
        yield from ai_attributions(git, notes_refs(git), additions, name, self.problems)
        self.progress("finding pull requests", 0, None)
        prs = finder.find()
        stats = diff_stats(git, [(base, head) for base, head in finder.diff_pairs.values()])
        for pr in prs:
            yield finder.with_size(pr, stats)
        self.progress("finding pull requests", len(prs), len(prs))
