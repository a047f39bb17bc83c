"""The local_git connector: pull requests recovered from any git repository, no API needed.

Works on a working clone or a bare mirror from any host.  See ``git_prs`` for how merge commits,
squash merges, GitLab merges and pull refs become PRs.  Two git processes do all the reading:
one ``git log`` over the default branch and the pull refs, and one ``git diff-tree --stdin`` for
the diffs of merged and open PRs.  Every git command runs with the safe configuration of ``git_cli``:
the repository's config runs nothing.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from connectors.base import Connector, ConnectorError
from connectors.git_cli import Git, GitError, decode
from connectors.git_dag import CommitGraph
from connectors.git_prs import PullRequestFinder
from connectors.records import CommitRecord, IdentityRecord, Record, RepositoryRecord

LOG_FORMAT = "%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%B%x1f"
PULL_REF = re.compile(r"^refs/(?:pull|merge-requests)/(\d+)/head$")
STAT_RE = re.compile(rb"(\d+) files? changed(?:, (\d+) insertions?\(\+\))?(?:, (\d+) deletions?\(-\))?")
REMOTE_RE = re.compile(r"[:/]([^/:]+/[^/]+?)(?:\.git)?/?$")
DIFF_FLAGS = ("--no-renames", "--no-color", "--no-ext-diff", "--no-textconv", "--shortstat")


def parse_date(value: str) -> datetime | None:
    """git's strict ISO date; git shows a missing or broken date as the epoch, which means unknown."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.timestamp() <= 0:
        return None
    return parsed


def parse_stat(raw: bytes) -> tuple[int, int, int]:
    match = STAT_RE.search(raw)
    if not match:
        return 0, 0, 0
    files, plus, minus = match.groups()
    return int(plus or 0), int(minus or 0), int(files)


def parse_log_record(raw: bytes, repository: str) -> CommitRecord:
    fields = raw.split(b"\x1f")
    sha, parents, an, ae, ad, cn, ce, cd = (decode(f) for f in fields[:8])
    additions, deletions, files = parse_stat(fields[9] if len(fields) > 9 else b"")
    return CommitRecord(
        repository=repository, sha=sha.strip(), parents=tuple(parents.split()),
        author=IdentityRecord(name=an, email=ae),
        committer=IdentityRecord(name=cn, email=ce), authored_at=parse_date(ad), committed_at=parse_date(cd),
        message=decode(fields[8]).rstrip("\n"), additions=additions, deletions=deletions, changed_files=files,
    )


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
        "refs/heads/main", "refs/heads/master", "refs/remotes/origin/main", "refs/remotes/origin/master",
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


def read_log(git: Git, refs: list[str], repository: str) -> Iterator[CommitRecord]:
    """Every commit reachable from ``refs``, parents before children."""
    out = git.run(
        "log", "--topo-order", "--reverse", *DIFF_FLAGS, f"--format={LOG_FORMAT}",
        *refs, "--",
    )
    for chunk in out.split(b"\x1e")[1:]:
        yield parse_log_record(chunk, repository)


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

    def check(self) -> None:
        open_repository(Path(self.config.location))

    def records(self) -> Iterator[Record]:
        path = Path(self.config.location)
        git = open_repository(path)
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
        for commit in read_log(git, [main_ref, *(ref for ref in refs if PULL_REF.match(ref))], name):
            graph.add(commit.sha, commit.parents)
            commits.append(commit)
            if len(commits) % 5000 == 0:
                self.progress("reading history", len(commits), None)
        self.progress("reading history", len(commits), len(commits))
        finder = PullRequestFinder(
            repository=name, branch=branch, graph=graph, commits=commits, main_tip=refs[main_ref],
            pull_refs=pull_refs, open_max_age_days=int(self.config.options.get("open_pr_max_age_days", 30)),
        )
        landed = finder.landed
        for i, commit in enumerate(commits):
            yield replace(commit, on_default_branch=bool(landed[i])) if landed[i] else commit
        self.progress("finding pull requests", 0, None)
        prs = finder.find()
        stats = diff_stats(git, [(base, head) for base, head in finder.diff_pairs.values()])
        for pr in prs:
            yield finder.with_size(pr, stats)
        self.progress("finding pull requests", len(prs), len(prs))

