"""The PR explorer: filter, sort and page through pull requests, each with its phase timeline and AI
evidence."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from metrics.analytics import catalog
from metrics.core.models import Person, Repository, Team, TeamMembership
from metrics.core.versions import data_version
from metrics.ingestion.models import PullRequest
from metrics.web import display, params, partials, pr_queries, queries
from metrics.web.access import Access, request_access
from metrics.web.memo import cache
from metrics.web.memo import key as cache_key

TIMELINE = tuple(catalog.PHASE[key] for key in catalog.TIMELINE)  # the phases' rules: the catalog's
SORT_COLUMNS = {"merged": "Merged", "cycle": "Cycle time", "size": "Size"}
SORT_PHASES = {key: catalog.PHASE[key].label for key in pr_queries.SORT_PHASES}
PAGE_WINDOW = 2  # page numbers shown either side of the current one (and always the first and last)


class PageRow(NamedTuple):
    """What a row of the table shows, read as plain values (the body, labels, branches... are not read;
    fifty model instances with their repository and author cost as much as the query)."""

    pk: int
    number: int
    title: str
    state: str
    is_bot: bool
    ai_assisted: bool
    ai_tools: Any
    created_at: dt.datetime | None
    ready_at: dt.datetime | None
    first_commit_at: dt.datetime | None
    first_review_at: dt.datetime | None
    approved_at: dt.datetime | None
    merged_at: dt.datetime | None
    reverted_at: dt.datetime | None
    cycle: dt.timedelta | None
    size: int
    author_visible: bool
    author_id: int | None
    author_name: str | None
    repository_name: str
    repository_host: str
    repository_url: str


ROW_COLUMNS = (
    *PageRow._fields[: PageRow._fields.index("author_id") + 1],
    "author__display_name",
    "repository__full_name",
    "repository__host",
    "repository__url",
)


def _host_url(url: str | None, host: str, number: int) -> str:
    base = (url or "").rstrip("/")
    if not base.startswith(("https://", "http://")):
        return ""
    if host == "gitlab":
        return f"{base}/-/merge_requests/{number}"
    return f"{base}/pull/{number}"


def host_url(pr: PullRequest) -> str:
    """The PR's page on its host (GitHub, GitLab), or "" when the repository has no web address."""
    return _host_url(pr.repository.url, pr.repository.host, pr.number)


def spans(pr: PullRequest | PageRow) -> dict[str, float | None]:
    """Every phase's hours of the PR (``catalog.pr_spans``: None when unknown or negative)."""
    return catalog.pr_spans({name: getattr(pr, name, None) for name in catalog.TIMESTAMPS})


def phases(pr: PullRequest | PageRow, hours: dict[str, float | None] | None = None) -> list[dict[str, Any]]:
    """Each timeline phase's hours (None when unknown or negative: dropped, never clipped) and share of the
    bar; ``hours``: the PR's ``spans`` when already computed."""
    hours = spans(pr) if hours is None else hours
    spans_ = [
        {"name": phase.label, "hours": hours[phase.key], "key": phase.key.replace("_", "-")}
        for phase in TIMELINE
    ]
    total = sum(s["hours"] or 0 for s in spans_)
    for span in spans_:
        span["display"] = display.hours(span["hours"]) if span["hours"] is not None else "—"
        span["width"] = f"{100 * (span['hours'] or 0) / total:.1f}" if total else "0"
    return spans_


def _truncated(text: str, length: int) -> str:
    """The template filter ``truncatechars``: the text in NFC, cut to ``length`` characters (combining
    marks not counted) with "…"; most titles are short and already NFC, which is checked in C."""
    if len(text) <= length and unicodedata.is_normalized("NFC", text):
        return text
    return Truncator(text).chars(length)


def _local(moment: dt.datetime | None, zone: dt.tzinfo) -> dt.datetime | None:
    """``moment`` in the current time zone ``zone``, as the template's date filter shows it."""
    return moment.astimezone(zone) if moment is not None and moment.utcoffset() is not None else moment


def _when(moment: dt.datetime | None, with_time: bool = True) -> str:
    """What ``date:"Y-m-d H:i"|default:"—"`` (or ``"Y-m-d"``) prints of a moment already in local time."""
    if moment is None:
        return "—"
    day = display.iso_date(moment)
    return f"{day} {moment.hour:02d}:{moment.minute:02d}" if with_time else day


class RowView(NamedTuple):
    """What ``_prs.jinja`` prints of one PR: plain text and numbers (the template escapes them)."""

    ref: str
    permalink: str  # the PR's own page in Sextant
    url: str
    state: str
    title: str
    phases: list[dict[str, Any]]
    label: str  # the timeline's text for screen readers
    opened: str
    first_commit: str
    merged: str
    merged_day: str
    reverted: str  # the day it was reverted, "" if it was not
    evidence: list[tuple[str, str, str]]  # (tool, kind, matched text or "" when the author is hidden)
    ai_assisted: bool
    ai_tools: str
    author: str  # "" when hidden from this user
    cycle: str
    size: int
    is_bot: bool
    sorted_phase: str  # "pickup 45.1 h" when the table is sorted by a phase, else ""


def permalink(repository: str, number: int) -> str:
    """The PR's permanent page: its repository's full name and its number."""
    return reverse("web:pr", args=[repository, number])


def _row_view(
    pr: PageRow, evidence: list[tuple[str, str, str]], zone: dt.tzinfo, sort_key: str = "", unit: str = ""
) -> RowView:
    """One PR's table row.  ``zone``: the current time zone (the template's date filter's); ``sort_key``:
    the phase the table is sorted by, if any; ``unit``: the cycle-time column's ("h" or "d"), the same for
    every row of the page."""
    visible = bool(pr.author_visible)
    hours = spans(pr)
    cycle = hours["cycle"]
    merged = _local(pr.merged_at, zone)
    reverted = _local(pr.reverted_at, zone)
    timeline = phases(pr, hours)
    return RowView(
        ref=f"{pr.repository_name}#{pr.number}",
        permalink=permalink(pr.repository_name, pr.number),
        url=_host_url(pr.repository_url, pr.repository_host, pr.number),
        state=pr.state,
        title=_truncated(pr.title or "(no title)", 110),
        phases=timeline,
        label=", ".join(f"{p['name']} {p['display']}" for p in timeline),
        opened=_when(_local(pr.created_at, zone)),
        first_commit=_when(_local(pr.first_commit_at, zone)),
        merged=_when(merged),
        merged_day=_when(merged, False),
        reverted=_when(reverted, False) if reverted else "",
        # Matched text can name a person ("alice (aider)"): only with the author's name.
        evidence=[
            (tool, kind, _truncated(text, 90) if visible and text else "") for tool, kind, text in evidence
        ],
        ai_assisted=pr.ai_assisted,
        ai_tools=", ".join(str(t) for t in pr.ai_tools) if pr.ai_tools else "",
        author=(pr.author_name if pr.author_id is not None else "unknown") if visible else "",
        cycle=display.hours(cycle, unit) if cycle is not None else "—",
        size=pr.size,
        is_bot=pr.is_bot,
        sorted_phase=_phase_text(sort_key, hours),
    )


def _phase_text(key: str, hours: dict[str, float | None]) -> str:
    """ "pickup 45.1 h" (or "pickup unknown"); "" without a phase."""
    if not key:
        return ""
    value = hours[key]
    return f"{catalog.PHASE[key].label} {display.hours(value) if value is not None else 'unknown'}"


def _sort_links(f: pr_queries.Filters) -> dict[str, dict[str, str]]:
    """Per sortable column and phase: the link that sorts by it (descending first: the longest, the
    newest, the largest), its arrow and its aria-sort."""
    links = {}
    for key, text in {**SORT_COLUMNS, **SORT_PHASES}.items():
        current = f.sort.lstrip("-") == key
        descending = f.sort.startswith("-")
        target = key if current and descending else f"-{key}"
        arrow = ("▼" if descending else "▲") if current else ""
        links[key] = {
            "url": "?" + urlencode(f.query(sort=target, page="")),
            "arrow": arrow,
            "text": text,
            "aria": ("descending" if descending else "ascending") if current else "none",
        }
    return links


def _pages(f: pr_queries.Filters, count: int, more: bool) -> list[dict[str, Any]]:
    """The pager's page numbers: the first, the last, the current one and its neighbours, with gaps (None)
    between; a gap after the last known page when the count was capped."""
    last = max(1, -(-count // pr_queries.PAGE_SIZE))
    near = range(max(1, f.page - PAGE_WINDOW), min(last, f.page + PAGE_WINDOW) + 1)
    items: list[dict[str, Any]] = []
    previous = 0
    for number in sorted({1, last, *near}):
        if number - previous > 1:
            items.append({"gap": True})
        url = "?" + urlencode(f.query(page=number if number > 1 else ""))
        items.append({"number": number, "url": url, "current": number == f.page})
        previous = number
    if more:
        items.append({"gap": True})
    return items


Choices = list[tuple[str, str]]


def _option_lists(access: Access) -> tuple[list[tuple[str, int, str]], Choices, Choices]:
    """The team, repository and author filters' (value, text) pairs."""
    teams = [(t.slug, depth, t.name) for t, depth in queries.team_tree()]
    repositories = Repository.objects.order_by("full_name").values_list("full_name", flat=True)
    return (
        teams,
        [(name, name) for name in repositories],
        [(str(pk), name) for pk, name in pr_queries.author_choices(access)],
    )


def _options(access: Access, f: pr_queries.Filters) -> dict[str, Any]:
    """The filters' options, built once per version of the teams, repositories and people (and per set of
    people this user may see: the author options differ by it and by nothing else of the user's)."""
    sources: list[Any] = [Team, Repository]
    if access.sees_any_people:
        sources.append(Person)
        if access.people_team_ids is not None:
            sources.append(TeamMembership)  # who is in the manager's teams
    people = None if access.people_team_ids is None else sorted(access.people_team_ids)
    name = cache_key("pr-options", data_version(*sources), access.sees_any_people, people)
    lists = cache.get_or_set(name, lambda: _option_lists(access))

    def printed(which: int, chosen: str | None) -> str:  # thousands of authors: printed once per choice
        printed_key = cache_key(name, which, chosen)
        show = partials.tree_options if which == 0 else partials.options
        return cache.get_or_set(printed_key, lambda: show(lists[which], chosen))

    return {
        "team_options": printed(0, f.team.slug if f.team else None),
        "repository_options": printed(1, f.repository.full_name if f.repository else None),
        "author_options": printed(2, str(f.author.pk) if f.author else None),
        "sizes": pr_queries.SIZE_LABELS,
        "states": pr_queries.STATES,
    }


@login_required
@params.param_errors_are_400
def pr_list(request: HttpRequest) -> HttpResponse:
    access = request_access(request)
    f = pr_queries.parse(request.GET)
    try:
        qs = pr_queries.pull_requests(f, access)
    except pr_queries.AuthorNotAllowed:
        message = (
            "You can filter by author only for people in your own teams; this person's data "
            "is not yours to see."
        )
        return render(
            request, "dashboards/error.html", {"title": "Not allowed", "message": message}, status=403
        )
    count, more = pr_queries.capped_count(qs)
    offset = (f.page - 1) * pr_queries.PAGE_SIZE
    page = [PageRow(*row) for row in qs.values_list(*ROW_COLUMNS)[offset : offset + pr_queries.PAGE_SIZE]]
    evidence = pr_queries.evidence_of([pr.pk for pr in page])
    zone = timezone.get_current_timezone()
    last_page = max(1, -(-count // pr_queries.PAGE_SIZE))
    sort_key = f.sort.lstrip("-") if f.sort.lstrip("-") in SORT_PHASES else ""
    sorts = _sort_links(f)
    unit = display.hours_unit(spans(pr)["cycle"] for pr in page)  # one unit in the cycle-time column
    context = {
        "f": f,
        "rows": partials.macro("dashboards/_prs.jinja", "rows")(
            [_row_view(pr, evidence.get(pr.pk, []), zone, sort_key, unit) for pr in page]
        ),
        "pages": _pages(f, count, more),
        "phase_sorts": [sorts[key] for key in SORT_PHASES],
        "count": count,
        "more": more,
        "first": offset + 1,
        "last": offset + len(page),
        "sees_names": access.sees_any_people,
        "sorts": sorts,
        "any_prs": bool(page) or PullRequest.objects.exists(),
        "prev_url": "?" + urlencode(f.query(page=f.page - 1 if f.page > 2 else "")) if f.page > 1 else "",
        "next_url": "?" + urlencode(f.query(page=f.page + 1))
        if f.page < last_page or (more and page)
        else "",
        "first_page_url": "?" + urlencode(f.query(page="")),
        "filtered": bool(f.query(sort="", page="")),
        # The phases' names and rules, as the catalog writes them (the table's tooltips and legend).
        "cycle_tip": catalog.PHASE["cycle"].definition + ".",
        "timeline_tip": "; ".join(f"{p.label}: {p.definition}" for p in TIMELINE) + ".",
        "timeline": [{"css": p.key.replace("_", "-"), "label": p.label} for p in TIMELINE],
        **_options(access, f),
    }
    return render(request, "dashboards/prs.html", context)
