"""Settings · people across tools: the people known only from AI-tool data (a Cursor or Claude Code e-mail,
an Amazon Q user id, an OTLP account id that matched no commit author or host login by e-mail or login),
each linkable by hand to the person whose work they are (``people.person_merge``).  Admins only."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from metrics.core.models import Person
from metrics.ingestion.changes import EVERYTHING, ChangeScope
from metrics.ingestion.models import Commit, PullRequest
from metrics.ingestion.people import person_merge, tool_identities_unmatched
from metrics.ingestion.recompute import recompute_request
from metrics.web.access import Role, role_required


def _people_with_work() -> list[Person]:
    """The people a tool identity can be linked to: authors of commits or pull requests (not bots)."""
    ids = set(PullRequest.objects.exclude(author=None).values_list("author", flat=True).distinct())
    ids |= set(Commit.objects.exclude(author=None).values_list("author", flat=True).distinct())
    return list(Person.objects.filter(pk__in=ids, is_bot=False).order_by("display_name", "pk"))


@role_required(Role.ADMIN)
def identities(request: HttpRequest) -> HttpResponse:
    context = {"rows": tool_identities_unmatched(), "people": _people_with_work()}
    return render(request, "settings/identities.html", context)


@require_POST
@role_required(Role.ADMIN)
def identity_link(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Person, pk=pk)
    target_id = request.POST.get("target", "")
    if not target_id.isdigit():
        messages.error(request, f"Choose the person {source.display_name} is.")
        return redirect("web:settings_identities")
    target = get_object_or_404(Person, pk=int(target_id))
    # The linked identity's AI usage now counts for the target (the models); its PRs or commits, if it had
    # any, move to the target's teams: then every cell, as their old placement is not kept.
    had_work = (
        PullRequest.objects.filter(author=source).exists() or Commit.objects.filter(author=source).exists()
    )
    try:
        moved = person_merge(source=source, target=target)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        outcome = recompute_request(
            reason=f"settings: identity {source.pk} linked to person {target.pk}",
            scope=EVERYTHING if had_work else ChangeScope(models=True),
        )
        messages.success(
            request,
            f"Linked {source.display_name} to {target.display_name} ({moved} rows moved); {outcome}.",
        )
    return redirect("web:settings_identities")
