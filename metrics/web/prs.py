"""The PR explorer: filter, sort and page through pull requests, each with its phase timeline and AI
evidence."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from html import escape
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from metrics.core.models import Person, Repository, Team, TeamMembership
from metrics.core.versions import data_version
from metrics.ingestion.models import PullRequest
from metrics.web import display, params, pr_queries, queries
from metrics.web.access import Access, request_access
from metrics.web.memo import cache
from metrics.web.memo import key as cache_key
from metrics.web.overview import select_option

PHASES = (  # (name, start fields in order of preference, end fields in order of preference)
    ("coding", ("first_commit_at",), ("created_at",)),
    ("pickup", ("ready_at", "created_at"), ("first_review_at", "approved_at", "merged_at")),
    ("rework", ("first_review_at",), ("approved_at",)),
    ("merge wait", ("approved_at",), ("merged_at",)),
)
SORT_COLUMNS = {"merged": "Merged", "cycle": "Cycle time", "size": "Size"}


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
    "author__display_name", "repository__full_name", "repository__host", "repository__url",
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


def _first(pr: PullRequest | PageRow, fields: tuple[str, ...]) -> dt.datetime | None:
    return next((getattr(pr, name) for name in fields if getattr(pr, name) is not None), None)


def phases(pr: PullRequest | PageRow) -> list[dict[str, Any]]:
    """Each phase's hours (None when unknown or negative: dropped, never clipped) and share of the bar."""
    spans = []
    for name, starts, ends in PHASES:
        start, end = _first(pr, starts), _first(pr, ends)
        hours = (end - start).total_seconds() / 3600 if start and end else None
        if name == "merge wait" and pr.merged_at is None:
            hours = None
        spans.append(
            {
                "name": name,
                "hours": hours if hours is not None and hours >= 0 else None,
                "key": name.replace(" ", "-"),
            }
        )
    total = sum(s["hours"] or 0 for s in spans)
    for span in spans:
        span["display"] = display.hours(span["hours"]) if span["hours"] is not None else "—"
        span["width"] = f"{100 * (span['hours'] or 0) / total:.1f}" if total else "0"
    return spans


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


def _evidence_html(pr: PageRow, evidence: list[tuple[str, str, str]], visible: bool) -> str:
    if evidence:
        items = "".join(
            # Matched text can name a person ("alice (aider)"): only with the author's name.
            f'<li><span class="badge badge-ai">{escape(tool)}</span> {escape(kind)}'
            f"{f': <code>{escape(_truncated(text, 90))}</code>' if visible and text else ''}</li>"
            for tool, kind, text in evidence
        )
        return ('\n              <p class="small"><strong>AI evidence</strong></p>\n'
                f'              <ul class="evidence">{items}</ul>\n              ')
    if pr.ai_assisted:
        tools = f" ({', '.join(escape(str(t)) for t in pr.ai_tools)})" if pr.ai_tools else ""
        return f'<p class="small">Marked AI-assisted{tools}.</p>\n              '
    return ('<p class="small muted">No AI evidence found (trailers are optional, so this is not proof of '
            "none).</p>")


HIDDEN_AUTHOR = ('<span class="muted" title="names are shown to admins, and to managers for their own teams">'
                 "hidden</span>")


def _row_html(pr: PageRow, evidence: list[tuple[str, str, str]], zone: dt.tzinfo) -> str:
    """One PR's table row, the same text the template's row loop printed: fifty rows through the template
    engine (filters, lookups, escaping per variable) cost more than the rest of the page.  ``zone``: the
    current time zone."""
    visible = bool(pr.author_visible)
    ref = escape(f"{pr.repository_name}#{pr.number}")
    url = _host_url(pr.repository_url, pr.repository_host, pr.number)
    link = f'<a href="{escape(url)}" rel="noopener" target="_blank">{ref} ↗</a>' if url else ref
    state = escape(pr.state)
    cycle = pr.cycle.total_seconds() / 3600 if pr.cycle is not None else None
    author = (pr.author_name if pr.author_id is not None else "unknown") if visible else ""
    merged = _local(pr.merged_at, zone)
    spans = phases(pr)  # names, keys and displays are constants and formatted numbers: nothing to escape
    phase_list = "".join(
        f'<div><dt><span class="swatch phase-{p["key"]}"></span>{p["name"]}</dt><dd>{p["display"]}</dd></div>'
        for p in spans
    )
    label = ", ".join(f'{p["name"]} {p["display"]}' for p in spans)
    bars = "".join(
        f'<span class="phase-{p["key"]}" style="width: {p["width"]}%" '
        f'title="{p["name"]}: {p["display"]}"></span>'
        for p in spans
    )
    reverted = _local(pr.reverted_at, zone)
    reverted_text = f" · <strong>reverted {_when(reverted, False)}</strong>" if reverted else ""
    flags = (('<span class="badge badge-ai">AI</span>' if pr.ai_assisted else "")
             + ('<span class="badge badge-revert">reverted</span>' if pr.reverted_at else "")
             + ('<span class="badge">bot</span>' if pr.is_bot else ""))
    return (
        f'\n      <tr data-pr="{ref}">\n        <td class="pr-cell" data-label="">\n'
        f'          <div class="pr-ref">{link} <span class="state state-{state}">{state}</span></div>\n'
        f'          <details class="pr-details">\n'
        f"            <summary>{escape(_truncated(pr.title or '(no title)', 110))}</summary>\n"
        f'            <div class="pr-more">\n              <dl class="phase-list">\n'
        f"                {phase_list}\n              </dl>\n"
        f'              <p class="small muted">Opened {_when(_local(pr.created_at, zone))} · first commit '
        f"{_when(_local(pr.first_commit_at, zone))} · merged {_when(merged)} UTC{reverted_text}</p>\n"
        f"              {_evidence_html(pr, evidence, visible)}\n"
        f"            </div>\n          </details>\n        </td>\n"
        f'        <td data-label="Author">{escape(author) if author else HIDDEN_AUTHOR}</td>\n'
        f'        <td data-label="Merged" class="nowrap">{_when(merged, False)}</td>\n'
        f'        <td class="num" data-label="Cycle time">'
        f'{display.hours(cycle) if cycle is not None and cycle >= 0 else "—"}</td>\n'
        f'        <td class="timeline-col" data-label="Phases"><div class="timeline" role="img" '
        f'aria-label="{label}">{bars}</div></td>\n'
        f'        <td class="num" data-label="Size">{pr.size}</td>\n'
        f'        <td data-label="Flags" class="flags">{flags}</td>\n      </tr>\n      '
    )


def _sort_links(f: pr_queries.Filters) -> dict[str, dict[str, str]]:
    links = {}
    for key, text in SORT_COLUMNS.items():
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


def _option_tags(choices: Iterable[tuple[object, str]], selected: object) -> SafeString:
    """The <option> tags of a filter, built here: thousands of people or teams through a template loop
    cost 150 ms a page (500 teams, 2,000 authors); here a few ms."""
    tags = (
        f'<option value="{escape(str(value))}"{" selected" if value == selected else ""}>'
        f"{escape(text)}</option>"
        for value, text in choices
    )
    return mark_safe("".join(tags))  # noqa: S308 - every value and text is escaped above


def _option_lists(access: Access) -> tuple[SafeString, SafeString, SafeString]:
    """The team, repository and author options with nothing selected."""
    teams = [(t.slug, "\u00a0\u00a0" * depth + t.name) for t, depth in queries.team_tree()]
    repositories = Repository.objects.order_by("full_name").values_list("full_name", flat=True)
    return (
        _option_tags(teams, None),
        _option_tags(((name, name) for name in repositories), None),
        _option_tags(pr_queries.author_choices(access), None),
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
    teams, repositories, authors = cache.get_or_set(name, lambda: _option_lists(access))
    return {
        "team_options": select_option(teams, f.team.slug if f.team else None),
        "repository_options": select_option(repositories, f.repository.full_name if f.repository else None),
        "author_options": select_option(authors, str(f.author.pk) if f.author else None),
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
    context = {
        "f": f,
        "rows": SafeString("".join(_row_html(pr, evidence.get(pr.pk, []), zone) for pr in page)),
        "count": count,
        "more": more,
        "first": offset + 1,
        "last": offset + len(page),
        "sees_names": access.sees_any_people,
        "sorts": _sort_links(f),
        "any_prs": bool(page) or PullRequest.objects.exists(),
        "prev_url": "?" + urlencode(f.query(page=f.page - 1 if f.page > 2 else "")) if f.page > 1 else "",
        "next_url": "?" + urlencode(f.query(page=f.page + 1))
        if f.page < last_page or (more and page)
        else "",
        "first_page_url": "?" + urlencode(f.query(page="")),
        "filtered": bool(f.query(sort="", page="")),
        **_options(access, f),
    }
    return render(request, "dashboards/prs.html", context)
