from __future__ import annotations

from django.contrib import admin

from metrics.reports.forms import ReportScheduleForm
from metrics.reports.models import ChatDelivery, ReportRun, ReportSchedule


@admin.register(ReportSchedule)
class ReportScheduleAdmin(admin.ModelAdmin):
    form = ReportScheduleForm
    list_display = ["name", "period", "send_time", "timezone", "enabled", "last_period_sent"]
    list_filter = ["period", "enabled"]
    readonly_fields = ["last_period_sent", "created_at"]
    exclude = ["slack_webhook_encrypted", "teams_webhook_encrypted"]  # the form's write-only URL fields


@admin.register(ReportRun)
class ReportRunAdmin(admin.ModelAdmin):
    list_display = ["schedule", "period_start", "period_end", "status", "attempts", "finished_at"]
    list_filter = ["status", "schedule"]
    # The archive is a record of what was sent: read-only here; --resend re-queues a run.
    readonly_fields = [f.name for f in ReportRun._meta.fields]
    exclude = ["html"]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(ChatDelivery)
class ChatDeliveryAdmin(admin.ModelAdmin):
    list_display = ["run", "channel", "status", "attempts", "finished_at"]
    list_filter = ["channel", "status"]
    readonly_fields = [f.name for f in ChatDelivery._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
