"""API tokens in the Django admin: create (the token is shown once, on the page after saving), scope,
revoke.  Only the hash is stored, so a lost token cannot be shown again: revoke it and create another."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from metrics.api.models import ApiToken
from metrics.api.tokens import api_token_issue, api_token_revoke


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name", "role", "all_teams", "teams"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("all_teams") and data.get("teams"):
            raise forms.ValidationError("Choose either all teams or some teams, not both.")
        if not data.get("all_teams") and not data.get("teams"):
            raise forms.ValidationError("Choose the teams this token may see, or tick 'all teams'.")
        return data


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ("name", "prefix", "role", "scope", "created_at", "last_used_at", "revoked_at")
    list_filter = ("role", "all_teams")
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    filter_horizontal = ("teams",)
    actions = ["revoke_tokens"]

    @admin.display(description="teams")
    def scope(self, obj: ApiToken) -> str:
        return "all" if obj.all_teams else ", ".join(t.slug for t in obj.teams.all()) or "(none)"

    def save_model(self, request: HttpRequest, obj: ApiToken, form: forms.ModelForm, change: bool) -> None:
        if not change:
            obj.created_by = request.user if request.user.is_authenticated else None
            # Kept on the request (not on this shared ModelAdmin) just long enough to show it once.
            request._sextant_raw_token = api_token_issue(token=obj)
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        raw = getattr(request, "_sextant_raw_token", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "token": obj,
            "raw_token": raw,
            "opts": self.model._meta,
            "title": "API token created",
        }
        response = TemplateResponse(request, "api/token_created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected tokens")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = api_token_revoke(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)
