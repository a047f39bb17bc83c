"""What is derived from stored records of one repository: bot flags, AI classification, reverts.

Derivation reads what it needs of the repository again and rewrites the derived fields that differ, so
running it twice gives the same result (idempotent) and it sees links that span several imports.

``pr_ids`` (a sync's pages): only the PRs those pages stored can have a new AI classification (their
evidence and commit links come with their own records; a commit stored later is never linked to an
older PR's record), so only theirs is re-derived, with the bot flag of every PR whose stored flag
disagrees with its author's (one query); reverts are derived from the whole repository, which is read
only when it holds a possible revert at all (a title, body, branch or commit message that names one, or
an explicit link): without one there is no revert to find.  The result equals deriving the whole
repository (``tests/ingestion/test_derive_incremental.py``).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import pandas as pd
from django.db.models import F, Q

from metrics.analytics import quality
from metrics.core.models import Repository
from metrics.ingestion import selectors
from metrics.ingestion.models import Commit, PullRequest, Revert

CHUNK = 500
WHOLE_AT = 2000  # more PRs than this: derive the whole repository
FLAG_COLUMNS = ["id", "author_id", "is_bot"]
REVERT_PR_COLUMNS = [
    "id",
    "number",
    "title",
    "state",
    "merged_at",
    "head_branch",
    "merge_sha",
    "body",
    "reverts_number",
    "reverted_at",
    "revert_of_id",
]


def repository_derive(
    *, repository: Repository, pr_ids: Collection[int] | None = None, changed: set[int] | None = None
) -> dict[str, int]:
    """Derive bot flags, AI classification and reverts of ``repository`` (for the AI classification, of
    ``pr_ids`` only when given: see the module's docstring); ``changed`` receives the ids of the PRs
    whose derived columns changed."""
    changed = set() if changed is None else changed
    ids: list[int] = []
    if pr_ids is not None:
        disagree = Q(author__isnull=True, is_bot=True) | (
            Q(author__isnull=False) & ~Q(is_bot=F("author__is_bot"))
        )
        stale = PullRequest.objects.filter(disagree, repository=repository).values_list("id", flat=True)
        ids = sorted({*pr_ids, *stale})
        if len(ids) > WHOLE_AT:
            pr_ids = None  # a first sync's pages: reading the whole repository is cheaper than naming them
    if pr_ids is None:
        flagged = selectors.pull_request_frame(repository_ids=[repository.pk], columns=FLAG_COLUMNS)
        evidence = selectors.ai_evidence_frame(repository_id=repository.pk)
    else:
        flagged = selectors.pull_request_frame(
            repository_ids=[repository.pk], columns=FLAG_COLUMNS, where=Q(id__in=ids)
        )
        evidence = selectors.ai_evidence_frame(repository_id=repository.pk, pr_ids=ids)
    _flags_update(repository, flagged, evidence, changed, tools_of=None if pr_ids is None else set(pr_ids))
    reverts = _reverts_update(repository, changed)
    ai_count = PullRequest.objects.filter(repository=repository, ai_assisted=True).count()
    return {"reverts": reverts, "ai_assisted_prs": ai_count}


def _grouped_update(ids_by_values: dict[tuple, list[int]]) -> None:
    """One UPDATE per distinct combination of field values (few combinations, many rows)."""
    for (is_bot, ai_tools), ids in ids_by_values.items():
        for i in range(0, len(ids), CHUNK):
            PullRequest.objects.filter(id__in=ids[i : i + CHUNK]).update(
                is_bot=is_bot, ai_assisted=bool(ai_tools), ai_tools=list(ai_tools)
            )


def _flags_update(
    repository: Repository,
    prs: pd.DataFrame,
    evidence: pd.DataFrame,
    changed: set[int],
    *,
    tools_of: set[int] | None,
) -> None:
    """Bot flags and AI tools of the PRs of ``prs``; the AI tools only of ``tools_of`` (None: all), the
    others keep theirs."""
    if prs.empty:
        return
    people = selectors.person_frame().set_index("person_id")["is_bot"]
    is_bot = prs["author_id"].map(people).fillna(False).astype(bool)
    tools = (
        evidence.groupby("pr_id")["tool"].agg(lambda s: tuple(sorted(set(s)))) if not evidence.empty else {}
    )
    rows = PullRequest.objects.filter(repository=repository)
    if tools_of is not None or len(prs) < CHUNK:
        rows = rows.filter(id__in=prs["id"].astype(int).tolist())
    current = dict(rows.values_list("id", "ai_tools"))
    changes: dict[tuple, list[int]] = {}
    for pr_id, bot, old_bot in zip(prs["id"], is_bot, prs["is_bot"], strict=True):
        if tools_of is None or pr_id in tools_of:
            pr_tools = tuple(tools.get(pr_id, ()))
        else:
            pr_tools = tuple(current.get(pr_id) or ())
        if bool(bot) != bool(old_bot) or list(pr_tools) != current.get(pr_id):
            changes.setdefault((bool(bot), pr_tools), []).append(pr_id)
            changed.add(int(pr_id))
    _grouped_update(changes)


def _revert_possible(repository: Repository) -> bool:
    """Whether any stored change of ``repository`` could be a revert: every pattern of
    ``quality.find_reverts`` (a title, body, branch or commit message) names "revert", or the PR has an
    explicit ``reverts_number``."""
    named = Q(title__icontains="revert") | Q(body__icontains="revert") | Q(head_branch__icontains="revert")
    prs = PullRequest.objects.filter(repository=repository, state=PullRequest.State.MERGED)
    return (
        prs.filter(named | Q(reverts_number__isnull=False)).exists()
        or Commit.objects.filter(repository=repository, message__icontains="revert").exists()
    )


def _reverts_update(repository: Repository, changed: set[int]) -> int:
    """Find the repository's reverts, store them, and set the reverted and reverting PRs' columns (only
    where they differ); returns the number of standing reverts."""
    if not _revert_possible(repository):
        Revert.objects.filter(repository=repository).delete()
        marked = PullRequest.objects.filter(repository=repository).exclude(reverted_at=None, revert_of=None)
        ids = list(marked.values_list("id", flat=True))
        PullRequest.objects.filter(id__in=ids).update(reverted_at=None, revert_of=None)
        changed.update(ids)
        return 0
    prs = selectors.pull_request_frame(repository_ids=[repository.pk], columns=REVERT_PR_COLUMNS)
    commits = selectors.commit_frame(
        repository_id=repository.pk, columns=["sha", "message", "committed_at", "on_default_branch"]
    )
    pr_commits = selectors.pr_commit_frame(repository_id=repository.pk)
    found = quality.find_reverts(prs=prs, commits=commits, pr_commits=pr_commits)
    Revert.objects.filter(repository=repository).delete()
    id_by_number = dict(zip(prs["number"], prs["id"], strict=True))
    Revert.objects.bulk_create(
        [
            Revert(
                repository=repository,
                revert_sha=row.revert_sha,
                reverting_pr_id=(
                    id_by_number.get(row.reverting_number) if pd.notna(row.reverting_number) else None
                ),
                reverted_pr_id=id_by_number[row.reverted_number],
                reverted_at=_ts(row.reverted_at),
                evidence=row.evidence,
                matched_text=row.matched_text[:2000],
                restored_at=_ts(row.restored_at),
            )
            for row in found.itertuples()
        ],
        batch_size=CHUNK,
    )
    standing = found[found["restored_at"].isna()].groupby("reverted_number")["reverted_at"].min()
    revert_of = found.dropna(subset=["reverting_number"]).drop_duplicates("reverting_number")
    reverted_at = {int(id_by_number[n]): _ts(when) for n, when in standing.items()}
    reverting = {
        int(id_by_number[int(a)]): int(id_by_number[b])
        for a, b in zip(revert_of["reverting_number"], revert_of["reverted_number"], strict=True)
    }
    for pr_id, old_at, old_of in zip(prs["id"], prs["reverted_at"], prs["revert_of_id"], strict=True):
        pr_id = int(pr_id)
        at, of = reverted_at.get(pr_id), reverting.get(pr_id)
        if _ts(old_at) != at or (None if pd.isna(old_of) else int(old_of)) != of:
            PullRequest.objects.filter(id=pr_id).update(reverted_at=at, revert_of_id=of)
            changed.add(pr_id)
    return int(found["restored_at"].isna().sum())


def _ts(value: object) -> datetime | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).to_pydatetime()
