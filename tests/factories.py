"""Small typed factories for database tests (no factory_boy): sensible defaults, keyword overrides."""
from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable

from django.utils.text import slugify

from metrics.core.models import Repository, Team
from metrics.ingestion.metric_definitions import DEFINITION_VERSION
from metrics.ingestion.models import MetricSnapshot

_seq = itertools.count(1)


def make_team(*, name: str | None = None, slug: str | None = None, parent: Team | None = None) -> Team:
    name = name or f"Team {next(_seq)}"
    return Team.objects.create(name=name, slug=slug or slugify(name), parent=parent)


def make_repository(
    *, full_name: str | None = None, team: Team | None = None, host: str = "git"
) -> Repository:
    return Repository.objects.create(full_name=full_name or f"acme/repo-{next(_seq)}", team=team, host=host)


def make_snapshot(
    *,
    metric: str,
    value: float | None,
    period_start: dt.date,
    n: int = 1,
    period: str = "week",
    team: Team | None = None,
    repository: Repository | None = None,
    scope: str | None = None,
    definition_version: str = DEFINITION_VERSION,
) -> MetricSnapshot:
    """One snapshot; ``scope`` follows from the foreign key given (neither -> organization)."""
    if scope is None:
        scope = "team" if team is not None else "repository" if repository is not None else "organization"
    return MetricSnapshot.objects.create(
        scope=scope, team=team, repository=repository, period=period, period_start=period_start,
        metric=metric, value=value, n=n, definition_version=definition_version,
    )


def make_series(
    *,
    metric: str,
    values: Iterable[float | None],
    start: dt.date,
    period: str = "week",
    n: int = 10,
    team: Team | None = None,
    repository: Repository | None = None,
) -> list[MetricSnapshot]:
    """Consecutive weekly (7-day steps) or monthly (first of month) snapshots of one metric."""
    snapshots = []
    for i, value in enumerate(values):
        if period == "week":
            period_start = start + dt.timedelta(weeks=i)
        else:
            month = start.month - 1 + i
            period_start = dt.date(start.year + month // 12, month % 12 + 1, 1)
        snapshots.append(make_snapshot(
            metric=metric, value=value, period_start=period_start, n=n, period=period, team=team,
            repository=repository,
        ))
    return snapshots
