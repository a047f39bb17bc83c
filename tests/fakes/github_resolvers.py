"""Resolvers of the fake GitHub GraphQL API: dataclasses -> the JSON shapes GitHub's schema defines.

Connections follow GitHub's rules: ``first`` is required and at most 100, cursors are opaque and keyed
on the sort order (an item updated during a pagination moves; the cursor of the others stays valid).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from graphql import GraphQLError

if TYPE_CHECKING:
    from tests.fakes.github import Commit, Deployment, FakeGitHub, PullRequest, Repo, User

T = TypeVar("T")
DEPLOYMENT_STATE = {
    "SUCCESS": "ACTIVE",
    "IN_PROGRESS": "IN_PROGRESS",
    "QUEUED": "QUEUED",
    "PENDING": "PENDING",
    "FAILURE": "FAILURE",
    "ERROR": "ERROR",
    "INACTIVE": "INACTIVE",
    "WAITING": "WAITING",
}


def iso(value: datetime | None) -> str | None:
    """GitHub's DateTime: UTC with a Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def cursor(key: object) -> str:
    return base64.b64encode(json.dumps(["cursor:v2", key]).encode()).decode()


def uncursor(value: str) -> Any:
    key = json.loads(base64.b64decode(value.encode()))[1]
    return tuple(key) if isinstance(key, list) else key


def not_found(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"type": "NOT_FOUND"})


def connection(
    items: list[T],
    build: Callable[[T], dict[str, Any]],
    *,
    name: str,
    first: int | None,
    after: str | None,
    key: Callable[[T], Any] | None = None,
    descending: bool = False,
) -> dict[str, Any]:
    if first is None:
        raise GraphQLError(
            f"You must provide a `first` or `last` value to properly paginate the `{name}` connection."
        )
    if not 0 <= first <= 100:
        raise GraphQLError(
            f"Requesting {first} records on the `{name}` connection exceeds the `first` limit of 100 records."
        )
    keys = [key(item) if key else index for index, item in enumerate(items)]
    start = 0
    if after:
        mark = uncursor(after)
        start = next((i for i, k in enumerate(keys) if (k < mark if descending else k > mark)), len(items))
    chosen = items[start : start + first]
    stop = start + len(chosen)
    return {
        "totalCount": len(items),
        "nodes": [build(item) for item in chosen],
        "pageInfo": {
            "hasNextPage": stop < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": cursor(keys[start]) if chosen else None,
            "endCursor": cursor(keys[stop - 1]) if chosen else None,
        },
    }


def actor(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    typename = "Bot" if user.bot else "User"
    return {
        "__typename": typename,
        "id": f"{typename}_{user.login}",
        "login": user.login,
        "name": user.name or None,
        "email": user.email,
        "avatarUrl": "https://avatars.test/u",
        "resourcePath": f"/{user.rest_login}",
        "url": f"https://github.test/{user.rest_login}",
    }


def git_actor(name: str, email: str, when: datetime | None, user: User | None) -> dict[str, Any]:
    return {"name": name, "email": email, "date": when.isoformat() if when else None, "user": actor(user)}


def commit(c: Commit) -> dict[str, Any]:
    committed = c.committed or c.authored
    return {
        "__typename": "Commit",
        "id": f"C_{c.oid}",
        "oid": c.oid,
        "message": c.message,
        "messageHeadline": c.message.split("\n", 1)[0],
        "authoredDate": iso(c.authored),
        "committedDate": iso(committed),
        "additions": c.additions,
        "deletions": c.deletions,
        "changedFilesIfAvailable": 1,
        "parents": lambda info, first=None, after=None, **_: connection(
            c.parents,
            lambda oid: {"__typename": "Commit", "id": f"C_{oid}", "oid": oid},
            name="parents",
            first=first,
            after=after,
        ),
        "author": git_actor(c.author_name, c.author_email, c.authored, c.user),
        "committer": git_actor(c.author_name, c.author_email, committed, c.user),
    }


def pull_request_id(repo: Repo, number: int) -> str:
    return "PR_" + base64.b64encode(f"{repo.full_name}#{number}".encode()).decode()


def pull_request(repo: Repo, pr: PullRequest) -> dict[str, Any]:
    def timeline(
        info: Any,
        first: int | None = None,
        after: str | None = None,
        itemTypes: list[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        events = sorted(pr.ready_events) if itemTypes is None or "READY_FOR_REVIEW_EVENT" in itemTypes else []
        return connection(
            events,
            lambda at: {
                "__typename": "ReadyForReviewEvent",
                "id": f"RFR_{at}",
                "createdAt": iso(at),
                "actor": actor(pr.author),
            },
            name="timelineItems",
            first=first,
            after=after,
        )

    return {
        "__typename": "PullRequest",
        "id": pull_request_id(repo, pr.number),
        "number": pr.number,
        "title": pr.title,
        "body": pr.body,
        "state": pr.state,
        "isDraft": pr.is_draft,
        "createdAt": iso(pr.created_at),
        "updatedAt": iso(pr.updated_at),
        "mergedAt": iso(pr.merged_at),
        "closedAt": iso(pr.closed_at),
        "additions": pr.additions,
        "deletions": pr.deletions,
        "changedFiles": pr.changed_files,
        "headRefName": pr.head,
        "baseRefName": pr.base,
        "url": f"https://github.test/{repo.full_name}/pull/{pr.number}",
        "author": actor(pr.author),
        "mergeCommit": commit(pr.merge_commit) if pr.merge_commit else None,
        "labels": lambda info, first=None, after=None, **_: connection(
            pr.labels,
            lambda n: {"id": f"L_{n}", "name": n, "color": "ededed"},
            name="labels",
            first=first,
            after=after,
        ),
        "timelineItems": timeline,
        "commits": lambda info, first=None, after=None, **_: connection(
            pr.commits,
            lambda c: {"id": f"PRC_{c.oid}", "commit": commit(c)},
            name="commits",
            first=first,
            after=after,
        ),
        "reviews": lambda info, first=None, after=None, **_: connection(
            pr.reviews,
            lambda r: {
                "__typename": "PullRequestReview",
                "id": f"PRR_{r.id}",
                "databaseId": r.id,
                "fullDatabaseId": str(r.id),
                "state": r.state,
                "submittedAt": iso(r.submitted_at),
                "createdAt": iso(r.submitted_at),
                "author": actor(r.author),
            },
            name="reviews",
            first=first,
            after=after,
        ),
        "comments": lambda info, first=None, after=None, **_: connection(
            pr.comments,
            lambda c: {
                "__typename": "IssueComment",
                "id": f"IC_{c.id}",
                "databaseId": c.id,
                "createdAt": iso(c.created_at),
                "author": actor(c.author),
            },
            name="comments",
            first=first,
            after=after,
        ),
    }


def deployment(d: Deployment) -> dict[str, Any]:
    latest = d.statuses[-1] if d.statuses else None

    def status(s: tuple[str, datetime]) -> dict[str, Any]:
        state, when = s
        return {
            "__typename": "DeploymentStatus",
            "id": f"DS_{d.id}_{when}",
            "state": state,
            "createdAt": iso(when),
        }

    return {
        "__typename": "Deployment",
        "id": f"D_{d.id}",
        "databaseId": d.id,
        "environment": d.environment,
        "originalEnvironment": d.environment,
        "commitOid": d.sha,
        "createdAt": iso(d.created_at),
        "updatedAt": iso(latest[1] if latest else d.created_at),
        "state": DEPLOYMENT_STATE.get(latest[0], "PENDING") if latest else "PENDING",
        "latestStatus": status(latest) if latest else None,
        "statuses": lambda info, first=None, after=None, **_: connection(
            d.statuses, status, name="statuses", first=first, after=after
        ),
    }


def repository(repo: Repo) -> dict[str, Any]:
    def pull_requests(
        info: Any,
        first: int | None = None,
        after: str | None = None,
        orderBy: dict[str, str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        field, direction = (orderBy or {}).get("field", "CREATED_AT"), (orderBy or {}).get("direction", "ASC")
        when = "updated_at" if field == "UPDATED_AT" else "created_at"
        descending = direction == "DESC"
        items = sorted(repo.prs.values(), key=lambda p: (iso(getattr(p, when)), p.number), reverse=descending)
        return connection(
            items,
            lambda p: pull_request(repo, p),
            name="pullRequests",
            first=first,
            after=after,
            key=lambda p: (iso(getattr(p, when)), p.number),
            descending=descending,
        )

    def deployments(
        info: Any,
        first: int | None = None,
        after: str | None = None,
        environments: list[str] | None = None,
        orderBy: dict[str, str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        descending = (orderBy or {}).get("direction") == "DESC"
        items = [d for d in repo.deployments if environments is None or d.environment in environments]
        items.sort(key=lambda d: (iso(d.created_at), d.id), reverse=descending)
        return connection(
            items,
            deployment,
            name="deployments",
            first=first,
            after=after,
            key=lambda d: (iso(d.created_at), d.id),
            descending=descending,
        )

    return {
        "__typename": "Repository",
        "id": f"R_{repo.full_name}",
        "name": repo.name,
        "nameWithOwner": repo.full_name,
        "url": f"https://github.test/{repo.full_name}",
        "isArchived": repo.archived,
        "isFork": False,
        "defaultBranchRef": {
            "id": f"REF_{repo.default_branch}",
            "name": repo.default_branch,
            "prefix": "refs/heads/",
        },
        "pullRequests": pull_requests,
        "deployments": deployments,
    }


class Root:
    """The query root; the default resolver calls these methods with (info, **arguments)."""

    def __init__(self, github: FakeGitHub) -> None:
        self.github = github

    def repository(self, info: Any, owner: str, name: str, followRenames: bool = True) -> dict[str, Any]:
        repo = self.github.repo(f"{owner}/{name}")
        if repo is None:
            raise not_found(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return repository(repo)

    def organization(self, info: Any, login: str) -> dict[str, Any]:
        github = self.github
        if not github.org_known(login):
            raise not_found(f"Could not resolve to an Organization with the login of '{login}'.")
        return {
            "__typename": "Organization",
            "id": f"O_{login}",
            "login": login,
            "name": login,
            "avatarUrl": "https://avatars.test/o",
            "resourcePath": f"/{login}",
            "url": f"https://github.test/{login}",
            "repositories": lambda info, first=None, after=None, **_: connection(
                github.org_repos(login),
                repository,
                name="repositories",
                first=first,
                after=after,
                key=lambda r: r.name.lower(),
            ),
        }

    def node(self, info: Any, id: str) -> dict[str, Any]:
        if id.startswith("PR_"):
            full_name, _, number = base64.b64decode(id[3:]).decode().partition("#")
            repo = self.github.repo(full_name)
            if repo is not None and int(number) in repo.prs:
                return pull_request(repo, repo.prs[int(number)])
        raise not_found(f"Could not resolve to a node with the global id of '{id}'")

    def rateLimit(self, info: Any, dryRun: bool = False) -> dict[str, Any]:
        github = self.github
        return {
            "cost": 1,
            "limit": github.limit,
            "nodeCount": 0,
            "remaining": github.limit - github.used,
            "resetAt": iso(datetime.fromtimestamp(github.reset_at, UTC)),
            "used": github.used,
        }
