"""What a change touches: the ``ChangeScope`` a trigger passes to ``recompute_request``, and its cells.

A scope names what changed, not the cells: PRs (read again when the recompute runs), the old placement of
PRs that changed or went away (their repository, author and merge time before the change), people whose
memberships changed, repositories that moved to another team, deployments, and whether the
organization-wide models (AI impact, adoption, agent and review-load rows, the delivery keys) must be
refreshed.  ``everything`` is a full recompute (a definition or a setting changed, or the trigger cannot
tell).  Scopes of several changes merge (``|``), so queued requests are served by one recompute.

``cells`` resolves a scope, when the recompute runs, into the merge-dated cells it touches (scope x key
x period): for each PR placement its organization, repository, author (monthly) and teams with every
ancestor (``snapshots.assign_teams``: the membership at merge time, the repository's team for an author
in no team); for a membership change or a moved repository every team cell of the periods their PRs
merged in (the team a PR counted for before the change is not known any more).

``PullRequestWatch`` finds what a sync changed: the PRs its records name, and the PRs whose derived
columns the sync's derivation changed (a revert can change a PR the sync never read).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Q

from connectors import records as rec
from metrics.analytics.snapshots import assign_teams, period_starts
from metrics.core.models import Repository
from metrics.ingestion import selectors
from metrics.ingestion.models import PullRequest

ALL = -1  # the key of "every key of this scope in this period"
CELL_COLUMNS = ["scope", "key", "period", "period_start"]
PLACEMENT_COLUMNS = ["id", "repository_id", "author_id", "merged_at", "repository__team_id"]
# Records that only feed the organization-wide models (no merge-dated cell reads them).
MODEL_RECORDS = (
    rec.IncidentRecord,
    rec.AIUsageRecord,
    rec.AIModelUsageRecord,
    rec.CommitAIAttributionRecord,
    rec.AISeatRecord,
)
PR_RECORDS = (
    rec.PullRequestRecord,
    rec.ReviewRecord,
    rec.CommitRecord,
    rec.IdentityRecord,
    rec.RepositoryRecord,
)


@dataclass(frozen=True)
class ChangeScope:
    """What changed (see the module's docstring).  ``placements``: (repository_id, author_id, merged_at
    ISO 8601) of PRs before they changed or were deleted; ``deployments``: (repository_id, created_at ISO)."""

    everything: bool = False
    prs: frozenset[int] = frozenset()
    placements: frozenset[tuple[int | None, int | None, str]] = frozenset()
    people: frozenset[int] = frozenset()
    repositories: frozenset[int] = frozenset()
    deployments: frozenset[tuple[int, str]] = frozenset()
    models: bool = False

    def __or__(self, other: ChangeScope) -> ChangeScope:
        return ChangeScope(
            **{f.name: getattr(self, f.name) | getattr(other, f.name) for f in fields(ChangeScope)}
        )

    @property
    def cells_touched(self) -> bool:
        """Whether any merge-dated cell may have changed (else only the organization-wide models)."""
        return self.everything or bool(
            self.prs or self.placements or self.people or self.repositories or self.deployments
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "everything": self.everything,
            "prs": sorted(self.prs),
            "placements": sorted([list(p) for p in self.placements], key=str),
            "people": sorted(self.people),
            "repositories": sorted(self.repositories),
            "deployments": sorted([list(d) for d in self.deployments]),
            "models": self.models,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChangeScope:
        """The scope ``as_json`` gave; a malformed one (an older or foreign message) is everything."""
        try:
            return cls(
                everything=bool(data.get("everything", False)),
                prs=frozenset(int(i) for i in data.get("prs", [])),
                placements=frozenset((_int(r), _int(a), str(m)) for r, a, m in data.get("placements", [])),
                people=frozenset(int(i) for i in data.get("people", [])),
                repositories=frozenset(int(i) for i in data.get("repositories", [])),
                deployments=frozenset((int(r), str(t)) for r, t in data.get("deployments", [])),
                models=bool(data.get("models", False)),
            )
        except (TypeError, ValueError, AttributeError):
            return cls(everything=True)


EVERYTHING = ChangeScope(everything=True)


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def placements_of(frame: pd.DataFrame) -> frozenset[tuple[int | None, int | None, str]]:
    """The placements of these PR rows (``repository_id``, ``author_id``, ``merged_at``), merged ones only:
    what a trigger records before it changes or deletes them."""
    merged = frame[frame["merged_at"].notna()]
    return frozenset(
        (_int(r), None if pd.isna(a) else int(a), pd.Timestamp(m).isoformat())
        for r, a, m in zip(merged["repository_id"], merged["author_id"], merged["merged_at"], strict=True)
    )


def deleting(where: Q) -> ChangeScope:
    """The scope of deleting the PRs matching ``where``: call it before the delete."""
    frame = selectors.pull_request_frame(columns=PLACEMENT_COLUMNS, where=where)
    return ChangeScope(placements=placements_of(frame), models=True)


# --- resolving a scope into cells -------------------------------------------------------------------


def _placement_frame(scope: ChangeScope) -> pd.DataFrame:
    merged = Q(merged_at__isnull=False)
    parts = []
    if scope.prs:
        parts.append(
            selectors.pull_request_frame(
                columns=PLACEMENT_COLUMNS, where=merged & Q(id__in=sorted(scope.prs))
            )
        )
    if scope.placements:
        teams = dict(Repository.objects.values_list("pk", "team_id"))
        rows = [(r, a, pd.Timestamp(m), teams.get(r)) for r, a, m in scope.placements]
        parts.append(
            pd.DataFrame(rows, columns=["repository_id", "author_id", "merged_at", "repository_team_id"])
        )
    for repository, at in scope.deployments:
        parts.append(_deployed(repository, pd.Timestamp(at)))
    if not parts:
        return pd.DataFrame(columns=[c.replace("repository__", "repository_") for c in PLACEMENT_COLUMNS])
    frame = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    frame["merged_at"] = pd.to_datetime(frame["merged_at"], utc=True)
    frame = frame[frame["merged_at"].notna()].reset_index(drop=True)
    frame["id"] = -1 - np.arange(len(frame))  # one row per placement for the team assignment
    return frame


def _deployed(repository: int, at: pd.Timestamp) -> pd.DataFrame:
    """The PRs of ``repository`` whose deploy span a production deployment at ``at`` may set or move:
    merged after the previous successful production deployment, up to the next one."""
    deployments = selectors.deployment_frame(repository_ids=[repository])
    prod = deployments[deployments["is_production"].astype(bool) & (deployments["status"] == "success")]
    created = prod["created_at"]
    before, after = created[created < at], created[created > at]
    where = Q(repository_id=repository, merged_at__isnull=False)
    if len(before):
        where &= Q(merged_at__gt=before.max().to_pydatetime())
    if len(after):
        where &= Q(merged_at__lte=after.min().to_pydatetime())
    frame = selectors.pull_request_frame(columns=PLACEMENT_COLUMNS, where=where)
    return frame.drop(columns="id")


def _periods(frame: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    return [(p, period_starts(frame["merged_at"], p)) for p in ("week", "month")]


def cells(scope: ChangeScope, memberships: pd.DataFrame, teams: pd.DataFrame) -> pd.DataFrame:
    """The merge-dated cells (``CELL_COLUMNS``; key ``ALL``: every key of the scope) ``scope`` touches."""
    out: list[pd.DataFrame] = []

    def add(name: str, keys: Iterable[Any], period: str, starts: Iterable[Any]) -> None:
        out.append(
            pd.DataFrame({"scope": name, "key": list(keys), "period": period, "period_start": list(starts)})
        )

    placed = _placement_frame(scope)
    if len(placed):
        pairs = assign_teams(placed, memberships, teams)
        at = pd.Index(placed["id"]).get_indexer(pairs["id"])
        for period, starts in _periods(placed):
            add("organization", [0] * len(placed), period, starts)
            add("repository", placed["repository_id"], period, starts)
            add("team", pairs["team_id"], period, starts.to_numpy()[at])
        authored = placed["author_id"].notna()
        add(
            "person",
            placed.loc[authored, "author_id"],
            "month",
            period_starts(placed["merged_at"], "month")[authored],
        )
    moved = Q()
    if scope.people:
        moved |= Q(author_id__in=sorted(scope.people))
    if scope.repositories:
        moved |= Q(repository_id__in=sorted(scope.repositories))
    if moved:
        frame = selectors.pull_request_frame(
            columns=["id", "merged_at"], where=moved & Q(merged_at__isnull=False)
        )
        for period, starts in _periods(frame):
            add("team", [ALL] * len(frame), period, starts)
    if not out:
        return pd.DataFrame(columns=CELL_COLUMNS)
    found = pd.concat(out, ignore_index=True).dropna()
    return found.astype({"key": "int64"}).drop_duplicates().reset_index(drop=True)


# --- what a sync changed ------------------------------------------------------------------------------


@dataclass
class PullRequestWatch:
    """What a sync changed: the PRs its records name (``named``: stored with everything the records
    carry; ``before``: their ``WATCH_COLUMNS`` as they were before the run's first page touched them, for
    their old placement) and the PRs whose derived columns (bot and AI flags, reverts) the derivation
    changed (``derived``, reported by ``derive.repository_derive``: a revert can change a PR the sync never
    read).  Nothing else moves a PR: storing records never changes another PR's author or times."""

    before: dict[int, tuple] = field(default_factory=dict)
    named: set[tuple[str, int]] = field(default_factory=set)
    derived: set[int] = field(default_factory=set)
    deployments: set[tuple[str, str]] = field(default_factory=set)
    models: bool = False
    everything: bool = False

    def batch(self, batch: list[Any]) -> None:
        """Call before storing ``batch``: note what it names and read those PRs as they are."""
        named = set()
        for record in batch:
            if isinstance(record, rec.PullRequestRecord):
                named.add((record.repository, int(record.number)))
            elif isinstance(record, rec.ReviewRecord):
                named.add((record.repository, int(record.pr_number)))
            elif isinstance(record, rec.DeploymentRecord):
                self.deployments.add((record.repository, record.created_at.astimezone(UTC).isoformat()))
            elif isinstance(record, MODEL_RECORDS):
                self.models = True
            elif not isinstance(record, PR_RECORDS):
                self.everything = True  # memberships, surveys, ...: a full recompute
        self.name(*named)

    def name(self, *prs: tuple[str, int]) -> None:
        """PRs (repository full name, number) a record carries; call before storing it (their stored rows
        are read as they were, for their old placement)."""
        fresh = set(prs) - self.named
        self.named |= fresh
        for row in _named_rows(fresh):
            self.before.setdefault(row[0], row)

    def named_ids(self) -> set[int]:
        """The ids of the PRs the records named (as stored now)."""
        return _named_ids(self.named)

    def scope(self) -> ChangeScope:
        """The scope of what was stored: the PRs named or changed, with their placements before."""
        if self.everything:
            return EVERYTHING
        ids = self.named_ids() | self.derived
        old = [self.before[i] for i in sorted(self.before)]
        deployments = _deployment_keys(self.deployments)
        return ChangeScope(
            prs=frozenset(ids),
            placements=frozenset(
                (row[1], row[2], pd.Timestamp(row[3]).isoformat()) for row in old if row[3] is not None
            ),
            deployments=deployments,
            models=self.models or bool(ids) or bool(old) or bool(deployments),
        )


# id, then the placement (repository, author, merge time), then what deriving can change.
WATCH_COLUMNS = [
    "id",
    "repository_id",
    "author_id",
    "merged_at",
    "is_bot",
    "ai_assisted",
    "reverted_at",
    "revert_of_id",
    "first_commit_at",
]


NAMED_CHUNK = 5000  # PR numbers per query (a first sync names every PR of its repositories)


def _named(named: set[tuple[str, int]]) -> Iterator[Q]:
    """Conditions that select the PRs ``named`` (repository full name, number), a chunk at a time."""
    by_repo: dict[str, list[int]] = {}
    for repository, number in named:
        by_repo.setdefault(repository, []).append(int(number))
    for repository, numbers in by_repo.items():
        numbers.sort()
        for i in range(0, len(numbers), NAMED_CHUNK):
            yield Q(repository__full_name=repository, number__in=numbers[i : i + NAMED_CHUNK])


def _named_rows(named: set[tuple[str, int]]) -> list[tuple]:
    """``WATCH_COLUMNS`` of the stored PRs among ``named``."""
    return [
        row
        for where in _named(named)
        for row in PullRequest.objects.filter(where).values_list(*WATCH_COLUMNS)
    ]


def _named_ids(named: set[tuple[str, int]]) -> set[int]:
    return {
        i for where in _named(named) for i in PullRequest.objects.filter(where).values_list("id", flat=True)
    }


def _deployment_keys(deployments: set[tuple[str, str]]) -> frozenset[tuple[int, str]]:
    ids = dict(
        Repository.objects.filter(full_name__in=sorted({r for r, _ in deployments})).values_list(
            "full_name", "pk"
        )
    )
    return frozenset((ids[r], at) for r, at in deployments if r in ids)
