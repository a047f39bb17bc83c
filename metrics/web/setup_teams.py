"""Settings · teams and memberships: the team tree, editing a team and its members, the CSV import."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from metrics.core.models import DataSource, Team, TeamMembership
from metrics.ingestion.changes import EVERYTHING, ChangeScope
from metrics.ingestion.recompute import recompute_request
from metrics.web import params, queries, services
from metrics.web.access import Role, role_required, team_subtree


def _tree_rows() -> list[dict[str, Any]]:
    now = timezone.now()
    current = Q(memberships__end__isnull=True) | Q(memberships__end__gt=now)
    counts = dict(Team.objects.annotate(n=Count("memberships", filter=current)).values_list("id", "n"))
    return [
        {"team": t, "depth": depth, "indent": f"{0.75 + depth * 1.1:.2f}", "members": counts.get(t.pk, 0)}
        for t, depth in queries.team_tree()
    ]


def _parent_choices(team: Team | None) -> list[tuple[int, str]]:
    excluded = team_subtree([team.pk]) if team else frozenset()
    return [
        (t.pk, "\u00a0\u00a0" * depth + t.name) for t, depth in queries.team_tree() if t.pk not in excluded
    ]


def _parent(post: Any) -> Team | None:
    value = post.get("parent", "")
    if not value:
        return None
    found = Team.objects.filter(pk=value).first() if value.isdigit() else None
    if found is None:
        raise services.SettingsError({"parent": "unknown parent team; reload the page"})
    return found


@role_required(Role.ADMIN)
def teams(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            team = services.team_save(name=request.POST.get("name", ""), parent=_parent(request.POST))
        except services.SettingsError as exc:
            errors = exc.errors
        else:
            messages.success(request, f"Created {team.name}. Add its members below.")
            return redirect("web:settings_team", slug=team.slug)
    github = (
        DataSource.objects.filter(kind=DataSource.Kind.GITHUB)
        .exclude(options__org="")
        .exclude(options__org__isnull=True)
    )
    context = {
        "rows": _tree_rows(),
        "parents": _parent_choices(None),
        "errors": errors,
        "github_sources": [s for s in github if s.options.get("org")],
        "values": request.POST,
    }
    return render(request, "settings/teams.html", context, status=400 if errors else 200)


@require_POST
@role_required(Role.ADMIN)
def teams_import(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a CSV file to import.")
        return redirect("web:settings_teams")
    try:
        summary = services.teams_csv_import(content=upload.read())
    except services.SettingsError as exc:
        messages.error(request, f"{upload.name}: nothing was imported. {exc.errors.get('file', exc)}")
    else:
        outcome = recompute_request(reason=f"teams CSV {upload.name} imported in settings")
        messages.success(
            request,
            f"Imported {summary['memberships']} memberships of {summary['people']} people in "
            f"{summary['teams']} teams from {upload.name}; {outcome}.",
        )
    return redirect("web:settings_teams")


def _recompute(reason: str, scope: ChangeScope = EVERYTHING) -> str:
    """Memberships and the tree decide whose work counts for which team: recompute (or queue it)."""
    return str(recompute_request(reason=f"settings: {reason}", scope=scope))


def _team_post(request: HttpRequest, team: Team) -> dict[str, str]:
    """Apply one of the team page's forms; returns the errors (empty when it worked)."""
    action = request.POST.get("action", "")
    try:
        if action == "save":
            parent_before = team.parent_id
            services.team_save(name=request.POST.get("name", ""), parent=_parent(request.POST), team=team)
            # A move changes which rollups the team's people count in; a rename changes no number.
            moved = f"; {_recompute(f'team {team.name} moved')}" if team.parent_id != parent_before else ""
            messages.success(request, f"Saved {team.name}{moved}.")
        elif action == "add":
            start = params.date_value(request.POST, "start")
            services.membership_add(
                team=team,
                identity=request.POST.get("identity", ""),
                name=request.POST.get("person_name", ""),
                start=start,
            )
            messages.success(request, f"Member added; {_recompute(f'member added to {team.name}')}.")
        elif action == "end":
            membership = get_object_or_404(TeamMembership, pk=request.POST.get("membership") or 0, team=team)
            end = params.date_value(request.POST, "end")
            if end is None:  # no silent "today": the page no longer pre-fills one beside every member
                return {"end": f"choose the last day of {membership.person} in {team.name}"}
            services.membership_end(membership=membership, end=end)
            people = frozenset([membership.person_id])
            outcome = _recompute(f"membership in {team.name} ended", ChangeScope(people=people, models=True))
            messages.success(request, f"{membership.person} leaves {team.name} on {end:%Y-%m-%d}; {outcome}.")
        else:
            return {"": f"unknown action {action!r}"}
    except params.ParamError as exc:
        return {"start": str(exc)} if action == "add" else {"end": str(exc)}
    except services.SettingsError as exc:
        return exc.errors
    return {}


@role_required(Role.ADMIN)
def team_edit(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team, slug=slug)
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = _team_post(request, team)
        if not errors:
            return redirect("web:settings_team", slug=team.slug)
    members = (
        TeamMembership.objects.filter(team=team)
        .select_related("person")
        .prefetch_related("person__identities")
        .order_by("end", "person__display_name")
    )
    now = timezone.now()
    context = {
        "team": team,
        "parents": _parent_choices(team),
        "errors": errors,
        "values": request.POST,
        "current": [m for m in members if m.end is None or m.end > now],
        "former": [m for m in members if m.end is not None and m.end <= now],
        "today": now.date(),
    }
    return render(request, "settings/team_edit.html", context, status=400 if errors else 200)


@require_POST
@role_required(Role.ADMIN)
def recompute(request: HttpRequest) -> HttpResponse:
    """Recompute every metric (here in embedded mode, else on the analytics workers); syncs, imports and
    settings changes ask by themselves, this is for an operator who wants it now."""
    outcome = recompute_request(reason="settings: the Recompute button")
    messages.success(request, f"{str(outcome).capitalize()}.")
    target = request.POST.get("next", "")
    # Only back to a settings page: never an open redirect.
    return redirect(target if target.startswith("/settings/") else reverse("web:settings_teams"))
