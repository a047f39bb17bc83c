"""Incremental recompute == full recompute, row for row, after every change of random sequences.

Each sequence starts from a small organization (a team tree of four teams, five people with dated
memberships, three repositories, one owned by no team) with a full recompute stored, then applies random
changes: a new PR, a merge, a review, a revert, a revert of a revert, a membership change, a repository
moved to another team, a deletion.  PR changes are found the way a sync finds them
(``changes.PullRequestWatch``: the PRs the records name, and those whose derived columns changed, as
``derive.repository_derive`` reports them); the other changes pass the scope
their trigger passes.  After each change the incremental recompute writes the touched cells, and the
stored rows must equal what a full recompute (run in a savepoint that is rolled back, so the incremental
table goes on) stores.  The organization-wide models are compared at the end of each sequence.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from metrics.analytics.snapshots import PR_METRICS, metric_snapshots
from metrics.core.models import Person, Repository, Team, TeamMembership
from metrics.ingestion import completeness, selectors
from metrics.ingestion.changes import ChangeScope, PullRequestWatch, deleting
from metrics.ingestion.incremental import cells_recompute, models_recompute
from metrics.ingestion.models import MetricSnapshot, PullRequest, SnapshotState
from metrics.ingestion.snapshots import observation_at, pr_inputs, snapshots_recompute, write_snapshots

pytestmark = pytest.mark.django_db
SEQUENCES = int(__import__("os").environ.get("INCREMENTAL_SEQUENCES", "200"))
STEPS = 4
T0 = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
OPS = ("new", "merge", "review", "revert", "revert_of_revert", "membership", "move", "delete")


class _Rollback(Exception):
    pass


def _rows(metrics: tuple[str, ...] | None = None) -> list[tuple]:
    qs = (
        MetricSnapshot.objects.all() if metrics is None else MetricSnapshot.objects.filter(metric__in=metrics)
    )
    out = []
    for r in qs.values_list(
        "scope", "team_id", "repository_id", "person_id", "period", "period_start", "metric", "value", "n"
    ):
        value = None if r[7] is None else round(r[7], 6)
        out.append((*r[:7], value, r[8]))
    return sorted(out, key=repr)


def _engine_rows() -> object:
    prs, _ = pr_inputs()
    return metric_snapshots(
        prs,
        selectors.membership_frame(),
        selectors.team_frame(),
        selectors.deployment_frame(),
        observation_at(completeness.data_through()),
    )


def _start(models: bool) -> None:
    """The stored state a full recompute leaves (its merge-dated cells only, unless ``models``)."""
    if models:
        snapshots_recompute()
        return
    frame = _engine_rows()
    write_snapshots(frame[frame["metric"].isin(PR_METRICS)].reset_index(drop=True))
    SnapshotState.objects.update_or_create(
        pk=1, defaults={"through": completeness.data_through(), "cells_computed_at": timezone.now()}
    )


def _full(metrics: tuple[str, ...] | None) -> list[tuple]:
    """What a full recompute stores, without keeping it: all of it (run in a savepoint rolled back), or
    the merge-dated cells (the engine run over every PR as the full recompute runs it, stored likewise)."""
    found: list[tuple] = []
    try:
        with transaction.atomic():
            if metrics is None:
                snapshots_recompute()
            else:
                frame = _engine_rows()
                write_snapshots(frame[frame["metric"].isin(metrics)].reset_index(drop=True))
            found = _rows(metrics)
            raise _Rollback
    except _Rollback:
        pass
    return found


class World:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        root = Team.objects.create(name="Root", slug="root")
        a = Team.objects.create(name="A", slug="a", parent=root)
        b = Team.objects.create(name="B", slug="b", parent=root)
        c = Team.objects.create(name="C", slug="c", parent=b)
        self.teams = [root, a, b, c]
        self.repos = [
            Repository.objects.create(full_name="acme/one", team=a),
            Repository.objects.create(full_name="acme/two", team=c),
            Repository.objects.create(full_name="acme/three"),
        ]
        self.people = [Person.objects.create(display_name=f"P{i}", is_bot=i == 4) for i in range(5)]
        for person in self.people[:4]:
            team = rng.choice(self.teams[1:])
            start = T0 + dt.timedelta(days=rng.choice([-30, 5, 20]))
            TeamMembership.objects.create(person=person, team=team, start=start)
        self.number = 0
        for _ in range(8):
            self.pr(merged=rng.random() < 0.8)

    def at(self, low: float = 0, high: float = 70) -> dt.datetime:
        return T0 + dt.timedelta(days=self.rng.uniform(low, high))

    def pr(
        self, *, merged: bool, revert_of: PullRequest | None = None, watch: PullRequestWatch | None = None
    ) -> PullRequest:
        self.number += 1
        created = self.at()
        merged_at = created + dt.timedelta(hours=self.rng.uniform(1, 200)) if merged else None
        repo = revert_of.repository if revert_of else self.rng.choice(self.repos)
        pr = PullRequest.objects.create(
            repository=repo,
            number=self.number,
            author=self.rng.choice(self.people),
            state="merged" if merged else "open",
            created_at=created,
            first_commit_at=created - dt.timedelta(hours=self.rng.uniform(0, 30)),
            merged_at=merged_at,
            additions=self.rng.randint(1, 500),
            deletions=self.rng.randint(0, 100),
            ai_assisted=self.rng.random() < 0.4,
            is_bot=False,
            revert_of=revert_of,
        )
        if watch is not None:
            watch.name((repo.full_name, pr.number))  # the new PR's record
        if revert_of is not None:
            PullRequest.objects.filter(pk=revert_of.pk).update(reverted_at=merged_at)
            if watch is not None:
                watch.derived.add(revert_of.pk)  # what deriving the revert reports
        return pr

    def merged(self, **filters: object) -> list[PullRequest]:
        return list(PullRequest.objects.filter(state="merged", **filters).order_by("pk"))

    def step(self, op: str) -> ChangeScope | None:
        rng = self.rng
        if op in ("membership", "move"):
            if op == "membership":
                person = rng.choice(self.people[:4])
                TeamMembership.objects.filter(person=person, end=None).update(end=self.at(0, 60))
                if rng.random() < 0.7:
                    TeamMembership.objects.create(
                        person=person, team=rng.choice(self.teams), start=self.at(0, 60)
                    )
                return ChangeScope(people=frozenset([person.pk]), models=True)
            repo = rng.choice(self.repos)
            Repository.objects.filter(pk=repo.pk).update(team=rng.choice([*self.teams, None]))
            return ChangeScope(repositories=frozenset([repo.pk]), models=True)
        if op == "delete":
            candidates = list(PullRequest.objects.order_by("pk"))
            if not candidates:
                return None
            victim = rng.choice(candidates)
            scope = deleting(Q(pk=victim.pk))
            victim.delete()
            return scope
        watch = PullRequestWatch()
        return watch.scope() if self.pr_step(op, watch) else None

    def pr_step(self, op: str, watch: PullRequestWatch) -> bool:
        """A change of PRs (found by a ``PullRequestWatch`` as a sync finds it); False if none applied."""
        rng = self.rng
        if op == "new":
            self.pr(merged=False, watch=watch)
        elif op == "merge":
            open_prs = list(PullRequest.objects.filter(state="open").order_by("pk"))
            if not open_prs:
                return False
            pr = rng.choice(open_prs)
            watch.name((pr.repository.full_name, pr.number))  # the PR's record, before it is stored
            pr.state, pr.merged_at = "merged", pr.created_at + dt.timedelta(hours=rng.uniform(1, 300))
            pr.save()
        elif op == "review":
            merged = self.merged()
            if not merged:
                return False
            pr = rng.choice(merged)
            watch.name((pr.repository.full_name, pr.number))  # the review's record names its PR
            pr.first_review_at = pr.created_at + (pr.merged_at - pr.created_at) * rng.uniform(0.1, 0.5)
            pr.approved_at = pr.first_review_at + (pr.merged_at - pr.first_review_at) * rng.uniform(0, 0.9)
            pr.save()
        elif op == "revert":
            targets = self.merged(revert_of=None, reverted_at=None)
            if not targets:
                return False
            self.pr(merged=True, revert_of=rng.choice(targets), watch=watch)
        else:  # a revert of a revert restores the original change
            reverts = self.merged(revert_of__isnull=False, reverted_at=None)
            if not reverts:
                return False
            first = rng.choice(reverts)
            self.pr(merged=True, revert_of=first, watch=watch)
            PullRequest.objects.filter(pk=first.revert_of_id).update(reverted_at=None)
            watch.derived.add(first.revert_of_id)
        return True


@pytest.mark.parametrize("chunk", range(4))
def test_incremental_recompute_equals_a_full_recompute_after_every_change(chunk: int) -> None:
    per_chunk = SEQUENCES // 4
    for seed in range(chunk * per_chunk, (chunk + 1) * per_chunk):
        sid = transaction.savepoint()
        rng = random.Random(seed)
        world = World(rng)
        with_models = seed % 10 == 0  # the organization-wide models too, in one sequence of ten
        _start(with_models)
        ops = []
        for _ in range(STEPS):
            op = rng.choice(OPS)
            scope = world.step(op)
            ops.append(op)
            if scope is None:
                continue
            cells_recompute(scope)
            assert _rows(PR_METRICS) == _full(PR_METRICS), f"seed {seed}, after {ops}"
        if with_models:  # the organization-wide models, recomputed on their own, complete the table
            models_recompute()
            assert _rows() == _full(None), f"seed {seed}, after {ops}"
        transaction.savepoint_rollback(sid)
