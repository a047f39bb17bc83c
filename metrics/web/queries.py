"""Selectors over materialized metric snapshots, for the web pages and the REST API.

Pages get long-format DataFrames (``snapshot_frame``); the API gets a lazily paginated queryset
(``metric_snapshot_list``).  Nothing here computes a metric: values are read as materialized.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
from django.db.models import F, Max, QuerySet

from metrics.core.models import Team
from metrics.ingestion.models import MetricSnapshot

PERIODS = ("week", "month")
SCOPES = ("team", "repository", "organization")
SNAPSHOT_COLUMNS = [
    "scope",
    "team_slug",
    "repository_full_name",
    "period",
    "period_start",
    "metric",
    "value",
    "n",
    "definition_version",
]


def snapshot_frame(
    *,
    period: str,
    scope: str | None = None,
    team_id: int | None = None,
    metrics: Iterable[str] | None = None,
    since: dt.date | None = None,
) -> pd.DataFrame:
    """One row per snapshot, columns ``SNAPSHOT_COLUMNS``, sorted by period_start.

    ``period_start`` is a pandas datetime (midnight, naive: it is a calendar date); ``value`` is float
    with NaN where no value could be computed.
    """
    qs = MetricSnapshot.objects.filter(period=period)
    if scope is not None:
        qs = qs.filter(scope=scope)
    if team_id is not None:
        qs = qs.filter(team_id=team_id)
    if metrics is not None:
        qs = qs.filter(metric__in=list(metrics))
    if since is not None:
        qs = qs.filter(period_start__gte=since)
    rows = (
        qs.annotate(team_slug=F("team__slug"), repository_full_name=F("repository__full_name"))
        .order_by("period_start", "metric", "id")
        .values_list(*SNAPSHOT_COLUMNS)
    )
    frame = pd.DataFrame.from_records(list(rows), columns=SNAPSHOT_COLUMNS)
    return frame.assign(
        period_start=pd.to_datetime(frame["period_start"]),
        value=pd.to_numeric(frame["value"], errors="coerce").astype(float),
    )


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
    and the teams below it.  A cycle in the parent links cannot hide a team: leftovers come last."""
    teams = list(Team.objects.order_by("name"))
    children: dict[int | None, list[Team]] = {}
    for team in teams:
        children.setdefault(team.parent_id, []).append(team)
    known = {team.pk for team in teams}
    tops = (
        [root] if root is not None else [t for t in teams if t.parent_id is None or t.parent_id not in known]
    )
    ordered: list[tuple[Team, int]] = []
    seen: set[int] = set()
    stack = [(team, 0) for team in reversed(tops)]
    while stack:
        team, depth = stack.pop()
        if team.pk in seen:
            continue
        seen.add(team.pk)
        ordered.append((team, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(team.pk, [])))
    if root is None:
        ordered.extend((team, 0) for team in teams if team.pk not in seen)
    return ordered


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


def snapshots_exist() -> bool:
    return MetricSnapshot.objects.exists()


def latest_computed_at(*, team_id: int | None = None) -> dt.datetime | None:
    """When the newest snapshot (of the team, if given) was computed: the page's "data as of"."""
    qs = MetricSnapshot.objects.all()
    if team_id is not None:
        qs = qs.filter(team_id=team_id)
    return qs.aggregate(latest=Max("computed_at"))["latest"]


def team_list() -> list[Team]:
    return list(Team.objects.order_by("name"))


def metric_snapshot_list(
    *,
    team_slug: str | None = None,
    repository: str | None = None,
    metric: str | None = None,
    period: str | None = None,
    scope: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[MetricSnapshot]:
    """Snapshots matching every given filter, in a stable order for offset pagination.

    ``team_slug`` selects team-scope rows of that team; ``repository`` (``owner/name``) selects
    repository-scope rows; ``since``/``until`` bound ``period_start`` inclusively.
    """
    lookups = {
        "team__slug": team_slug,
        "repository__full_name": repository,
        "metric": metric,
        "period": period,
        "scope": scope,
        "period_start__gte": since,
        "period_start__lte": until,
    }
    qs = MetricSnapshot.objects.filter(**{k: v for k, v in lookups.items() if v is not None})
    return qs.annotate(team_slug=F("team__slug"), repository_full_name=F("repository__full_name")).order_by(
        "period", "period_start", "scope", "team_id", "repository_id", "metric", "id"
    )


def metric_is_known(metric: str) -> bool:
    """True if any snapshot carries this metric name."""
    return MetricSnapshot.objects.filter(metric=metric).exists()
