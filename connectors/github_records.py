"""GitHub GraphQL nodes -> Sextant records (pull requests, commits, reviews, deployments).

Pure functions on the JSON GitHub returns; the timing rules live here:

* ``first_review_at``: the first submitted review or conversation comment by someone other than the
  author who is not a bot (a standalone review comment is a COMMENTED review on GitHub);
* ``approved_at``: the last approval by someone other than the author;
* ``ready_at``: the first ``ReadyForReviewEvent`` (only pull requests opened as drafts have one);
* ``first_commit_at``: the earliest author date of the pull request's commits, UTC offset kept.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from connectors.records import CommitRecord, DeploymentRecord, IdentityRecord, PullRequestRecord, ReviewRecord

STATES = {"MERGED": "merged", "CLOSED": "closed", "OPEN": "open"}
BOT_LOGIN = re.compile(
    r"\[bot\]$|^(dependabot|renovate|github-actions|pre-commit-ci|mergify)\b", re.IGNORECASE
)
REVIEW_STATES = {"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"}


def ts(value: object) -> datetime | None:
    """An API timestamp (``2024-05-01T09:30:00Z`` or with an offset, kept); None when absent."""
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def actor_login(actor: dict[str, Any] | None) -> str:
    """The login as REST and webhooks spell it: GraphQL drops the ``[bot]`` suffix of App accounts."""
    if not actor or not actor.get("login"):
        return ""
    login = str(actor["login"])
    if actor.get("__typename") == "Bot" and not login.endswith("[bot]"):
        login += "[bot]"
    return login


def is_bot(actor: dict[str, Any] | None) -> bool:
    if not actor:
        return False
    return actor.get("__typename") == "Bot" or bool(BOT_LOGIN.search(actor_login(actor)))


def actor_identity(actor: dict[str, Any] | None) -> IdentityRecord | None:
    login = actor_login(actor)
    if not login:
        return None  # a deleted account ("ghost")
    return IdentityRecord(name=str((actor or {}).get("name") or ""), login=login)


def git_identity(person: dict[str, Any] | None) -> IdentityRecord:
    person = person or {}
    user = person.get("user") or {}
    return IdentityRecord(
        name=str(person.get("name") or ""),
        email=str(person.get("email") or ""),
        login=str(user.get("login") or ""),
    )


def commit_record(repository: str, node: dict[str, Any], *, on_default_branch: bool) -> CommitRecord:
    author, committer = node.get("author") or {}, node.get("committer") or {}
    parents = tuple(str(p["oid"]) for p in (node.get("parents") or {}).get("nodes") or [])
    return CommitRecord(
        repository=repository,
        sha=str(node["oid"]),
        parents=parents,
        author=git_identity(author),
        committer=git_identity(committer),
        # GitActor.date keeps the author's UTC offset; authoredDate is the same instant in UTC.
        authored_at=ts(author.get("date")) or ts(node.get("authoredDate")),
        committed_at=ts(committer.get("date")) or ts(node.get("committedDate")),
        message=str(node.get("message") or ""),
        additions=int(node.get("additions") or 0),
        deletions=int(node.get("deletions") or 0),
        on_default_branch=on_default_branch,
    )


def _by_others(items: list[dict[str, Any]], author: str) -> list[dict[str, Any]]:
    """Items written by someone other than the pull request's author, bots left out."""
    return [
        i for i in items if actor_login(i.get("author")) not in ("", author) and not is_bot(i.get("author"))
    ]


def review_times(pr: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """(first_review_at, approved_at) of one pull request node."""
    author = actor_login(pr.get("author"))
    reviews = [r for r in _nodes(pr, "reviews") if r.get("submittedAt") and r.get("state") in REVIEW_STATES]
    comments = [c for c in _nodes(pr, "comments") if c.get("createdAt")]
    moments = [ts(r["submittedAt"]) for r in _by_others(reviews, author)]
    moments += [ts(c["createdAt"]) for c in _by_others(comments, author)]
    approvals = [ts(r["submittedAt"]) for r in _by_others(reviews, author) if r.get("state") == "APPROVED"]
    first = min((m for m in moments if m is not None), default=None)
    approved = max((a for a in approvals if a is not None), default=None)
    return first, approved


def has_review_or_comment_by_others(pr: dict[str, Any]) -> bool:
    author = actor_login(pr.get("author"))
    return bool(_by_others(_nodes(pr, "comments"), author))


def _nodes(node: dict[str, Any], connection: str) -> list[dict[str, Any]]:
    return list((node.get(connection) or {}).get("nodes") or [])


def pull_request_records(
    repository: str, pr: dict[str, Any], *, default_branch: str
) -> list[CommitRecord | PullRequestRecord | ReviewRecord]:
    """The commits, the pull request and its reviews (in the order they can be stored)."""
    state = STATES.get(str(pr.get("state")), "open")
    merge = pr.get("mergeCommit") if state == "merged" else None
    landed = state == "merged" and pr.get("baseRefName") == default_branch
    merge_parents = len((merge or {}).get("parents", {}).get("nodes") or [])
    style = ("merge" if merge_parents > 1 else "squash") if merge else ""
    commits = [
        commit_record(repository, n["commit"], on_default_branch=landed and style == "merge")
        for n in _nodes(pr, "commits")
        if n.get("commit")
    ]
    records: list[CommitRecord | PullRequestRecord | ReviewRecord] = list(commits)
    if merge:
        records.append(commit_record(repository, merge, on_default_branch=landed))
    first_review, approved = review_times(pr)
    ready = [ts(e.get("createdAt")) for e in _nodes(pr, "timelineItems") if e.get("createdAt")]
    records.append(
        PullRequestRecord(
            repository=repository,
            number=int(pr["number"]),
            title=str(pr.get("title") or ""),
            author=actor_identity(pr.get("author")),
            state=state,
            created_at=ts(pr.get("createdAt")),
            ready_at=min((r for r in ready if r), default=None),
            first_commit_at=min((c.authored_at for c in commits if c.authored_at), default=None),
            first_review_at=first_review,
            approved_at=approved,
            merged_at=ts(pr.get("mergedAt")),
            closed_at=ts(pr.get("closedAt")),
            updated_at=ts(pr.get("updatedAt")),
            is_draft=bool(pr.get("isDraft")),
            additions=pr.get("additions"),
            deletions=pr.get("deletions"),
            changed_files=pr.get("changedFiles"),
            commits_count=(pr.get("commits") or {}).get("totalCount"),
            head_branch=str(pr.get("headRefName") or ""),
            base_branch=str(pr.get("baseRefName") or ""),
            merge_sha=str((merge or {}).get("oid") or ""),
            body=str(pr.get("body") or ""),
            labels=tuple(str(label["name"]) for label in _nodes(pr, "labels")),
            commit_shas=(*(c.sha for c in commits), *([str(merge["oid"])] if merge else [])),
            merge_style=style,
        )
    )
    for review in _nodes(pr, "reviews"):
        reviewer = actor_identity(review.get("author"))
        submitted = ts(review.get("submittedAt"))
        if reviewer is None or submitted is None or review.get("state") not in REVIEW_STATES:
            continue  # pending reviews and reviews of deleted accounts
        records.append(
            ReviewRecord(
                repository=repository,
                pr_number=int(pr["number"]),
                reviewer=reviewer,
                state=str(review["state"]),
                submitted_at=submitted,
                external_id=f"github:{review.get('databaseId')}",
            )
        )
    return records


def deployment_record(repository: str, node: dict[str, Any]) -> DeploymentRecord | None:
    """A production deployment; finished when it first succeeded (later statuses may mark it inactive)."""
    created = ts(node.get("createdAt"))
    if created is None or node.get("databaseId") is None:
        return None
    statuses = _nodes(node, "statuses")
    successes = [t for t in (ts(s.get("createdAt")) for s in statuses if s.get("state") == "SUCCESS") if t]
    latest = node.get("latestStatus") or {}
    finished: datetime | None
    if successes:
        status, finished = "success", min(successes)
    elif latest.get("state"):
        status = str(latest["state"]).lower()
        finished = ts(latest.get("createdAt")) if status in ("failure", "error", "inactive") else None
    else:
        status, finished = str(node.get("state") or "pending").lower(), None
    return DeploymentRecord(
        repository=repository,
        external_id=f"github:{node['databaseId']}",
        environment=str(node.get("environment") or ""),
        sha=str(node.get("commitOid") or ""),
        status=status,
        created_at=created,
        finished_at=finished,
        is_production=True,
        source="github_deployments",
    )
