"""Deriving only a sync page's PRs (``derive.repository_derive(pr_ids=...)``) == deriving the whole
repository, over random pages: new and updated PRs, AI evidence, bot authors, reverts by title, by
commit, by branch and explicit links, reverts of reverts; and the PRs it reports as changed are exactly
those whose derived columns changed (the sync's recompute scope is built from them)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import transaction

from connectors.records import CommitRecord, IdentityRecord, PullRequestRecord
from metrics.core.models import Repository
from metrics.ingestion import derive
from metrics.ingestion.derive import repository_derive
from metrics.ingestion.models import PullRequest, Revert
from metrics.ingestion.services import records_ingest

pytestmark = pytest.mark.django_db
REPO = "acme/derive"
T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
PEOPLE = [
    IdentityRecord(name="Ann", email="ann@acme.example", login="ann"),
    IdentityRecord(name="Bob", email="bob@acme.example", login="bob"),
    IdentityRecord(name="dependabot[bot]", login="dependabot[bot]"),
]


class _Rollback(Exception):
    pass


def _sha(n: int) -> str:
    return f"{n:040x}"


class Page:
    """Random records of one repository, numbered on from what is stored."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.number = 0
        self.merged: dict[int, str] = {}  # number -> title of the merged PRs
        self.commit = 0

    def pr(self, number: int | None = None, *, title: str = "", **extra: object) -> PullRequestRecord:
        rng = self.rng
        if number is None:
            self.number += 1
            number = self.number
        at = T0 + dt.timedelta(hours=number * 5)
        merged = rng.random() < 0.8 or "merged_at" in extra
        title = title or f"Change {number}"
        fields: dict[str, object] = {
            "created_at": at,
            "merged_at": at + dt.timedelta(hours=rng.uniform(1, 30)) if merged else None,
            "merge_sha": _sha(number) if merged else "",
            "head_branch": rng.choice(["feature", "copilot/fix", "b/x"]) + f"-{number}",
            "ai_tool": rng.choice(["", "", "Cursor"]),
            "labels": tuple(rng.sample(["ai-assisted", "bug"], k=rng.randint(0, 1))),
        }
        fields.update(extra)
        if merged:
            self.merged[number] = title
        return PullRequestRecord(
            repository=REPO,
            number=number,
            title=title,
            author=rng.choice(PEOPLE),
            state="merged" if fields["merged_at"] else "open",
            **fields,  # type: ignore[arg-type]
        )

    def revert_commit(self, target: int) -> CommitRecord:
        self.commit += 1
        at = T0 + dt.timedelta(days=30, hours=self.commit)
        return CommitRecord(
            repository=REPO,
            sha=_sha(10_000 + self.commit),
            parents=(),
            author=PEOPLE[0],
            committer=PEOPLE[0],
            authored_at=at,
            committed_at=at,
            message=f'Revert "Change {target}"\n\nThis reverts commit {_sha(target)}.',
            on_default_branch=True,
        )

    def records(self, size: int, *, reverts: bool) -> list[object]:
        rng, out = self.rng, []
        for _ in range(size):
            kind = rng.choice(["new", "new", "update", "revert", "revert_commit", "branch", "explicit"])
            targets = sorted(self.merged)
            if kind == "new" or not targets or (not reverts and kind != "update"):
                out.append(self.pr())
                continue
            target = rng.choice(targets)
            if kind == "update":
                out.append(
                    self.pr(target, title=self.merged[target], ai_tool=rng.choice(["", "Claude Code"]))
                )
            elif kind == "revert":
                out.append(self.pr(title=f'Revert "{self.merged[target]}"'))
            elif kind == "revert_commit":
                out.append(self.revert_commit(target))
            elif kind == "branch":
                out.append(self.pr(head_branch=f"revert-{target}-change"))
            else:
                out.append(self.pr(reverts_number=target))
        return out


def _derived(repository: Repository) -> tuple[list[tuple], list[tuple]]:
    prs = PullRequest.objects.filter(repository=repository).order_by("pk")
    reverts = Revert.objects.filter(repository=repository)
    columns = ("revert_sha", "reverting_pr_id", "reverted_pr_id", "reverted_at", "evidence", "restored_at")
    return (
        list(prs.values_list("id", "is_bot", "ai_assisted", "ai_tools", "reverted_at", "revert_of_id")),
        sorted(reverts.values_list(*columns), key=repr),
    )


def _derive(
    repository: Repository, pr_ids: list[int] | None, monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple, set[int]]:
    """The derived state after deriving (rolled back) and the PRs reported as changed.  The whole
    repository (``pr_ids`` None) is the reference: it always reads every PR and commit for reverts."""
    changed: set[int] = set()
    found: tuple = ()
    try:
        with transaction.atomic(), monkeypatch.context() as patch:
            if pr_ids is None:
                patch.setattr(derive, "_revert_possible", lambda repository: True)
            repository_derive(repository=repository, pr_ids=pr_ids, changed=changed)
            found = _derived(repository)
            raise _Rollback
    except _Rollback:
        pass
    return found, changed


@pytest.mark.parametrize("seed", range(40))
def test_deriving_a_pages_prs_equals_deriving_the_whole_repository(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    page = Page(rng)
    reverts = seed % 4 != 0  # one repository in four never sees a revert: the shortcut path
    records_ingest(records=page.records(12, reverts=reverts))  # derived in full, as stored by a sync
    repository = Repository.objects.get(full_name=REPO)
    for _ in range(3):
        batch = page.records(rng.randint(1, 4), reverts=reverts)
        records_ingest(records=batch, derive=False)
        named = [r.number for r in batch if isinstance(r, PullRequestRecord)]
        ids = list(
            PullRequest.objects.filter(repository=repository, number__in=named).values_list("pk", flat=True)
        )
        before = _derived(repository)[0]
        incremental, changed = _derive(repository, ids, monkeypatch)
        full, _ = _derive(repository, None, monkeypatch)
        assert incremental == full, f"seed {seed}"
        moved = {row[0] for row, old in zip(incremental[0], before, strict=False) if row != old}
        moved |= {row[0] for row in incremental[0][len(before) :]}
        assert changed == moved, f"seed {seed}"
        repository_derive(repository=repository, pr_ids=ids)  # go on from the derived state
    if reverts and seed < 8:  # the pages do revert (the comparison is not between two empty tables)
        assert Revert.objects.filter(repository=repository).exists(), f"seed {seed}"
