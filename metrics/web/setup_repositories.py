"""Settings · repositories: which team owns each repository.  A PR counts for its author's team at merge
time; a PR whose author was in no team counts for its repository's team, and without either for no team
(the overview's "unassigned" row).  Admins only; every change is in the audit log and asks for a
recompute."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from metrics.core.models import AuditLog, Repository, Team
from metrics.core.observability import current_user_id
from metrics.ingestion.changes import ChangeScope
from metrics.ingestion.recompute import recompute_request
from metrics.web import queries
from metrics.web.access import Role, role_required
from metrics.web.services import SettingsError

FIELD = "team-"  # the form's field per repository: team-<repository id> = team id, or "" for none


def _team(value: str, teams: Mapping[int, Team], repository: Repository) -> Team | None:
    if not value:
        return None
    team = teams.get(int(value)) if value.isdigit() else None
    if team is None:
        raise SettingsError({f"{FIELD}{repository.pk}": f"unknown team {value!r} for {repository.full_name}"})
    return team


def repository_teams_set(post: Mapping[str, str]) -> list[str]:
    """Apply the form's assignments (``team-<id>``: team id or ""); returns "owner/name: old -> new" per
    change.  A bad value raises SettingsError naming it and stores nothing; each change is audit-logged
    (Repository is written by every sync, so it is not audited by signal)."""
    teams = {t.pk: t for t in Team.objects.all()}
    ids = {k: k[len(FIELD) :] for k in post if k.startswith(FIELD)}
    wanted = {int(pk): post[k] for k, pk in ids.items() if pk.isdigit()}
    changes = []
    with transaction.atomic():
        found = Repository.objects.filter(pk__in=wanted).select_related("team").order_by("full_name")
        for repository in found:
            team = _team(wanted[repository.pk], teams, repository)
            if team == repository.team:
                continue
            before = repository.team.slug if repository.team else None
            repository.team = team
            repository.save(update_fields=["team"])
            AuditLog.objects.create(
                actor_id=current_user_id.get(),
                action="update",
                object_type="core.Repository",
                object_id=str(repository.pk),
                object_repr=repository.full_name[:300],
                changes={"team": {"from": before, "to": team.slug if team else None}},
            )
            after = team.slug if team else "no team"
            changes.append(f"{repository.full_name}: {before or 'no team'} → {after}")
    return changes


@role_required(Role.ADMIN)
def repositories(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    if request.method == "POST":
        owners = dict(Repository.objects.values_list("pk", "team_id"))
        try:
            changes = repository_teams_set(request.POST)
        except SettingsError as exc:
            errors = exc.errors
        else:
            if changes:
                moved = {
                    pk
                    for pk, team in Repository.objects.values_list("pk", "team_id")
                    if owners.get(pk) != team
                }
                outcome = recompute_request(
                    reason=f"settings: repository teams ({len(changes)} changed)",
                    scope=ChangeScope(repositories=frozenset(moved), models=True),
                )
                messages.success(request, f"Saved {len(changes)} repository team(s); {outcome}.")
            else:
                messages.info(request, "No repository changed team.")
            return redirect("web:settings_repositories")
    context: dict[str, Any] = {
        "repositories": Repository.objects.select_related("team").order_by("full_name"),
        "teams": [(t.pk, "\u00a0\u00a0" * depth + t.name) for t, depth in queries.team_tree()],
        "errors": errors,
    }
    return render(request, "settings/repositories.html", context, status=400 if errors else 200)
