"""Recovering pull requests from a commit graph (used by the local_git connector).

- ``Merge pull request #N from owner/branch`` merges reachable from the default branch (any path):
  the PR's commits are ``first_parent..other_parents``; first commit = the earliest author date
  among them; merged = the merge commit's committer date; size = the merge's first-parent diff.
- GitLab ``Merge branch 'x' into 'main'`` merges whose body says ``See merge request group/project!N``:
  the same rules, the title is the first body line.
- Squash merges: a single-parent commit on the default branch's first-parent line whose subject
  ends in ``(#N)``; the PR's own commits come from ``refs/pull/N/head`` (those not reachable from the
  default branch).  Without that ref the first-commit time is unknown (null, never guessed); the
  PR still counts for throughput and reverts.  Size = the squash commit's own diff.
- Any other ``refs/pull/N/head`` not reachable from the default branch is an unmerged PR: open when
  its newest commit is within ``open_max_age_days`` of the repository's newest commit, else closed
  (git alone cannot tell them apart).  Size = diff from the fork point to the head.
- One PR per number: the earliest merge wins.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from connectors.git_dag import CommitGraph
from connectors.records import CommitRecord, IdentityRecord, PullRequestRecord

MERGE_PR_RE = re.compile(r"^Merge pull request #(\d+) from (\S+)")
GITLAB_MR_RE = re.compile(r"^See merge request (\S+?)!(\d+)\s*$", re.MULTILINE)
GITLAB_BRANCH_RE = re.compile(r"^Merge branch '([^']+)' into '([^']+)'")
SQUASH_RE = re.compile(r"\s*\(#(\d+)\)\s*$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _body_title(message: str) -> str:
    """The first non-empty body line that is not GitLab boilerplate (GitHub/GitLab put the PR title there)."""
    for line in message.split("\n")[1:]:
        text = line.strip()
        if text and not text.startswith(("See merge request", "Closes ", "Fixes ")):
            return text
    return ""


class PullRequestFinder:
    def __init__(
        self,
        *,
        repository: str,
        branch: str,
        graph: CommitGraph,
        commits: list[CommitRecord],
        main_tip: str,
        pull_refs: dict[int, str],
        open_max_age_days: int = 30,
    ) -> None:
        self.repository = repository
        self.branch = branch
        self.graph = graph
        self.commits = commits
        self.main = graph.index[main_tip]
        self.landed = graph.ancestors(self.main)
        self.fp_line = graph.first_parent_line(self.main)
        self.on_fp_line = set(self.fp_line)
        self.pull_refs = pull_refs
        self.open_max_age = timedelta(days=open_max_age_days)
        self.diff_pairs: dict[int, tuple[str, str]] = {}
        dates = [c.committed_at for c in commits if c.committed_at is not None]
        self.newest = max(dates) if dates else None

    # -- helpers ---------------------------------------------------------------------------
    def _author(self, ids: list[int], fallback: CommitRecord) -> IdentityRecord:
        """The PR author: whoever wrote most of its non-merge commits (ties: the earliest)."""
        authors = [self.commits[i].author for i in sorted(ids) if len(self.commits[i].parents) < 2]
        if not authors:
            return fallback.author
        counts = Counter(a.key for a in authors)
        best = max(counts.values())
        return next(a for a in authors if counts[a.key] == best)

    def _first_commit_at(self, ids: list[int]) -> datetime | None:
        dates = [d for i in ids if (d := self.commits[i].authored_at) is not None]
        return min(dates) if dates else None

    def _merged(self, i: int, number: int, title: str, head: str, style: str) -> PullRequestRecord:
        merge = self.commits[i]
        parents = self.graph.parents[i]
        ids = self.graph.range(exclude=parents[:1], include=parents[1:])
        self.diff_pairs[number] = (self.graph.shas[parents[0]], merge.sha)
        return PullRequestRecord(
            repository=self.repository,
            number=number,
            title=title or head,
            author=self._author(ids, merge),
            state="merged",
            first_commit_at=self._first_commit_at(ids),
            merged_at=merge.committed_at,
            updated_at=merge.committed_at,
            commits_count=len(ids),
            head_branch=head,
            base_branch=self.branch if i in self.on_fp_line else "",
            merge_sha=merge.sha,
            body=merge.message,
            commit_shas=(merge.sha, *(self.graph.shas[j] for j in sorted(ids))),
            merge_style=style,
        )

    # -- the three kinds ---------------------------------------------------------------------
    def _merge_commits(self, prs: dict[int, PullRequestRecord]) -> None:
        for i, commit in enumerate(self.commits):
            if not self.landed[i] or len(commit.parents) < 2:
                continue
            subject = commit.subject
            if m := MERGE_PR_RE.match(subject):
                number, head = int(m.group(1)), m.group(2).split("/", 1)[-1]
                if number not in prs:
                    prs[number] = self._merged(i, number, _body_title(commit.message), head, "merge")
            elif gl := GITLAB_MR_RE.search(commit.message):
                number = int(gl.group(2))
                branch = GITLAB_BRANCH_RE.match(subject)
                if number not in prs:
                    head = branch.group(1) if branch else ""
                    prs[number] = self._merged(i, number, _body_title(commit.message), head, "gitlab")

    def _squash_commits(self, prs: dict[int, PullRequestRecord]) -> None:
        for i in reversed(self.fp_line):
            commit = self.commits[i]
            m = SQUASH_RE.search(commit.subject)
            if not m or len(self.graph.parents[i]) != 1 or int(m.group(1)) in prs:
                continue
            number = int(m.group(1))
            ids: list[int] = []
            head = self.graph.index.get(self.pull_refs.get(number, ""))
            if head is not None:
                ids, _ = self.graph.outside(head, self.landed)
            known = bool(ids)
            prs[number] = PullRequestRecord(
                repository=self.repository,
                number=number,
                title=SQUASH_RE.sub("", commit.subject),
                author=commit.author,
                state="merged",
                first_commit_at=self._first_commit_at(ids) if known else None,
                merged_at=commit.committed_at,
                updated_at=commit.committed_at,
                additions=commit.additions,
                deletions=commit.deletions,
                changed_files=commit.changed_files,
                commits_count=len(ids) if known else None,
                base_branch=self.branch,
                merge_sha=commit.sha,
                body=commit.message,
                commit_shas=(commit.sha, *(self.graph.shas[j] for j in sorted(ids))),
                merge_style="squash",
            )

    def _unmerged(self, prs: dict[int, PullRequestRecord]) -> None:
        for number, sha in sorted(self.pull_refs.items()):
            head = self.graph.index.get(sha)
            if number in prs or head is None:
                continue
            ids, boundary = self.graph.outside(head, self.landed)
            if not ids:
                continue  # its head is on the default branch: merged in a way git does not record
            ordered = sorted(ids)
            last = max((d for i in ids if (d := self.commits[i].committed_at) is not None), default=None)
            is_open = last is not None and self.newest is not None and last >= self.newest - self.open_max_age
            if boundary:
                base = max(boundary, key=lambda b: self.graph.generation[b])
                self.diff_pairs[number] = (self.graph.shas[base], sha)
            first = min(
                ordered,
                key=lambda i: (self.commits[i].authored_at is None, self.commits[i].authored_at or EPOCH),
            )
            prs[number] = PullRequestRecord(
                repository=self.repository,
                number=number,
                title=self.commits[first].subject,
                author=self._author(ids, self.commits[head]),
                state="open" if is_open else "closed",
                first_commit_at=self._first_commit_at(ids),
                updated_at=last,
                commits_count=len(ids),
                base_branch=self.branch,
                commit_shas=tuple(self.graph.shas[j] for j in ordered),
                merge_style="",
            )

    def find(self) -> list[PullRequestRecord]:
        prs: dict[int, PullRequestRecord] = {}
        self._merge_commits(prs)
        self._squash_commits(prs)
        self._unmerged(prs)
        return [prs[n] for n in sorted(prs)]

    def with_size(
        self, pr: PullRequestRecord, stats: dict[tuple[str, str], tuple[int, int, int]]
    ) -> PullRequestRecord:
        pair = self.diff_pairs.get(pr.number)
        if pair is None or pair not in stats:
            return pr
        additions, deletions, files = stats[pair]
        return replace(pr, additions=additions, deletions=deletions, changed_files=files)
