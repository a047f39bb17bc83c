"""What is derived from stored records of one repository: bot flags, AI classification, reverts.

Derivation reads everything of the repository again and rewrites the derived fields, so running
it twice gives the same result (idempotent) and it sees links that span several imports.
"""

from __future__ import annotations

import pandas as pd

from metrics.analytics import quality
from metrics.core.models import Repository
from metrics.ingestion import selectors
from metrics.ingestion.models import PullRequest, Revert

CHUNK = 500


def repository_derive(*, repository: Repository) -> dict[str, int]:
    prs = selectors.pull_request_frame(
        repository_ids=[repository.pk],
        columns=[
            "id",
            "number",
            "title",
            "author_id",
            "state",
            "merged_at",
            "head_branch",
            "merge_sha",
            "body",
            "reverts_number",
            "is_bot",
            "ai_assisted",
        ],
    )
    if prs.empty:
        return {"reverts": 0, "ai_assisted_prs": 0}
    _flags_update(repository, prs)
    reverts = _reverts_update(repository, prs)
    ai_count = PullRequest.objects.filter(repository=repository, ai_assisted=True).count()
    return {"reverts": reverts, "ai_assisted_prs": ai_count}


def _grouped_update(ids_by_values: dict[tuple, list[int]]) -> None:
    """One UPDATE per distinct combination of field values (few combinations, many rows)."""
    for (is_bot, ai_tools), ids in ids_by_values.items():
        for i in range(0, len(ids), CHUNK):
            PullRequest.objects.filter(id__in=ids[i : i + CHUNK]).update(
                is_bot=is_bot, ai_assisted=bool(ai_tools), ai_tools=list(ai_tools)
            )


def _flags_update(repository: Repository, prs: pd.DataFrame) -> None:
    people = selectors.person_frame().set_index("person_id")["is_bot"]
    is_bot = prs["author_id"].map(people).fillna(False).astype(bool)
    evidence = selectors.ai_evidence_frame(repository_id=repository.pk)
    tools = (
        evidence.groupby("pr_id")["tool"].agg(lambda s: tuple(sorted(set(s)))) if not evidence.empty else {}
    )
    current = dict(PullRequest.objects.filter(repository=repository).values_list("id", "ai_tools"))
    changes: dict[tuple, list[int]] = {}
    for pr_id, bot, old_bot in zip(prs["id"], is_bot, prs["is_bot"], strict=True):
        pr_tools = tuple(tools.get(pr_id, ()))
        if bool(bot) != bool(old_bot) or list(pr_tools) != current.get(pr_id):
            changes.setdefault((bool(bot), pr_tools), []).append(pr_id)
    _grouped_update(changes)


def _reverts_update(repository: Repository, prs: pd.DataFrame) -> int:
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
    PullRequest.objects.filter(repository=repository).exclude(reverted_at=None, revert_of=None).update(
        reverted_at=None, revert_of=None
    )
    for number, when in standing.items():
        PullRequest.objects.filter(id=id_by_number[number]).update(reverted_at=_ts(when))
    for reverting, reverted in zip(revert_of["reverting_number"], revert_of["reverted_number"], strict=True):
        PullRequest.objects.filter(id=id_by_number[int(reverting)]).update(
            revert_of_id=id_by_number[reverted]
        )
    return int(found["restored_at"].isna().sum())


def _ts(value: object) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).to_pydatetime()
