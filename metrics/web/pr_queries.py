"""The PR explorer's query: filters from the URL -> one PullRequest queryset, access rules included.

A PR belongs to a team when its author was a member of the team (or a team below it) when it merged
(unmerged PRs: when they were opened), as in the snapshots.  A manager sees an author's name only on PRs
of their own teams; filtering by an author outside them is refused (see ``AuthorNotAllowed``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThanOrEqual
from django.http import QueryDict

from metrics.analytics import catalog
from metrics.core.models import Person, Repository, Team, TeamMembership
from metrics.ingestion.models import AIEvidence, PullRequest
from metrics.web import params
from metrics.web.access import Access, membership_at_q, people_visible, pr_time, team_subtree

PAGE_SIZE = 50
COUNT_CAP = 10_000  # counting every match of a broad filter over millions of rows costs more than it tells
SIZES = {  # lines changed
    "xs": (0, 9),
    "s": (10, 99),
    "m": (100, 499),
    "l": (500, 999),
    "xl": (1000, None),
}
SIZE_LABELS = {
    "xs": "XS (< 10 lines)",
    "s": "S (10-99)",
    "m": "M (100-499)",
    "l": "L (500-999)",
    "xl": "XL (1000+)",
}
SORTS = {
    "-merged": F("merged_at").desc(nulls_last=True),
    "merged": F("merged_at").asc(nulls_last=True),
    "-created": F("created_at").desc(nulls_last=True),
    "created": F("created_at").asc(nulls_last=True),
    "-cycle": F("cycle").desc(nulls_last=True),
    "cycle": F("cycle").asc(nulls_last=True),
    "-size": F("size").desc(nulls_last=True),
    "size": F("size").asc(nulls_last=True),
}
# Sorting by a phase: "the PRs that waited longest for pickup" (unknown and negative spans last).
SORT_PHASES = catalog.TIMELINE
for _key in SORT_PHASES:
    SORTS[f"-{_key}"] = F(f"span_{_key}").desc(nulls_last=True)
    SORTS[_key] = F(f"span_{_key}").asc(nulls_last=True)
STATES = ("all", "merged", "open", "closed")


class AuthorNotAllowed(Exception):
    """The author filter names a person whose data this user may not see."""


@dataclass(frozen=True)
class Filters:
    team: Team | None
    repository: Repository | None
    author: Person | None
    ai: bool | None
    reverted: bool | None
    bots: bool
    state: str
    size: str
    merged_from: dt.date | None
    merged_to: dt.date | None
    sort: str
    page: int

    def query(self, **changes: Any) -> dict[str, str]:
        """The URL parameters of these filters (with ``changes``), empty ones left out."""
        values: dict[str, Any] = {
            "team": self.team.slug if self.team else "",
            "repository": self.repository.full_name if self.repository else "",
            "author": self.author.pk if self.author else "",
            "ai": _yes_no(self.ai),
            "reverted": _yes_no(self.reverted),
            "bots": "yes" if self.bots else "",
            "state": "" if self.state == "all" else self.state,
            "size": self.size,
            "merged_from": self.merged_from or "",
            "merged_to": self.merged_to or "",
            "sort": "" if self.sort == "-merged" else self.sort,
            "page": "" if self.page == 1 else self.page,
            **changes,
        }
        return {k: str(v) for k, v in values.items() if v not in ("", None)}


def _yes_no(value: bool | None) -> str:
    return "" if value is None else "yes" if value else "no"


def _repository(query: QueryDict) -> Repository | None:
    name = query.get("repository", "")
    if not name:
        return None
    found = Repository.objects.filter(full_name=name).first()
    if found is None:
        raise params.ParamError(f"Invalid repository {name!r}: no repository has this name.")
    return found


def _author(query: QueryDict) -> Person | None:
    if not query.get("author"):
        return None
    pk = params.int_value(query, "author", default=0, low=1)
    person = Person.objects.filter(pk=pk).first()
    if person is None:
        raise params.ParamError(f"Invalid author {pk}: no person has this id.")
    return person


def parse(query: QueryDict) -> Filters:
    """The explorer's filters; a bad value raises ParamError naming the parameter."""
    merged_from, merged_to = params.date_value(query, "merged_from"), params.date_value(query, "merged_to")
    if merged_from and merged_to and merged_from > merged_to:
        raise params.ParamError(
            f"Invalid date range: merged_from {merged_from} is after merged_to {merged_to}."
        )
    return Filters(
        team=params.team_value(query),
        repository=_repository(query),
        author=_author(query),
        ai=params.yes_no(query, "ai"),
        reverted=params.yes_no(query, "reverted"),
        bots=bool(params.yes_no(query, "bots")),
        state=params.choice(query, "state", STATES, "all"),
        size=params.choice(query, "size", ("", *SIZES), ""),
        merged_from=merged_from,
        merged_to=merged_to,
        sort=params.choice(query, "sort", tuple(SORTS), "-merged"),
        page=params.int_value(query, "page", default=1, low=1, high=100_000),
    )


def author_visible(access: Access) -> Q | Value | Any:
    """Per PR: may this user see its author's name?"""
    if access.people_team_ids is None:
        return Value(True, output_field=BooleanField())
    if not access.people_team_ids:
        return Value(False, output_field=BooleanField())
    return membership_at_q(access.people_team_ids)


def _author_filter(qs: QuerySet[PullRequest], author: Person, access: Access) -> QuerySet[PullRequest]:
    if access.people_team_ids is None:
        return qs.filter(author=author)
    if not access.people_team_ids or not Person.objects.filter(people_visible(access), pk=author.pk).exists():
        raise AuthorNotAllowed(author.pk)
    # Only the PRs the author made while in the manager's teams: their time elsewhere is not the manager's.
    return qs.filter(author=author).filter(membership_at_q(access.people_team_ids))


def _dates(qs: QuerySet[PullRequest], f: Filters) -> QuerySet[PullRequest]:
    if f.merged_from:
        qs = qs.filter(merged_at__gte=dt.datetime.combine(f.merged_from, dt.time.min, tzinfo=dt.UTC))
    if f.merged_to:
        qs = qs.filter(
            merged_at__lt=dt.datetime.combine(f.merged_to + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        )
    return qs


_CYCLE = catalog.PHASE["cycle"]  # one start, one end: the sort key is the plain difference


def _first_known(names: tuple[str, ...]) -> Any:
    return F(names[0]) if len(names) == 1 else Coalesce(*names)


def phase_span(key: str) -> Case:
    """The phase's span by the catalog's rule (first known start -> first known end) as a duration; NULL
    when either is unknown or the span is negative, as ``catalog.pr_spans`` (only the order is used)."""
    phase = catalog.PHASE[key]
    start, end = _first_known(phase.start), _first_known(phase.end)
    span = ExpressionWrapper(end - start, output_field=DurationField())
    return Case(When(GreaterThanOrEqual(end, start), then=span), default=None, output_field=DurationField())


def pull_requests(f: Filters, access: Access) -> QuerySet[PullRequest]:
    """The filtered, sorted PRs with ``cycle``, ``size`` and ``author_visible`` annotated (``pr_time``: an
    alias for the filters, not selected)."""
    qs = (
        PullRequest.objects.select_related("repository", "author")
        .alias(pr_time=pr_time())
        .annotate(
            cycle=ExpressionWrapper(F(_CYCLE.end[0]) - F(_CYCLE.start[0]), output_field=DurationField()),
            size=Coalesce(F("additions"), 0) + Coalesce(F("deletions"), 0),
            author_visible=author_visible(access),
        )
    )
    if f.sort.lstrip("-") in SORT_PHASES:
        key = f.sort.lstrip("-")
        qs = qs.alias(**{f"span_{key}": phase_span(key)})
    if f.team is not None:
        teams = team_subtree([f.team.pk])
        # The EXISTS alone is tested against every PR (1M PRs, one team's AI PRs of 90 days: 43 ms -> 9 ms).
        authors = TeamMembership.ever_in(teams)
        qs = qs.filter(membership_at_q(teams), **({"author_id__in": authors} if authors else {}))
    if f.repository is not None:
        qs = qs.filter(repository=f.repository)
    if f.author is not None:
        qs = _author_filter(qs, f.author, access)
    if f.ai is not None:
        qs = qs.filter(ai_assisted=f.ai)
    if f.reverted is not None:
        qs = qs.filter(reverted_at__isnull=not f.reverted)
    if not f.bots:
        qs = qs.filter(is_bot=False)
    if f.state != "all":
        qs = qs.filter(state=f.state)
    if f.size:
        low, high = SIZES[f.size]
        qs = qs.filter(size__gte=low) if high is None else qs.filter(size__gte=low, size__lte=high)
    qs = _dates(qs, f)
    return qs.order_by(SORTS[f.sort], "-id")


def capped_count(qs: QuerySet[PullRequest]) -> tuple[int, bool]:
    """(matches up to COUNT_CAP, whether there are more)."""
    found = qs.order_by().values("id")[: COUNT_CAP + 1].count()
    return min(found, COUNT_CAP), found > COUNT_CAP


def evidence_of(pr_ids: list[int]) -> dict[int, list[tuple[str, str, str]]]:
    """PR id -> its AI evidence and its commits' ((tool, kind, matched text), de-duplicated)."""
    found: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    own = AIEvidence.objects.filter(pull_request_id__in=pr_ids).values_list(
        "pull_request_id", "tool", "kind", "matched_text"
    )
    via = PullRequest.commits.through.objects.filter(
        pullrequest_id__in=pr_ids, commit__ai_evidence__isnull=False
    ).values_list(
        "pullrequest_id",
        "commit__ai_evidence__tool",
        "commit__ai_evidence__kind",
        "commit__ai_evidence__matched_text",
    )
    for pr_id, tool, kind, text in [*own, *via]:
        if (tool, kind, text) not in found[pr_id]:
            found[pr_id].append((tool, kind, text))
    return found


def author_choices(access: Access) -> list[tuple[int, str]]:
    """The people this user may filter by (nobody for executives and viewers)."""
    if not access.sees_any_people:
        return []
    people = Person.objects.filter(people_visible(access), is_bot=False).distinct().order_by("display_name")
    return list(people.values_list("id", "display_name")[:2000])
