"""A canonical dump of everything a sync stores, to compare two databases (or one database at two times).

Database ids differ between runs, so people are named by their identity keys and rows by natural keys.
Run as ``python -m tests.fakes.state`` (with DJANGO_SETTINGS_MODULE and DATABASE_URL) it prints the dump
as JSON, which the Celery worker test uses to compare a killed-and-resumed sync with an uninterrupted one.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.records import PR_SHAPE, PR_TIMES

PR_FIELDS = (
    "title",
    "body",
    "state",
    "is_draft",
    *PR_TIMES,
    *PR_SHAPE,
    "labels",
    "is_bot",
    "ai_assisted",
    "ai_tools",
    "reverted_at",
    "updated_at",
)


def _people() -> dict[int | None, str]:
    from metrics.core.models import Identity

    keys: dict[int | None, list[str]] = {}
    for person_id, key in Identity.objects.values_list("person_id", "key"):
        keys.setdefault(person_id, []).append(key)
    return {pid: "|".join(sorted(k)) for pid, k in keys.items()} | {None: ""}


def _text(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def database_state() -> dict[str, list[Any]]:
    from metrics.core.models import TeamMembership
    from metrics.ingestion.models import Commit, Deployment, PullRequest, Review

    people = _people()
    prs = PullRequest.objects.values(
        "id", "repository__full_name", "number", "author_id", "revert_of__number", *PR_FIELDS
    )
    links = PullRequest.commits.through.objects.values_list(
        "pullrequest__repository__full_name", "pullrequest__number", "commit__sha"
    )
    return {
        "pull_requests": sorted(
            [
                p["repository__full_name"],
                p["number"],
                people[p["author_id"]],
                p["revert_of__number"],
                *(_text(p[f]) for f in PR_FIELDS),
            ]
            for p in prs
        ),
        "commits": sorted(
            [c[0], c[1], people[c[2]], _text(c[3]), c[4], _text(c[5]), c[6], c[7], c[8], c[9]]
            for c in Commit.objects.values_list(
                "repository__full_name",
                "sha",
                "author_id",
                "authored_at",
                "author_tz_offset",
                "committed_at",
                "message",
                "is_merge",
                "on_default_branch",
                "additions",
            )
        ),
        "pr_commits": sorted(list(link) for link in links),
        "reviews": sorted(
            [r[0], r[1], people[r[2]], r[3], _text(r[4]), r[5]]
            for r in Review.objects.values_list(
                "pull_request__repository__full_name",
                "pull_request__number",
                "reviewer_id",
                "state",
                "submitted_at",
                "external_id",
            )
        ),
        "deployments": sorted(
            [d[0], d[1], d[2], d[3], d[4], _text(d[5]), _text(d[6]), d[7]]
            for d in Deployment.objects.values_list(
                "repository__full_name",
                "external_id",
                "environment",
                "sha",
                "status",
                "created_at",
                "finished_at",
                "is_production",
            )
        ),
        "memberships": sorted(
            [m[0], people[m[1]], _text(m[2]), _text(m[3])]
            for m in TeamMembership.objects.values_list("team__name", "person_id", "start", "end")
        ),
    }


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(database_state(), default=str))
