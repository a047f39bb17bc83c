"""Core admin: the audit log, read-only.  (Data sources' admin lives with the sync pipeline, in
metrics/ingestion/admin.py: core imports nothing above it.)"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from metrics.core.models import AuditLog


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse and search; no add, change or delete (the change page shows the fields read-only)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    """Who changed what (never secret values): read-only, so the log cannot be edited away here."""

    list_display = ["created_at", "actor", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "object_id", "actor__username"]
    date_hierarchy = "created_at"
