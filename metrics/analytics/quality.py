"""Quality: finding reverts of merged PRs, revert rate and time-to-revert.

A revert is found by the union of (DESIGN.md): a landed commit whose body says
``This reverts commit <sha>``; a subject or PR title ``Revert "<title>"``; a body
``Reverts owner/repo#N``; a head branch ``revert-<N>-...`` (GitHub) or ``revert-<sha8>`` (GitLab);
or an explicit link from the source (``reverts_number``).  A revert of a revert restores the
original: the first revert then gets ``restored_at`` and no longer counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

import pandas as pd

SHA_RE = re.compile(r"This reverts commit ([0-9a-f]{7,64})", re.IGNORECASE)
TITLE_RE = re.compile(r'^Revert "(?P<title>.*)"\s*$')
REVERTS_REF_RE = re.compile(r"^Reverts [\w.-]+/[\w./-]+#(\d+)\s*$", re.MULTILINE)
GH_BRANCH_RE = re.compile(r"^revert-(\d+)-")
GL_BRANCH_RE = re.compile(r"^revert-([0-9a-f]{8})$")
SQUASH_SUFFIX_RE = re.compile(r"\s*\(#(\d+)\)\s*$")
MERGE_TITLE_RE = re.compile(r"^Merge pull request #(\d+) from ")

REVERT_COLUMNS = [
    "revert_sha",
    "reverting_number",
    "reverted_number",
    "reverted_at",
    "evidence",
    "matched_text",
    "restored_at",
]


@dataclass
class _Event:
    revert_sha: str
    reverting_number: int | None
    landed_at: pd.Timestamp
    evidence: str
    matched_text: str
    target_sha: str = ""
    target_title: str = ""
    target_number: int | None = None
    subject: str = ""


def _subject(message: str) -> str:
    return message.split("\n", 1)[0].strip()


def _commit_events(
    commits: pd.DataFrame, pr_of_sha: dict[str, int], merged_at: dict[int, pd.Timestamp]
) -> list[_Event]:
    events: list[_Event] = []
    landed = commits[commits["on_default_branch"].astype(bool)]
    columns = (landed["sha"], landed["message"], landed["committed_at"])
    for sha, message, committed_at in zip(*columns, strict=True):
        shas = SHA_RE.findall(message)
        title = TITLE_RE.match(SQUASH_SUFFIX_RE.sub("", _subject(message)))
        if not shas and not title:
            continue
        number = pr_of_sha.get(sha)
        when = merged_at.get(number, committed_at) if number is not None else committed_at
        for target in shas:
            events.append(
                _Event(
                    sha,
                    number,
                    when,
                    "sha",
                    f"This reverts commit {target}",
                    target_sha=target.lower(),
                    subject=_subject(message),
                )
            )
        if title and not shas:
            events.append(
                _Event(
                    sha,
                    number,
                    when,
                    "title",
                    _subject(message),
                    target_title=title.group("title"),
                    subject=_subject(message),
                )
            )
    return events


def _pr_events(prs: pd.DataFrame) -> list[_Event]:
    events: list[_Event] = []
    merged = prs[prs["state"] == "merged"]
    for row in merged.itertuples():
        # itertuples() yields loosely typed scalars; these columns hold str / int / Timestamp.
        sha = cast(str, row.merge_sha or "")
        number = int(cast(int, row.number))
        when = cast(pd.Timestamp, row.merged_at)
        pr_title = cast(str, row.title or "")
        title = TITLE_RE.match(SQUASH_SUFFIX_RE.sub("", pr_title))
        if title:
            events.append(
                _Event(
                    sha, number, when, "title", pr_title, target_title=title.group("title"), subject=pr_title
                )
            )
        for ref in REVERTS_REF_RE.findall(cast(str, row.body or "")):
            events.append(_Event(sha, number, when, "reverts_ref", f"Reverts #{ref}", target_number=int(ref)))
        branch = cast(str, row.head_branch or "")
        if m := GH_BRANCH_RE.match(branch):
            events.append(_Event(sha, number, when, "branch", branch, target_number=int(m.group(1))))
        elif m := GL_BRANCH_RE.match(branch):
            events.append(_Event(sha, number, when, "branch", branch, target_sha=m.group(1)))
        explicit = getattr(row, "reverts_number", None)
        if explicit is not None and pd.notna(explicit):
            events.append(
                _Event(
                    sha, number, when, "explicit", f"reverts #{int(explicit)}", target_number=int(explicit)
                )
            )
    return events


class _Resolver:
    """Finds the merged PR an event points at (by sha, sha prefix, number or title)."""

    def __init__(self, prs: pd.DataFrame, pr_commits: pd.DataFrame) -> None:
        merged = prs[prs["state"] == "merged"]
        self.merged_at = dict(zip(merged["number"].astype(int), merged["merged_at"], strict=True))
        self.by_sha: dict[str, int] = {}
        for sha, number in zip(pr_commits["sha"], pr_commits["number"], strict=True):
            if int(number) in self.merged_at:
                self.by_sha.setdefault(sha, int(number))
        for sha, number in zip(merged["merge_sha"], merged["number"], strict=True):
            if sha:
                self.by_sha[sha] = int(number)  # the merge/squash commit names the PR best
        self.sorted_shas = sorted(self.by_sha)
        # Subjects of the PRs' own commits: ``Revert "<commit subject>"`` names the PR holding it.
        self.by_subject: dict[str, int] = {}
        if "subject" in pr_commits:
            for subject, number in zip(pr_commits["subject"], pr_commits["number"], strict=True):
                if int(number) in self.merged_at:
                    self.by_subject.setdefault(subject, int(number))
        self.by_title: dict[str, list[int]] = {}
        for title, number in zip(merged["title"], merged["number"], strict=True):
            for variant in {title or "", SQUASH_SUFFIX_RE.sub("", title or "")}:
                self.by_title.setdefault(variant.strip(), []).append(int(number))

    def sha(self, sha: str) -> int | None:
        if sha in self.by_sha:
            return self.by_sha[sha]
        import bisect

        i = bisect.bisect_left(self.sorted_shas, sha)
        if i < len(self.sorted_shas) and self.sorted_shas[i].startswith(sha):
            return self.by_sha[self.sorted_shas[i]]
        return None

    def resolve(self, event: _Event) -> int | None:
        if event.target_sha:
            return self.sha(event.target_sha)
        if event.target_number is not None:
            return event.target_number if event.target_number in self.merged_at else None
        named = SQUASH_SUFFIX_RE.search(event.target_title) or MERGE_TITLE_RE.match(event.target_title)
        if named and int(named.group(1)) in self.merged_at:
            return int(named.group(1))
        title = event.target_title.strip()
        candidates = [n for n in self.by_title.get(title, []) if self.merged_at[n] <= event.landed_at]
        if candidates:
            return max(candidates, key=lambda n: self.merged_at[n])
        return self.by_subject.get(title)


def _restores(event: _Event, found: list[dict], resolver: _Resolver) -> list[dict]:
    """Earlier reverts that this event reverts (a revert of a revert)."""
    if event.target_sha:
        number = resolver.sha(event.target_sha)
        return [
            r
            for r in found
            if r["revert_sha"].startswith(event.target_sha)
            or (number is not None and r["reverting_number"] == number)
        ]
    if event.target_number is not None:
        return [r for r in found if r["reverting_number"] == event.target_number]
    if TITLE_RE.match(event.target_title):
        wanted = SQUASH_SUFFIX_RE.sub("", event.target_title).strip()
        return [r for r in found if SQUASH_SUFFIX_RE.sub("", r["subject"]).strip() == wanted]
    return []


def find_reverts(*, prs: pd.DataFrame, commits: pd.DataFrame, pr_commits: pd.DataFrame) -> pd.DataFrame:
    """Reverts of merged PRs in one repository.

    Input columns — prs: number, title, state, merged_at (UTC), head_branch, merge_sha, body,
    reverts_number (nullable); commits: sha, message, committed_at (UTC), on_default_branch;
    pr_commits: number, sha, optional subject (first line of the commit message).  Output: one row
    per (reverting change, reverted PR) with ``REVERT_COLUMNS``; ``reverted_at`` is when the revert
    landed on the default branch (the reverting PR's merge time, or the commit time of a direct
    commit), ``restored_at`` when a later revert of the revert landed (NaT while the revert
    stands).  A change that reverts a commit of its own PR is not a revert of merged work and is
    left out.
    """
    resolver = _Resolver(prs, pr_commits)
    events = _commit_events(commits, resolver.by_sha, resolver.merged_at) + _pr_events(prs)
    events.sort(key=lambda e: e.landed_at)
    found: list[dict] = []
    seen: set[tuple[object, int]] = set()
    for event in events:
        restored = _restores(event, found, resolver)
        if restored:
            for record in restored:
                if pd.isna(record["restored_at"]):
                    record["restored_at"] = event.landed_at
            continue
        target = resolver.resolve(event)
        if target is None or target == event.reverting_number or event.landed_at < resolver.merged_at[target]:
            continue
        unit = event.reverting_number if event.reverting_number is not None else event.revert_sha
        if (unit, target) in seen:
            continue
        seen.add((unit, target))
        found.append(
            {
                "revert_sha": event.revert_sha,
                "reverting_number": event.reverting_number,
                "reverted_number": target,
                "reverted_at": event.landed_at,
                "evidence": event.evidence,
                "matched_text": event.matched_text,
                "restored_at": pd.NaT,
                "subject": event.subject,
            }
        )
    frame = pd.DataFrame(found, columns=[*REVERT_COLUMNS, "subject"]).drop(columns="subject")
    frame["reverting_number"] = frame["reverting_number"].astype("Int64")
    return frame
