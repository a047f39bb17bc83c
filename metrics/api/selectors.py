"""Querysets behind each endpoint: the token's team scope first, then the validated filters.

Team rule (scope and the ``team`` filter alike): a PR belongs to a team when its repository is owned
by the team, or its author was a member of the team when it merged (when it was opened, if it is not
merged), counting sub-teams.  Reviews and reverts follow their PR; deployments their repository.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import BooleanField, Case, DateTimeField, Exists, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Length, Substr
from django.utils import timezone

from metrics.analytics import catalog, completeness
from metrics.api.access import Access, team_subtree
from metrics.core.models import Person, Repository, Team, TeamMembership
from metrics.ingestion import completeness as data_completeness
from metrics.ingestion.models import (
    AIImpactEstimate,
    AIRoiMonth,
    Deployment,
    Incident,
    MetricSnapshot,
    PullRequest,
    Revert,
    Review,
    SyncRun,
)
from metrics.ingestion.privacy import visible_snapshots_q

# Person-scope snapshots are per-person data with no column in the long format: never exported here.
EXPORTED_SCOPES = ("team", "repository", "organization")


def _teams(access: Access, filters: dict[str, Any]) -> frozenset[int] | None:
    """Team ids the rows must belong to: the filter's subtree within the scope (None = no limit)."""
    team = filters.get("team")
    wanted = team_subtree({team.id}) if team is not None else None
    if access.team_ids is None:
        return wanted
    return access.team_ids if wanted is None else wanted & access.team_ids


def pr_in_teams(team_ids: Iterable[int], prefix: str = "") -> Q:
    """PRs (``prefix`` reaches a PR from another model) of the teams: see the module docstring."""
    ids = list(team_ids)
    at = Coalesce(
        OuterRef(f"{prefix}merged_at"), OuterRef(f"{prefix}created_at"), output_field=DateTimeField()
    )
    member = TeamMembership.objects.filter(person_id=OuterRef(f"{prefix}author_id"), team_id__in=ids).filter(
        TeamMembership.at_q(at)
    )
    # The ids as literal lists (two small queries), so PostgreSQL can combine the repository and author
    # indexes instead of testing the membership of every PR in the date range (1M PRs: 355 ms -> 11 ms).
    owned = list(Repository.objects.filter(team_id__in=ids).values_list("id", flat=True))
    authors = TeamMembership.ever_in(ids)
    # An empty list would make the whole query "nothing" before SQL exists (COPY needs the SQL).
    by_author = Q(**{f"{prefix}author_id__in": authors}) & Q(Exists(member)) if authors else Q(Exists(member))
    return Q(**{f"{prefix}repository_id__in": owned}) | by_author if owned else by_author


def _window(qs: QuerySet, field: str, filters: dict[str, Any]) -> QuerySet:
    if filters.get("since") is not None:
        qs = qs.filter(filters["since"].lower(field))
    if filters.get("until") is not None:
        qs = qs.filter(filters["until"].upper(field))
    return qs


def _updated(qs: QuerySet, filters: dict[str, Any], *fields: str) -> QuerySet:
    since = filters.get("updated_since")
    if since is None:
        return qs
    changed = Q()
    for field in fields:
        changed |= since.lower(field)
    return qs.filter(changed)


def team_rows(access: Access, filters: dict[str, Any]) -> QuerySet[Team]:
    teams = _teams(access, filters)
    qs = Team.objects.all()
    return qs if teams is None else qs.filter(id__in=teams)


def person_rows(access: Access, filters: dict[str, Any]) -> QuerySet[Person]:
    teams = _teams(access, filters)
    qs = Person.objects.all()
    if teams is not None:
        qs = qs.filter(Exists(TeamMembership.objects.filter(person_id=OuterRef("id"), team_id__in=teams)))
    if filters.get("is_bot") is not None:
        qs = qs.filter(is_bot=filters["is_bot"])
    return qs


def repository_rows(access: Access, filters: dict[str, Any]) -> QuerySet[Repository]:
    teams = _teams(access, filters)
    qs = Repository.objects.all()
    if teams is not None:
        has_prs = PullRequest.objects.filter(repository_id=OuterRef("id")).filter(pr_in_teams(teams))
        qs = qs.filter(Q(team_id__in=teams) | Q(Exists(has_prs)))
    if filters.get("repository") is not None:
        qs = qs.filter(id=filters["repository"].id)
    return qs


def _scoped(qs: QuerySet, access: Access, filters: dict[str, Any], prefix: str, repository: str) -> QuerySet:
    teams = _teams(access, filters)
    if teams is not None:
        qs = qs.filter(pr_in_teams(teams, prefix))
    if filters.get("repository") is not None:
        qs = qs.filter(**{repository: filters["repository"].id})
    return qs


def pull_request_rows(access: Access, filters: dict[str, Any]) -> QuerySet[PullRequest]:
    qs = _scoped(PullRequest.objects.all(), access, filters, "", "repository_id")
    qs = _updated(_window(qs, "merged_at", filters), filters, "updated_at", "reverted_at")
    exact = {name: filters[name] for name in ("state", "ai_assisted", "is_bot") if name in filters}
    return qs.filter(**exact)


def review_rows(access: Access, filters: dict[str, Any]) -> QuerySet[Review]:
    qs = _scoped(Review.objects.all(), access, filters, "pull_request__", "pull_request__repository_id")
    return _updated(_window(qs, "submitted_at", filters), filters, "pull_request__updated_at")


def revert_rows(access: Access, filters: dict[str, Any]) -> QuerySet[Revert]:
    qs = _scoped(Revert.objects.all(), access, filters, "reverted_pr__", "repository_id")
    return _updated(_window(qs, "reverted_at", filters), filters, "reverted_at", "restored_at")


def deployment_rows(access: Access, filters: dict[str, Any]) -> QuerySet[Deployment]:
    qs = _of_repositories(Deployment.objects.all(), access, filters, ("environment", "is_production"))
    return _updated(_window(qs, "created_at", filters), filters, "created_at", "finished_at")


def _of_repositories(
    qs: QuerySet[Any], access: Access, filters: dict[str, Any], exact: tuple[str, ...]
) -> Any:
    """Rows of a repository: a team (or a token limited to teams) sees those of the repositories its teams
    own; the repository filter and the ``exact`` ones applied."""
    teams = _teams(access, filters)
    if teams is not None:
        qs = qs.filter(repository__team_id__in=teams)
    if filters.get("repository") is not None:
        qs = qs.filter(repository_id=filters["repository"].id)
    return qs.filter(**{name: filters[name] for name in exact if name in filters})


def incident_rows(access: Access, filters: dict[str, Any]) -> QuerySet[Incident]:
    """Incidents; a team (or a token limited to teams) sees those of the repositories its teams own."""
    qs = _of_repositories(Incident.objects.all(), access, filters, ("source", "severity"))
    return _updated(_window(qs, "started_at", filters), filters, "updated_at")


def metric_rows(access: Access, filters: dict[str, Any]) -> QuerySet[MetricSnapshot]:
    """Long-format snapshots.  A scoped token sees team rows of its teams and repository rows of
    repositories its teams own; never organization rows (they include other teams' work).  Roles that
    see pseudonyms only get no rows of a group below the privacy floor in that period."""
    qs = MetricSnapshot.objects.filter(scope__in=EXPORTED_SCOPES)
    qs = qs.filter(visible_snapshots_q(access))  # groups below the floor: one person's figures
    if access.team_ids is not None:
        ids = list(access.team_ids)
        qs = qs.filter(Q(scope="team", team_id__in=ids) | Q(scope="repository", repository__team_id__in=ids))
    lookups = {
        "team_id": getattr(filters.get("team"), "id", None),
        "repository_id": getattr(filters.get("repository"), "id", None),
        "metric": filters.get("metric"),
        "period": filters.get("period"),
        "scope": filters.get("scope"),
        "period_start__gte": filters.get("since"),
        "period_start__lte": filters.get("until"),
    }
    qs = qs.filter(**{k: v for k, v in lookups.items() if v is not None})
    return _updated(qs, filters, "computed_at").annotate(provisional=provisional_case())


def provisional_case() -> Case:
    """True for rows of a period that runs past the data (``analytics/completeness.py``), in SQL."""
    upto = completeness.limit(data_completeness.data_through(), timezone.now())
    window = data_completeness.window_days()
    marked = Q()
    for period in catalog.PERIODS:
        for censored in (False, True):
            start = completeness.first_provisional(period, upto=upto, censored=censored, window_days=window)
            metrics = Q(metric__in=sorted(completeness.CENSORED))
            marked |= Q(period=period, period_start__gte=start) & (metrics if censored else ~metrics)
    return Case(When(marked, then=Value(True)), default=Value(False), output_field=BooleanField())


def sync_run_rows(access: Access, filters: dict[str, Any]) -> QuerySet[SyncRun]:
    """Sync runs.  A team-scoped token sees only runs about one repository its teams own (the run's
    label is ``<source name>:<owner/name>``, as webhook and ``sync --repo`` runs are): a whole-source run
    or a file import covers other teams' repositories, and its errors may name them."""
    qs = SyncRun.objects.all()
    if access.team_ids is not None:
        repository = Substr("source", Length("data_source__name") + 2)
        owned = Repository.objects.filter(team_id__in=list(access.team_ids), full_name=OuterRef("c_scope"))
        qs = qs.filter(data_source__isnull=False).alias(c_scope=repository).filter(Exists(owned))
    exact = {name: filters[name] for name in ("status", "kind") if name in filters}
    qs = _window(qs.filter(**exact), "started_at", filters)
    return _updated(qs, filters, "started_at", "finished_at")


def ai_impact_rows(access: Access, filters: dict[str, Any]) -> QuerySet[AIImpactEstimate]:
    """AI-impact estimates.  A team-scoped token sees only its teams' estimates (organization
    estimates pool every team's PRs)."""
    qs = AIImpactEstimate.objects.all()
    if access.team_ids is not None:
        qs = qs.filter(scope="team", team_id__in=list(access.team_ids))
    if not access.sees_money:  # the value of throughput is money
        qs = qs.exclude(outcome="throughput_value")
    lookups = {
        "team_id": getattr(filters.get("team"), "id", None),
        "outcome": filters.get("outcome"),
        "method": filters.get("method"),
        "rule": filters.get("rule"),
        "scope": filters.get("scope"),
    }
    return qs.filter(**{k: v for k, v in lookups.items() if v is not None})


def ai_roi_rows(access: Access, filters: dict[str, Any]) -> QuerySet[AIRoiMonth]:
    """ROI per month and tool (team null = organization); team-scoped tokens see their teams' rows."""
    qs = AIRoiMonth.objects.all()
    if access.team_ids is not None:
        qs = qs.filter(team_id__in=list(access.team_ids))
    lookups = {
        "team_id": getattr(filters.get("team"), "id", None),
        "tool": filters.get("tool"),
        "month__gte": filters.get("since"),
        "month__lte": filters.get("until"),
    }
    return qs.filter(**{k: v for k, v in lookups.items() if v is not None})
