"""Sync runs in the Django admin, read-only: the record of what ran is not edited by hand."""
from __future__ import annotations

from django.contrib import admin

from metrics.core.admin import ReadOnlyAdmin
from metrics.ingestion.models import SyncRun


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "kind", "source", "status", "stage", "progress_done", "finished_at"]
    list_filter = ["status", "kind"]
    search_fields = ["source"]
    date_hierarchy = "started_at"
