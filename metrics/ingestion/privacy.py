"""The privacy floor for metric snapshots: a group's figures are per-person figures when it is small.

A group (a team, a repository, the organization) in one period is *large* when its
``throughput_per_engineer`` snapshot counts at least ``settings.MIN_GROUP_SIZE`` active engineers (its
``n``: distinct non-bot authors who merged a PR).  Below that, or with no such row (nobody merged), the
group's snapshots of that period describe one or a few people: roles that may not see those people (web
viewers and executives, managers for other teams, API executive/viewer tokens) do not get them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from metrics.core.access import Access
from metrics.ingestion.models import MetricSnapshot

ENGINEERS_METRIC = "throughput_per_engineer"
GroupPeriod = tuple[int | None, str, dt.date]  # (team id, None = organization; period; period start)


def floor() -> int:
    return int(settings.MIN_GROUP_SIZE)


def above_floor_q() -> Q:
    """A MetricSnapshot queryset condition: the row's group was large in the row's period."""
    large = MetricSnapshot.objects.filter(
        metric=ENGINEERS_METRIC,
        n__gte=floor(),
        scope=OuterRef("scope"),
        period=OuterRef("period"),
        period_start=OuterRef("period_start"),
    )
    return (
        (Q(scope="team") & Q(Exists(large.filter(team_id=OuterRef("team_id")))))
        | (Q(scope="repository") & Q(Exists(large.filter(repository_id=OuterRef("repository_id")))))
        | (Q(scope="organization") & Q(Exists(large)))
    )


def large_groups(*, team_ids: Iterable[int] | None, since: dt.date | None = None) -> set[GroupPeriod]:
    """(team id or None, period, start) of the team/organization groups that were large (``team_ids``:
    only those teams, and the organization; None: every team)."""
    qs = MetricSnapshot.objects.filter(
        metric=ENGINEERS_METRIC, n__gte=floor(), scope__in=("team", "organization")
    )
    if team_ids is not None:
        qs = qs.filter(Q(scope="organization") | Q(team_id__in=list(team_ids)))
    if since is not None:
        qs = qs.filter(period_start__gte=since)
    return set(qs.values_list("team_id", "period", "period_start"))


def visible_snapshots_q(access: Access) -> Q:
    """A MetricSnapshot queryset condition: the rows ``access`` may see.  Every row for whoever sees
    every person; for a manager, their own teams' rows (and repositories their teams own) whatever the
    size, other groups only above the floor; for everyone else, only groups above the floor."""
    if access.sees_all_people:
        return Q()
    if not access.sees_any_people:
        return above_floor_q()
    own = sorted(access.people_team_ids or ())
    mine = Q(scope="team", team_id__in=own) | Q(scope="repository", repository__team_id__in=own)
    return above_floor_q() | mine
