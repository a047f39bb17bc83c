"""The schedule form, shared by the admin and the schedule pages."""

from __future__ import annotations

from django import forms

from metrics.reports.models import ReportSchedule, timezone_choices


class ReportScheduleForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        choices=timezone_choices, initial="UTC", help_text="the send time is local time in this zone"
    )

    class Meta:
        model = ReportSchedule
        fields = ["name", "audience", "teams", "period", "send_time", "timezone", "enabled"]
        widgets = {
            "audience": forms.Textarea(attrs={"rows": 3, "placeholder": "cfo@example.com, cto@example.com"}),
            "teams": forms.CheckboxSelectMultiple,
            "send_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
