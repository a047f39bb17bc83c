"""GitLab merge requests as Sextant records: pure functions over the API's JSON (no network here).

What comes from where (GitLab REST v4):

* the MR itself: title, description, author username, state (``opened``/``merged``/``closed``/``locked``),
  ``draft``, created/merged/closed/updated times, source/target branch, labels, merge/squash sha;
* ``/commits``: author dates (the first commit time) and messages (AI trailers, ``This reverts commit``);
* ``/approvals``: who approved, and when (``approved_at``, GitLab 16.x+; else the system note's time);
* ``/notes``: the first comment by someone other than the author and not a bot (pickup), the system
  notes ``approved this merge request`` and ``marked this merge request as **ready**``;
* ``/diffs``: added and removed lines and changed files (a collapsed or too-large diff counts as a
  changed file with unknown lines: the line counts are then a lower bound).

Revert MRs need nothing special here: GitLab names them ``Revert "<title>"`` on a branch
``revert-<sha8>``; the ingestion's revert finder links them through the title, branch and merge sha.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.gitlab_client import timestamp
from connectors.records import CommitRecord, IdentityRecord, PullRequestRecord, ReviewRecord

STATES = {"opened": "open", "locked": "open", "merged": "merged", "closed": "closed"}
_BOT_LOGIN = re.compile(r"^(project|group)_\d+_bot(_[0-9a-f]+)?$|\[bot\]$|^ghost$|-bot$|^bot-", re.IGNORECASE)
_APPROVED = "approved this merge request"
_UNAPPROVED = "unapproved this merge request"
# "ready" since GitLab 13.x; older instances said "unmarked as a **Work In Progress**".
_READY = re.compile(
    r"^(marked this merge request as \*\*ready\*\*|unmarked as a \*\*work in progress\*\*)", re.IGNORECASE
)


def is_bot(user: dict[str, Any] | None) -> bool:
    """GitLab bots: the ``bot`` flag, project/group access-token users, ``[bot]``/``-bot`` names, ghost."""
    if not user:
        return False
    return bool(user.get("bot")) or bool(_BOT_LOGIN.search(str(user.get("username", ""))))


def identity(user: dict[str, Any] | None) -> IdentityRecord | None:
    if not user or not user.get("username"):
        return None
    return IdentityRecord(name=str(user.get("name") or ""), login=str(user["username"]))


@dataclass
class MergeRequestDetails:
    """What the sub-resources of one MR returned; empty lists when a sub-resource was unavailable."""

    commits: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    approvals: dict[str, Any] = field(default_factory=dict)
    diffs: list[dict[str, Any]] | None = None


def commit_record(repository: str, commit: dict[str, Any], *, landed: bool) -> CommitRecord:
    author = IdentityRecord(
        name=str(commit.get("author_name") or ""), email=str(commit.get("author_email") or "")
    )
    committer = IdentityRecord(
        name=str(commit.get("committer_name") or ""), email=str(commit.get("committer_email") or "")
    )
    return CommitRecord(
        repository=repository,
        sha=str(commit["id"]),
        parents=tuple(commit.get("parent_ids") or ()),
        author=author,
        committer=committer,
        authored_at=timestamp(commit.get("authored_date")),
        committed_at=timestamp(commit.get("committed_date")),
        message=str(commit.get("message") or commit.get("title") or ""),
        on_default_branch=landed,
    )


def approval_noted(notes: list[dict[str, Any]]) -> bool:
    """Whether any system note says someone approved: without one, ``/approvals`` has nothing to add."""
    return any(note.get("system") and str(note.get("body", "")).strip() == _APPROVED for note in notes)


def _approvals(details: MergeRequestDetails) -> list[tuple[dict[str, Any], datetime | None]]:
    """(approver, approved_at) of the current approvals.

    ``/approvals`` says who approves now; its ``approved_at`` (GitLab 16.x+) else the latest
    ``approved this merge request`` system note gives the time.  Without ``/approvals`` (an old or
    restricted instance) the system notes alone tell it, an ``unapproved`` note cancelling an approval.
    """
    from_notes: dict[str, tuple[dict[str, Any], datetime]] = {}
    for note in details.notes:
        body, when = str(note.get("body", "")).strip(), timestamp(note.get("created_at"))
        who = note.get("author") or {}
        if not note.get("system") or when is None:
            continue
        if body == _APPROVED:
            from_notes[str(who.get("username", ""))] = (who, when)
        elif body == _UNAPPROVED:
            from_notes.pop(str(who.get("username", "")), None)
    if "approved_by" not in details.approvals:
        return list(from_notes.values())
    found = []
    for entry in details.approvals.get("approved_by") or []:
        user = entry.get("user") or {}
        noted = from_notes.get(str(user.get("username", "")))
        found.append((user, timestamp(entry.get("approved_at")) or (noted[1] if noted else None)))
    return found


def _reviewer_notes(mr: dict[str, Any], notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Human comments by anyone but the MR's author, oldest first (system notes and bots excluded)."""
    author = (mr.get("author") or {}).get("username")
    human = [
        note
        for note in notes
        if not note.get("system")
        and not is_bot(note.get("author"))
        and (note.get("author") or {}).get("username") not in (None, author)
        and timestamp(note.get("created_at")) is not None
    ]
    return sorted(human, key=lambda note: timestamp(note["created_at"]))  # type: ignore[arg-type,return-value]


def _ready_at(notes: list[dict[str, Any]]) -> datetime | None:
    times = [
        when
        for note in notes
        if note.get("system")
        and _READY.match(str(note.get("body", "")))
        and (when := timestamp(note.get("created_at"))) is not None
    ]
    return min(times) if times else None


def _size(diffs: list[dict[str, Any]] | None) -> tuple[int | None, int | None, int | None]:
    """(additions, deletions, changed files) from ``/diffs``: the diff text has no ---/+++ file headers."""
    if diffs is None:
        return None, None, None
    additions = deletions = 0
    for diff in diffs:
        for line in str(diff.get("diff") or "").splitlines():
            if line.startswith("+"):
                additions += 1
            elif line.startswith("-"):
                deletions += 1
    return additions, deletions, len(diffs)


def _merge_sha(mr: dict[str, Any], state: str) -> str:
    if state != "merged":
        return ""
    return str(mr.get("merge_commit_sha") or mr.get("squash_commit_sha") or mr.get("sha") or "")


def _first(*values: datetime | None) -> datetime | None:
    present = [value for value in values if value is not None]
    return min(present) if present else None


def pull_request_record(
    repository: str, mr: dict[str, Any], details: MergeRequestDetails
) -> PullRequestRecord:
    state = STATES.get(str(mr.get("state")), "open")
    author = (mr.get("author") or {}).get("username")
    approvals = [(user, when) for user, when in _approvals(details) if user.get("username") != author]
    approval_times = [when for _, when in approvals if when is not None]
    notes = _reviewer_notes(mr, details.notes)
    authored = [when for c in details.commits if (when := timestamp(c.get("authored_date"))) is not None]
    additions, deletions, files = _size(details.diffs)
    return PullRequestRecord(
        repository=repository,
        number=int(mr["iid"]),
        title=str(mr.get("title") or ""),
        author=identity(mr.get("author")),
        state=state,
        created_at=timestamp(mr.get("created_at")),
        ready_at=_ready_at(details.notes),
        first_commit_at=min(authored) if authored else None,
        first_review_at=_first(timestamp(notes[0]["created_at"]) if notes else None, *approval_times),
        approved_at=max(approval_times) if approval_times else None,
        merged_at=timestamp(mr.get("merged_at")) if state == "merged" else None,
        closed_at=timestamp(mr.get("closed_at")) if state == "closed" else None,
        updated_at=timestamp(mr.get("updated_at")),
        is_draft=bool(mr.get("draft", mr.get("work_in_progress", False))),
        additions=additions,
        deletions=deletions,
        changed_files=files,
        commits_count=len(details.commits) if details.commits else None,
        head_branch=str(mr.get("source_branch") or ""),
        base_branch=str(mr.get("target_branch") or ""),
        merge_sha=_merge_sha(mr, state),
        body=str(mr.get("description") or ""),
        labels=tuple(str(label) for label in mr.get("labels") or ()),
        commit_shas=tuple(str(c["id"]) for c in details.commits),
        merge_style="gitlab",
    )


def review_records(repository: str, mr: dict[str, Any], details: MergeRequestDetails) -> list[ReviewRecord]:
    """One APPROVED review per current approver, one COMMENTED review per commenter (their first note)."""
    number = int(mr["iid"])
    author = (mr.get("author") or {}).get("username")
    reviews = []
    for user, when in _approvals(details):
        who = identity(user)
        if who is not None and when is not None and user.get("username") != author and not is_bot(user):
            external_id = f"approval:{user.get('id')}"
            reviews.append(ReviewRecord(repository, number, who, "APPROVED", when, external_id))
    seen: set[str] = set()
    for note in _reviewer_notes(mr, details.notes):
        who = identity(note.get("author"))
        if who is None or who.login in seen:
            continue
        seen.add(who.login)
        when = timestamp(note["created_at"])
        assert when is not None  # noqa: S101 - _reviewer_notes keeps only notes with a time
        reviews.append(ReviewRecord(repository, number, who, "COMMENTED", when, f"note:{note.get('id')}"))
    return reviews
