"""One pull request's own page, at a permanent address (/prs/<owner/name>/<number>/): its phase timeline
by the catalog's rules, AI evidence, reverts and a link to its host; the author's name and matched texts
only where the access object allows (as in the explorer)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from metrics.analytics import catalog
from metrics.ingestion.models import PullRequest, Revert
from metrics.web import display, pr_queries, prs
from metrics.web.access import pr_time, request_access

HOST_NAMES = {"github": "GitHub", "gitlab": "GitLab"}
MOMENTS = (  # the PR's timestamps, in the order they happen
    ("first_commit_at", "First commit"),
    ("created_at", "Opened"),
    ("ready_at", "Ready for review"),
    ("first_review_at", "First review"),
    ("approved_at", "Last approval"),
    ("merged_at", "Merged"),
    ("closed_at", "Closed"),
)


def _spans(pr: PullRequest) -> list[dict[str, Any]]:
    """Every phase of the catalog with this PR's hours (None: unknown or negative) and its rule."""
    hours = prs.spans(pr)
    return [
        {
            "label": phase.label,
            "display": display.hours(hours[phase.key]) if hours[phase.key] is not None else "unknown",
            "definition": phase.definition,
        }
        for phase in catalog.PHASES
        if phase.key in hours and phase.key != "deploy"  # deployments are not a PR's own timestamps
    ]


def _link(pr: PullRequest) -> tuple[str, str]:
    """(owner/name#number, its permanent page)."""
    return f"{pr.repository.full_name}#{pr.number}", prs.permalink(pr.repository.full_name, pr.number)


def _reverts(pr: PullRequest, visible: bool) -> list[dict[str, Any]]:
    rows = (
        Revert.objects.filter(reverted_pr=pr)
        .select_related("reverting_pr__repository")
        .order_by("reverted_at", "pk")
    )
    found = []
    for revert in rows:
        by = revert.reverting_pr
        found.append(
            {
                "at": revert.reverted_at,
                "restored_at": revert.restored_at,
                "sha": revert.revert_sha[:12],
                "evidence": revert.evidence,
                # The matched text is a title or message, which can name a person: only with the names.
                "matched": revert.matched_text[:200] if visible else "",
                "by": _link(by) if by is not None else None,
            }
        )
    return found


@login_required
def pr_detail(request: HttpRequest, repository: str, number: int) -> HttpResponse:
    access = request_access(request)
    pr = get_object_or_404(
        PullRequest.objects.select_related("repository", "author", "revert_of__repository")
        .alias(pr_time=pr_time())
        .annotate(author_visible=pr_queries.author_visible(access)),
        repository__full_name=repository,
        number=number,
    )
    visible = bool(pr.author_visible)  # type: ignore[attr-defined]
    evidence = pr_queries.evidence_of([pr.pk]).get(pr.pk, [])
    timeline = prs.phases(pr)
    context = {
        "pr": pr,
        "ref": f"{pr.repository.full_name}#{pr.number}",
        "host_url": prs.host_url(pr),
        "host_name": HOST_NAMES.get(pr.repository.host, pr.repository.host),
        "author": (pr.author.display_name if pr.author else "unknown") if visible else "",
        "size": (pr.additions or 0) + (pr.deletions or 0),
        "moments": [(label, getattr(pr, name)) for name, label in MOMENTS],
        "timeline": timeline,
        "timeline_label": ", ".join(f"{p['name']} {p['display']}" for p in timeline),
        "spans": _spans(pr),
        "evidence": [(tool, kind, text if visible else "") for tool, kind, text in evidence],
        "reverts": _reverts(pr, visible),
        "reverts_pr": _link(pr.revert_of) if pr.revert_of is not None else None,
    }
    return render(request, "dashboards/pr.html", context)
