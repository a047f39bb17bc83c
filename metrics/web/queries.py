"""Selectors over materialized metric snapshots, for the web pages and the REST API.

Pages get series and tables read from the snapshots.  Nothing here computes a metric: values are read as
materialized.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Exists, OuterRef, Q

from metrics.analytics.catalog import PERIODS as PERIODS  # re-exported: the pages' period choices
from metrics.analytics.team_tree import TeamTree
from metrics.core.models import Team, TeamMembership
from metrics.core.versions import data_version
from metrics.ingestion.models import MetricSnapshot, PendingChange, PullRequest, SnapshotState, SyncRun
from metrics.web import display
from metrics.web.memo import cache, key


def period_starts(*, period: str, limit: int = 60) -> list[dt.date]:
    """The newest ``limit`` period starts with data, newest first (read from the small organization rows)."""
    found = list(
        MetricSnapshot.objects.filter(scope="organization", period=period, metric="merged_prs")
        .order_by("-period_start")
        .values_list("period_start", flat=True)[:limit]
    )
    if found:
        return found
    # Without organization rows (hand-made data), fall back to any row: distinct over a small index range.
    return list(
        MetricSnapshot.objects.filter(period=period)
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .distinct()[:limit]
    )


def overview_values(
    *, period: str, since: dt.date, until: dt.date, metrics: Iterable[str]
) -> list[tuple[int | None, dt.date, str, float | None, int]]:
    """(team_id or None for the organization, period_start, metric, value, n) of every team."""
    return list(
        MetricSnapshot.objects.filter(
            scope__in=("team", "organization"),
            period=period,
            metric__in=list(metrics),
            period_start__gte=since,
            period_start__lte=until,
        ).values_list("team_id", "period_start", "metric", "value", "n")
    )


def team_tree(root: Team | None = None) -> list[tuple[Team, int]]:
    """Teams in tree order (each under its parent, siblings by name) with their depth; ``root``: only it
    and the teams below it.  A loop in the parent links cannot hide a team (``TeamTree`` cuts it)."""
    return _tree(list(Team.objects.order_by("name")), root)


def _tree(teams: list[Team], root: Team | None) -> list[tuple[Team, int]]:
    """``team_tree`` of ``teams`` (all of them, by name): ``TeamTree.depth_first``, siblings in this order."""
    by_id = {team.pk: team for team in teams}
    tree = TeamTree(((team.pk, team.parent_id, team.name) for team in teams), order="given")
    return [(by_id[pk], depth) for pk, depth in tree.depth_first(None if root is None else [root.pk])]


@functools.cache
def _newest_snapshot_sql() -> str:
    """The SQL of the newest snapshot row's (id, computed_at), compiled once (it has no parameters)."""
    return str(MetricSnapshot.objects.order_by("-id").values_list("id", "computed_at")[:1].query)


class TreeTeam(NamedTuple):
    """A team as the cached tree keeps it: plain values, safe to share between requests and threads."""

    pk: int
    name: str
    slug: str
    parent_id: int | None
    rank: int  # position by name, as the database orders names (for siblings listed apart from the tree)


Tree = tuple[tuple[TreeTeam, int], ...]


def teams_version() -> str:
    """Changes whenever a team is added, removed, renamed or moved (one small query)."""
    return data_version(Team)


def cached_team_tree(version: str | None = None) -> Tree:
    """``team_tree()`` of every team, cached under the teams' ``version`` (read when not given)."""
    version = version or teams_version()

    def build() -> Tree:
        teams = list(Team.objects.order_by("name"))
        rank = {team.pk: index for index, team in enumerate(teams)}
        tree = _tree(teams, None)
        return tuple((TreeTeam(t.pk, t.name, t.slug, t.parent_id, rank[t.pk]), depth) for t, depth in tree)

    return cache.get_or_set(key("team-tree", version), build)


class TreeIndex(NamedTuple):
    """The cached tree's teams by id and the ``TeamTree`` (siblings by name); shared: read, never change."""

    teams: dict[int, TreeTeam]
    tree: TeamTree

    def below(self, roots: Iterable[int]) -> frozenset[int]:
        """``team_subtree`` from the cached tree: the teams and every team below them."""
        return self.tree.descendants(roots)


def cached_team_index(version: str | None = None) -> TreeIndex:
    """A ``TreeIndex`` of ``cached_team_tree(version)``, cached beside it."""
    version = version or teams_version()

    def build() -> TreeIndex:
        teams = {team.pk: team for team, _ in cached_team_tree(version)}
        by_rank = sorted(teams.values(), key=lambda t: t.rank)
        rows = ((t.pk, t.parent_id, t.name, t.slug) for t in by_rank)
        return TreeIndex(teams, TeamTree(rows, order="given"))

    # "team-tree-index": the value's shape changed (a TeamTree), so a rolling release never reads the old one
    return cache.get_or_set(key("team-tree-index", version), build)


def snapshots_version() -> tuple[int, dt.datetime] | None:
    """The newest snapshot row (id, computed_at): every recompute deletes the rows and writes new ones (new
    ids), so any recompute changes it; read by primary key, instant on millions of rows.  Every page reads
    it, so without the query compiler (a third of the cost of so small a query)."""
    with connection.cursor() as cursor:
        cursor.execute(_newest_snapshot_sql())
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def latest_start(*, period: str, team_id: int) -> dt.date | None:
    return (
        MetricSnapshot.objects.filter(scope="team", team_id=team_id, period=period, metric="merged_prs")
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .first()
    )


def latest_month(*, team_id: int) -> dt.date | None:
    return (
        MetricSnapshot.objects.filter(scope="team", team_id=team_id, period="month", metric="merged_prs")
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .first()
    )


def snapshot_series(
    *,
    period: str,
    scope: str,
    team_id: int | None = None,
    metrics: Iterable[str] | None = None,
    exclude_prefix: str = "",
    since: dt.date | None = None,
) -> dict[str, list[tuple[dt.date, float | None, int]]]:
    """metric -> [(period_start, value, n), ...] oldest first: the charts' input, without pandas (a team
    dashboard reads a few thousand rows; building frames for them cost more than the query)."""
    qs = MetricSnapshot.objects.filter(period=period, scope=scope)
    if team_id is not None:
        qs = qs.filter(team_id=team_id)
    if metrics is not None:
        qs = qs.filter(metric__in=list(metrics))
    if exclude_prefix:
        qs = qs.exclude(metric__startswith=exclude_prefix)
    if since is not None:
        qs = qs.filter(period_start__gte=since)
    out: dict[str, list[tuple[dt.date, float | None, int]]] = {}
    for metric, start, value, n in qs.order_by("period_start").values_list(
        "metric", "period_start", "value", "n"
    ):
        out.setdefault(metric, []).append((start, value, n))
    return out


Series = dict[str, list[tuple[dt.date, float | None, int]]]


def team_series(
    *, team_id: int, period: str, since: dt.date | None, adoption: tuple[str, ...]
) -> tuple[Series, Series]:
    """In one query, ``snapshot_series`` of the team's ``period`` rows without the ``ai_adoption_`` metrics,
    and of its monthly ``adoption`` metrics (both since ``since``)."""
    rows = (Q(period=period) & ~Q(metric__startswith="ai_adoption_")) | Q(period="month", metric__in=adoption)
    qs = MetricSnapshot.objects.filter(rows, scope="team", team_id=team_id)
    if since is not None:
        qs = qs.filter(period_start__gte=since)
    data: Series = {}
    found: Series = {}
    for row_period, metric, start, value, n in qs.order_by("period_start").values_list(
        "period", "metric", "period_start", "value", "n"
    ):
        series = found if row_period == "month" and metric in adoption else data
        series.setdefault(metric, []).append((start, value, n))
    return data, found


def snapshots_exist() -> bool:
    return MetricSnapshot.objects.exists()


def unassigned_merged(*, period: str, start: dt.date) -> int:
    """Merged human PRs of the period that count for no team: their author was in no team when they
    merged and their repository has no team (the snapshot engine's rule), so the organization's figure
    is the teams' plus these (less PRs counted in two top-level teams, by people in both)."""
    first = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    after = dt.datetime.combine(
        display.period_end(period, start) + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC
    )
    in_a_team = Exists(
        TeamMembership.objects.filter(
            TeamMembership.at_q(OuterRef("merged_at")), person_id=OuterRef("author_id")
        )
    )
    return (
        PullRequest.objects.filter(
            merged_at__gte=first, merged_at__lt=after, is_bot=False, repository__team__isnull=True
        )
        .exclude(in_a_team)
        .count()
    )


def freshness_status() -> dict[str, Any]:
    """When the data was last synced, the metrics last computed (cells, full or incremental) and the
    organization-wide AI-impact models last computed, with "… ago" texts, and whether a recompute is
    pending or running (``updating``): the status bar of every page and ``web:freshness``."""
    synced = (
        SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    state = SnapshotState.objects.filter(pk=1).first()
    computed = state.cells_computed_at if state else None
    if computed is None:  # computed before the state kept it: the newest row (read by primary key)
        computed = MetricSnapshot.objects.order_by("-id").values_list("computed_at", flat=True).first()
    models = state.models_computed_at if state else None
    updating = PendingChange.objects.exists() or bool(state and state.models_pending_since)
    return {
        "synced": synced,
        "synced_ago": display.ago(synced),
        "computed": computed,
        "computed_ago": display.ago(computed),
        "models": models,
        "models_ago": display.ago(models),
        "updating": updating,
    }
