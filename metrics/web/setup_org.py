"""Settings · AI tools and costs (with the ROI knobs), and users and roles."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from metrics.core.models import AITool
from metrics.ingestion.agents_review import review_settings
from metrics.ingestion.impact import org_settings
from metrics.ingestion.models import AISeatCount
from metrics.ingestion.recompute import recompute_request
from metrics.ingestion.seats import recent_seat_counts
from metrics.web import queries, services
from metrics.web.access import Role, role_required, user_role
from metrics.web.models import UserProfile

# Least access first: a new user is a viewer unless someone chooses more.
ROLE_ORDER = [
    (r, r)
    for r in (
        UserProfile.Role.VIEWER,
        UserProfile.Role.MANAGER,
        UserProfile.Role.EXECUTIVE,
        UserProfile.Role.ADMIN,
    )
]


def _costs_post(request: HttpRequest) -> dict[str, str]:
    action = request.POST.get("action", "")
    post = request.POST
    try:
        if action == "knobs":
            services.roi_settings_set(
                hourly_cost=post.get("loaded_hourly_cost", ""),
                hours_per_pr=post.get("engineering_hours_per_pr", ""),
            )
        elif action == "review":
            services.review_settings_set(
                quick_minutes=post.get("quick_approval_minutes", ""),
                large_lines=post.get("quick_approval_lines", ""),
            )
        elif action in ("add", "edit"):
            tool = get_object_or_404(AITool, pk=post.get("tool") or 0) if action == "edit" else None
            services.ai_tool_save(
                name=post.get("name", ""),
                monthly_seat_cost=post.get("monthly_seat_cost", ""),
                currency=post.get("currency", ""),
                tool=tool,
            )
        elif action == "delete":
            get_object_or_404(AITool, pk=post.get("tool") or 0).delete()
        elif action == "seats":
            services.seat_count_save(tool=post.get("tool"), month=post.get("month"), seats=post.get("seats"))
        elif action == "seats_delete":
            get_object_or_404(AISeatCount, pk=post.get("seat_count") or 0).delete()
        else:
            return {"": f"unknown action {action!r}"}
    except services.SettingsError as exc:
        return {f"{action}:{k}": v for k, v in exc.errors.items()}
    return {}


@role_required(Role.ADMIN)
def costs(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    if request.method == "POST":
        errors = _costs_post(request)
        if not errors:
            # Spend and hours feed only the ROI table: refresh just that (seconds, not a full recompute);
            # the review thresholds change snapshot rows: a full recompute.
            review = request.POST.get("action") == "review"
            outcome = recompute_request(
                reason="settings: quick-approval thresholds"
                if review
                else "settings: AI tool costs, seats, ROI knobs",
                part="all" if review else "ai_impact",
            )
            done = "ROI recompute queued for the analytics workers" if outcome.queued else "ROI recomputed"
            messages.success(request, f"Saved; {done}.")
            return redirect("web:settings_costs")
    context = {
        "tools": AITool.objects.order_by("name"),
        "knobs": org_settings(),
        "review_knobs": review_settings(),
        "seat_counts": recent_seat_counts(),
        "errors": errors,
        "values": request.POST,
    }
    return render(request, "settings/costs.html", context, status=400 if errors else 200)


def _user_rows() -> list[dict[str, Any]]:
    model = get_user_model()
    profiles = {p.user_id: p for p in UserProfile.objects.prefetch_related("teams")}
    rows = []
    for user in model.objects.order_by("username").prefetch_related("groups"):
        profile = profiles.get(user.pk)
        rows.append(
            {
                "user": user,
                "role": user_role(user),
                "superuser": user.is_superuser,
                "teams": [t.name for t in profile.teams.all()] if profile else [],
                "team_ids": [t.pk for t in profile.teams.all()] if profile else [],
            }
        )
    return rows


def _team_options() -> list[tuple[int, str]]:
    return [(t.pk, "\u00a0\u00a0" * depth + t.name) for t, depth in queries.team_tree()]


@role_required(Role.ADMIN)
def users(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    if request.method == "POST":
        post = request.POST
        try:
            user = services.user_create(
                username=post.get("username", ""),
                email=post.get("email", ""),
                password=post.get("password", ""),
                role=post.get("role", ""),
                team_ids=[t for t in post.getlist("teams") if t.isdigit()],
            )
        except services.SettingsError as exc:
            errors = exc.errors
        else:
            messages.success(request, f"Created {user.get_username()}. They can log in now.")
            return redirect("web:settings_users")
    values = {k: v for k, v in request.POST.items() if k != "password"}
    context = {
        "rows": _user_rows(),
        "roles": ROLE_ORDER,
        "default_role": UserProfile.Role.VIEWER,
        "team_options": _team_options(),
        "errors": errors,
        "values": values,
        "chosen": [int(t) for t in request.POST.getlist("teams") if t.isdigit()],
    }
    return render(request, "settings/users.html", context, status=400 if errors else 200)


@require_POST
@role_required(Role.ADMIN)
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    if user.is_superuser:
        messages.error(
            request,
            f"{user.get_username()} is a superuser and always an admin; change that in the Django admin.",
        )
        return redirect("web:settings_users")
    if request.POST.get("action") == "active":
        if user.pk == request.user.pk:
            messages.error(request, "You cannot deactivate your own account.")
        else:
            user.is_active = not user.is_active
            user.save(update_fields=["is_active"])
            messages.success(
                request, f"{user.get_username()} is {'active' if user.is_active else 'deactivated'}."
            )
        return redirect("web:settings_users")
    try:
        services.user_role_set(
            user=user,
            role=request.POST.get("role", ""),
            team_ids=[t for t in request.POST.getlist("teams") if t.isdigit()],
        )
    except services.SettingsError as exc:
        messages.error(request, f"{user.get_username()}: {exc}")
    else:
        messages.success(request, f"{user.get_username()} is now {request.POST.get('role')}.")
    return redirect("web:settings_users")
