"""Admin of the sync pipeline: data sources (secrets can be set or replaced, never shown, not even
encrypted) and sync runs, read-only: the record of what ran is not edited by hand."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from metrics.core import crypto
from metrics.core.admin import ReadOnlyAdmin
from metrics.core.models import DataSource
from metrics.ingestion.models import SyncRun
from metrics.ingestion.sync_sources import (
    HALTED,
    TOKEN_KINDS,
    WEBHOOK_SECRET_OPTION,
    public_options,
    source_target,
)


class DataSourceForm(forms.ModelForm):
    new_secret = forms.CharField(
        label="Token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="API token (GitHub App: the private key). Leave empty to keep the stored one.",
    )
    new_webhook_secret = forms.CharField(
        label="Webhook secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Secret of the repository/organization webhook. Leave empty to keep the stored one.",
    )
    clear_webhook_secret = forms.BooleanField(label="Remove the webhook secret", required=False)

    class Meta:
        model = DataSource
        fields = ["name", "kind", "options", "enabled", "sync_interval_minutes"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Even the ciphertext of the webhook secret stays out of the form.
            self.initial["options"] = public_options(self.instance)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.instance.pk and data.get("kind") in TOKEN_KINDS and not data.get("new_secret"):
            self.add_error("new_secret", "A token is required for this kind of source.")
        options = data.get("options")
        if options is not None and not isinstance(options, dict):
            self.add_error("options", "Options must be a JSON object.")
        return data

    def save(self, commit: bool = True) -> DataSource:
        source: DataSource = super().save(commit=False)
        options = {
            k: v for k, v in (self.cleaned_data.get("options") or {}).items() if not k.endswith("_encrypted")
        }
        stored = DataSource.objects.filter(pk=source.pk).values_list("options", flat=True).first() or {}
        if WEBHOOK_SECRET_OPTION in stored and not self.cleaned_data.get("clear_webhook_secret"):
            options[WEBHOOK_SECRET_OPTION] = stored[WEBHOOK_SECRET_OPTION]
        if self.cleaned_data.get("new_webhook_secret"):
            options[WEBHOOK_SECRET_OPTION] = crypto.encrypt(self.cleaned_data["new_webhook_secret"])
        source.options = options
        if self.cleaned_data.get("new_secret"):
            source.secret_encrypted = crypto.encrypt(self.cleaned_data["new_secret"])
            source.checkpoint = {k: v for k, v in source.checkpoint.items() if k != HALTED}
            source.last_error = ""
        if commit:
            source.save()
        return source


@admin.register(DataSource)
class DataSourceAdmin(admin.ModelAdmin):
    form = DataSourceForm
    list_display = [
        "name",
        "kind",
        "target",
        "enabled",
        "sync_interval_minutes",
        "last_success_at",
        "has_secret",
        "short_error",
    ]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]
    readonly_fields = ["secret_state", "last_success_at", "last_error", "created_at"]
    actions = ["forget_checkpoint"]

    @admin.display(description="reads")
    def target(self, obj: DataSource) -> str:
        return source_target(obj)

    @admin.display(description="token", boolean=True)
    def has_secret(self, obj: DataSource) -> bool:
        return bool(obj.secret_encrypted)

    @admin.display(description="secrets")
    def secret_state(self, obj: DataSource) -> str:
        token = "token stored (encrypted)" if obj.secret_encrypted else "no token"
        has_webhook = bool(obj.options.get(WEBHOOK_SECRET_OPTION))
        webhook = "webhook secret stored (encrypted)" if has_webhook else "no webhook secret"
        return f"{token}; {webhook}"

    @admin.display(description="last error")
    def short_error(self, obj: DataSource) -> str:
        return (obj.last_error or "")[:80]

    @admin.action(description="Forget the checkpoint (the next sync reads everything again)")
    def forget_checkpoint(self, request: HttpRequest, queryset: QuerySet[DataSource]) -> None:
        count = queryset.update(checkpoint={})
        self.message_user(request, f"Checkpoint cleared for {count} source(s).", messages.SUCCESS)


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "kind", "source", "status", "stage", "progress_done", "finished_at"]
    list_filter = ["status", "kind"]
    search_fields = ["source"]
    date_hierarchy = "started_at"
