"""Selectors: the only place ORM rows become pandas DataFrames."""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from metrics.core.models import Person, Team, TeamMembership
from metrics.ingestion.models import AIEvidence, Commit, PullRequest

PR_COLUMNS = [
    "id", "repository_id", "number", "title", "author_id", "state", "is_draft", "created_at", "ready_at",
    "first_commit_at", "first_review_at", "approved_at", "merged_at", "closed_at", "additions", "deletions",
    "changed_files", "commits_count", "head_branch", "base_branch", "merge_sha", "merge_style", "is_bot",
    "ai_assisted", "revert_of_id", "reverted_at", "labels",
]
DATE_COLUMNS = [
    "created_at", "ready_at", "first_commit_at", "first_review_at", "approved_at", "merged_at", "closed_at",
    "reverted_at",
]


def _frame(rows: Iterable[tuple], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(list(rows), columns=columns)
    for column in columns:
        if column in DATE_COLUMNS or column.endswith("_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def pull_request_frame(
    *, repository_ids: list[int] | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """One row per PR; datetimes are tz-aware UTC."""
    columns = columns or PR_COLUMNS
    qs = PullRequest.objects.all()
    if repository_ids is not None:
        qs = qs.filter(repository_id__in=repository_ids)
    return _frame(qs.order_by("id").values_list(*columns), columns)


def commit_frame(*, repository_id: int, columns: list[str]) -> pd.DataFrame:
    qs = Commit.objects.filter(repository_id=repository_id).order_by("id").values_list(*columns)
    return _frame(qs, columns)


def pr_commit_frame(*, repository_id: int) -> pd.DataFrame:
    """(pr_id, number, sha, subject) for every commit linked to a PR of the repository."""
    through = PullRequest.commits.through
    rows = through.objects.filter(pullrequest__repository_id=repository_id).values_list(
        "pullrequest_id", "pullrequest__number", "commit__sha", "commit__message"
    )
    frame = pd.DataFrame.from_records(list(rows), columns=["pr_id", "number", "sha", "subject"])
    frame["subject"] = frame["subject"].str.split("\n", n=1).str[0].str.strip()
    return frame


def ai_evidence_frame(*, repository_id: int) -> pd.DataFrame:
    """(pr_id, tool, kind) for the PRs' own evidence and the evidence of their commits.

    A commit can belong to several PRs (stacked branches); each of them gets its evidence.
    """
    own = AIEvidence.objects.filter(pull_request__repository_id=repository_id).values_list(
        "pull_request_id", "tool", "kind"
    )
    via_commits = PullRequest.commits.through.objects.filter(
        pullrequest__repository_id=repository_id, commit__ai_evidence__isnull=False
    ).values_list("pullrequest_id", "commit__ai_evidence__tool", "commit__ai_evidence__kind")
    return pd.DataFrame.from_records([*own, *via_commits], columns=["pr_id", "tool", "kind"])


def person_frame() -> pd.DataFrame:
    return pd.DataFrame.from_records(
        list(Person.objects.values_list("id", "display_name", "is_bot")),
        columns=["person_id", "name", "is_bot"],
    )


def membership_frame() -> pd.DataFrame:
    """(person_id, team_id, start, end) with NaT for open ends."""
    rows = TeamMembership.objects.values_list("person_id", "team_id", "start", "end")
    return _frame(rows, ["person_id", "team_id", "start", "end"]).assign(
        start=lambda f: pd.to_datetime(f["start"], utc=True), end=lambda f: pd.to_datetime(f["end"], utc=True)
    )


def team_frame() -> pd.DataFrame:
    return pd.DataFrame.from_records(
        list(Team.objects.values_list("id", "name", "slug", "parent_id")),
        columns=["team_id", "name", "slug", "parent_id"],
    )
