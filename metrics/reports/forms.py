"""The schedule form, shared by the admin and the schedule pages."""

from __future__ import annotations

from typing import Any

from django import forms

from metrics.reports import chat
from metrics.reports.chat import CHAT_CHANNELS, schedule_channels, schedule_webhook_set
from metrics.reports.models import ReportSchedule, timezone_choices

WEBHOOK_HELP = {
    "slack": "a Slack incoming-webhook URL (https://hooks.slack.com/services/…)",
    "teams": "a Teams Workflows webhook URL (“Send webhook alerts to a channel”), or a legacy connector URL",
}


def _webhook_url_field(label: str) -> forms.CharField:
    """A chat webhook URL: a credential, so write-only (never rendered back into the form)."""
    return forms.CharField(
        label=label,
        required=False,
        max_length=2000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


class ReportScheduleForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        choices=timezone_choices, initial="UTC", help_text="the send time is local time in this zone"
    )
    # Chat digests (issue 21): the URLs are credentials, so they are write-only: never rendered back.
    slack_webhook_url = _webhook_url_field("Slack webhook URL")
    slack_webhook_remove = forms.BooleanField(label="Stop posting to Slack", required=False)
    teams_webhook_url = _webhook_url_field("Microsoft Teams webhook URL")
    teams_webhook_remove = forms.BooleanField(label="Stop posting to Teams", required=False)

    class Meta:
        model = ReportSchedule
        fields = ["name", "audience", "teams", "period", "send_time", "timezone", "enabled"]
        widgets = {
            "audience": forms.Textarea(attrs={"rows": 3, "placeholder": "cfo@example.com, cto@example.com"}),
            "teams": forms.CheckboxSelectMultiple,
            "send_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = schedule_channels(self.instance) if self.instance.pk else {}
        for channel in CHAT_CHANNELS:
            now = stored.get(str(channel))
            self.fields[f"{channel}_webhook_url"].help_text = (
                f"stored: {now}; leave empty to keep it, or enter a new URL to replace it"
                if now
                else f"optional: {WEBHOOK_HELP[channel]}; stored encrypted, never shown again"
            )
            if not now:  # nothing to stop; hidden, not removed (the admin lists the form's fields up front)
                self.fields[f"{channel}_webhook_remove"].widget = forms.HiddenInput()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for channel in CHAT_CHANNELS:
            url = str(cleaned.get(f"{channel}_webhook_url") or "").strip()
            if url:
                try:
                    cleaned[f"{channel}_webhook_url"] = chat.webhook_url_check(url, channel=channel)
                except chat.WebhookUrlError as exc:
                    self.add_error(f"{channel}_webhook_url", str(exc))
        return cleaned

    def save(self, commit: bool = True) -> ReportSchedule:
        schedule: ReportSchedule = super().save(commit=False)
        for channel in CHAT_CHANNELS:
            url = self.cleaned_data.get(f"{channel}_webhook_url") or ""
            if url:
                schedule_webhook_set(schedule, channel, url)
            elif self.cleaned_data.get(f"{channel}_webhook_remove"):
                schedule_webhook_set(schedule, channel, "")
        if commit:
            schedule.save()
            self.save_m2m()
        return schedule
