# ruff: noqa: RUF001 - typographic dashes and minus signs are what the report prints
"""Issue 21: report digests posted to Slack and Microsoft Teams incoming webhooks (local receivers on
127.0.0.1 that check the documented payloads), once per scheduled run, retried after a 500, with the same
numbers as the e-mail; the webhook URLs are stored encrypted and never shown back."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from metrics.core.models import AuditLog
from metrics.reports import chat
from metrics.reports.chat import schedule_channels, schedule_webhook_set
from metrics.reports.chat_delivery import chat_deliveries_due, chat_delivery_execute
from metrics.reports.models import ChatDelivery, ReportRun, ReportSchedule
from metrics.reports.periods import period_containing
from metrics.reports.services import report_dry_run, report_run_execute, report_run_for
from metrics.reports.tasks import chat_deliver_task, report_deliver_task, reports_send_due_task
from metrics.web.models import UserProfile
from tests.fakes.chat_webhooks import FakeSlackWebhook, FakeTeamsWebhook, slack_check, workflow_check
from tests.reports.conftest import make_schedule
from tests.reports.test_delivery import snapshots  # noqa: F401 - the fixture
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db
OCTOBER = period_containing("monthly", dt.date(2026, 10, 1))


@pytest.fixture(autouse=True)
def keys(settings: Any, tmp_path: Path) -> None:
    settings.SEXTANT_ENCRYPTION_KEYS = Fernet.generate_key().decode()
    settings.VAR_DIR = tmp_path / "var"
    settings.SEXTANT_BASE_URL = "https://sextant.example.com"


@pytest.fixture
def slack() -> Iterator[FakeSlackWebhook]:
    with FakeSlackWebhook() as receiver:
        yield receiver


@pytest.fixture
def teams() -> Iterator[FakeTeamsWebhook]:
    with FakeTeamsWebhook() as receiver:
        yield receiver


def with_webhooks(schedule: ReportSchedule, slack_url: str = "", teams_url: str = "") -> ReportSchedule:
    schedule_webhook_set(schedule, "slack", slack_url)
    schedule_webhook_set(schedule, "teams", teams_url)
    schedule.save()
    return schedule


def email_headline(message: Any) -> dict[str, str]:
    """label -> the text after "label: " of each HEADLINE line of the e-mail's plain-text part."""
    text = message.body
    lines = text.split("HEADLINE", 1)[1].split("NOTABLE CHANGES", 1)[0].splitlines()
    return {line[2:].split(": ", 1)[0]: line[2:].split(": ", 1)[1] for line in lines if line.startswith("- ")}


def test_one_message_per_channel_per_scheduled_run_after_a_500_and_a_retry(
    snapshots: None,  # noqa: F811
    slack: FakeSlackWebhook,
    teams: FakeTeamsWebhook,
    django_capture_on_commit_callbacks: Any,
) -> None:
    schedule = with_webhooks(make_schedule(), slack.url, teams.url)
    ReportSchedule.objects.filter(pk=schedule.pk).update(created_at=dt.datetime(2026, 9, 1, tzinfo=dt.UTC))
    slack.server.fault("POST", r"/services/.*", status=500, body="rollup_error")
    teams.server.fault("POST", r"/workflows/.*", status=500, body={"error": {"code": "InternalServerError"}})

    with django_capture_on_commit_callbacks(execute=True):
        reports_send_due_task.delay()
        reports_send_due_task.delay()  # the beat tick twice: still one run
    run = ReportRun.objects.get(schedule=schedule)
    deliveries = {d.channel: d for d in ChatDelivery.objects.filter(run=run)}
    assert run.status == "sent" and len(mail.outbox) == 1
    assert {c: (d.status, d.attempts) for c, d in deliveries.items()} == {
        "slack": ("queued", 1),
        "teams": ("queued", 1),
    }
    assert "answered 500 rollup_error; retrying in 60 s" in deliveries["slack"].error
    assert (slack.messages, teams.messages) == ([], [])

    # The retry is due (its task message lost, say): the due check and a duplicate task both run it.
    later = timezone.now() + dt.timedelta(hours=2)
    due = chat_deliveries_due(now=later)
    assert sorted(due) == sorted(d.pk for d in deliveries.values())
    for delivery_id in [*due, *due]:
        chat_deliver_task.delay(delivery_id)
    report_deliver_task.delay(run.pk)  # and a duplicate of the run's own task
    assert len(slack.messages) == len(teams.messages) == 1 and len(mail.outbox) == 1
    assert slack.server.count("POST", r"/services/.*") == teams.server.count("POST", r"/workflows/.*") == 2
    assert set(ChatDelivery.objects.values_list("status", "attempts")) == {("sent", 2)}
    assert chat_deliveries_due(now=later + dt.timedelta(days=3)) == []

    # The numbers are the e-mail's, label for label; the link opens the archived report.
    headline = email_headline(mail.outbox[0])
    fields = slack.messages[0]["blocks"][2]["fields"]
    slack_kpis = {f["text"].split("\n")[0].strip("*"): f["text"].split("\n")[1] for f in fields}
    card = teams.messages[0]["attachments"][0]["content"]
    teams_kpis = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert set(headline) == set(slack_kpis) == set(teams_kpis) and len(headline) == 6
    for label, line in headline.items():
        value = line.split(" (")[0]
        assert slack_kpis[label].startswith(value) and teams_kpis[label].startswith(value), label
    assert headline["Cycle time (median)"].startswith(run.summary["kpis"][0]["value"])
    link = f"https://sextant.example.com/reports/runs/{run.pk}/"
    assert slack.messages[0]["blocks"][-1]["elements"][0]["url"] == link
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open the full report", "url": link}]


def test_a_permanent_refusal_fails_the_delivery_once_and_the_url_is_nowhere(
    snapshots: None,  # noqa: F811
    slack: FakeSlackWebhook,
    teams: FakeTeamsWebhook,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    revoked = slack.url.replace(slack.secret, "revoked-secret-0123456789")
    schedule = with_webhooks(make_schedule(), revoked, teams.legacy_url)
    run, _ = report_run_for(schedule=schedule, period=OCTOBER)
    assert report_run_execute(run_id=run.pk) == "sent"
    outcomes = {d.channel: chat_delivery_execute(delivery_id=d.pk) for d in ChatDelivery.objects.all()}
    assert outcomes == {"slack": "failed", "teams": "sent"}
    failed = ChatDelivery.objects.get(channel="slack")
    assert "posting failed: answered 404 no_service" in failed.error and failed.attempts == 1
    assert chat_deliveries_due(now=timezone.now() + dt.timedelta(days=2)) == []
    assert chat_delivery_execute(delivery_id=failed.pk) == "skipped"
    # The legacy connector URL got a MessageCard with the same facts.
    legacy = teams.messages[0]
    assert legacy["@type"] == "MessageCard" and len(legacy["sections"][0]["facts"]) == 6
    stored = ReportSchedule.objects.get(pk=schedule.pk)
    for secret in ("revoked-secret-0123456789", teams.workflow):
        assert secret not in stored.slack_webhook_encrypted + stored.teams_webhook_encrypted
        assert secret not in failed.error and secret not in caplog.text


def test_a_timeout_waiting_for_the_answer_is_failed_and_never_posted_twice(
    snapshots: None,  # noqa: F811
    slack: FakeSlackWebhook,
    settings: Any,
) -> None:
    settings.REPORTS_CHAT_TIMEOUT = 0.5
    slack.server.fault("POST", r"/services/.*", status=200, body="ok", delay=1.5)
    schedule = with_webhooks(make_schedule(), slack.url)
    run, _ = report_run_for(schedule=schedule, period=OCTOBER)
    report_run_execute(run_id=run.pk)
    delivery = ChatDelivery.objects.get()
    assert chat_delivery_execute(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert "may have been posted" in delivery.error and "not retried" in delivery.error
    assert chat_delivery_execute(delivery_id=delivery.pk) == "skipped"
    # The receiver logs the request once its delayed answer is written (to a client long gone).
    wait_for(lambda: slack.server.requests, 10, "the receiver never logged the request")
    assert len(slack.server.requests) == 1


def summary(*, provisional: bool) -> dict[str, Any]:
    kpi = {
        "label": "Revert rate",
        "value": "4.0%",
        "change": "−1.0 pt",
        "trend": "better",
        "previous": "5.0%",
    }
    return {
        "title": "Monthly brief: October 2026 <Q4 & more>",
        "organization": "Acme <R&D>",
        "scope": "Whole organization",
        "span": "1–31 Oct 2026",
        "previous": "Sep 2026",
        "incomplete": "This period is incomplete: the data runs through 20 October 2026."
        if provisional
        else "",
        "kpis": [{**kpi, "key": "revert_rate", "approximate": False, "provisional": provisional}],
    }


def test_provisional_marks_and_escaping_in_both_payloads() -> None:
    link = "https://sextant.example.com/reports/runs/1/"
    for provisional, expected in (
        (False, "4.0% (−1.0 pt vs Sep 2026: 5.0%, better)"),
        (True, "4.0% (provisional)"),
    ):
        slack_body = chat.slack_payload(summary(provisional=provisional), link)
        teams_body = chat.teams_payload(summary(provisional=provisional), link)
        slack_check(slack_body)
        workflow_check(teams_body)
        assert slack_body["blocks"][2]["fields"][0]["text"] == f"*Revert rate*\n{expected}"
        facts = teams_body["attachments"][0]["content"]["body"][2]["facts"]
        assert facts == [{"title": "Revert rate", "value": expected}]
        notes = [b for b in slack_body["blocks"] if b["type"] == "context"]
        assert len(notes) == (2 if provisional else 1)
    assert slack_body["blocks"][1]["elements"][0]["text"].startswith("Acme &lt;R&amp;D&gt; · Whole")
    assert slack_body["text"].startswith("Monthly brief: October 2026 &lt;Q4 &amp; more&gt; (1–31 Oct")
    assert slack_body["blocks"][0]["text"]["text"] == "Monthly brief: October 2026 <Q4 & more>"  # plain text


@pytest.fixture
def manager(client: Client) -> Client:
    user = get_user_model().objects.create_user(username="mgr")
    UserProfile.objects.update_or_create(user=user, defaults={"role": "manager"})
    client.force_login(user)
    return client


def schedule_form(name: str = "Monthly brief", **extra: str) -> dict[str, str]:
    return {
        "name": name,
        "audience": "cfo@example.com",
        "period": "monthly",
        "send_time": "08:00",
        "timezone": "UTC",
        "enabled": "on",
        **extra,
    }


def test_the_schedule_form_stores_webhooks_encrypted_and_never_shows_them(
    admin_client: Client, slack: FakeSlackWebhook, teams: FakeTeamsWebhook
) -> None:
    response = admin_client.post(
        "/reports/schedules/new/",
        schedule_form(slack_webhook_url=slack.url, teams_webhook_url=teams.url),
    )
    assert response.status_code == 302, response.content.decode()[-1500:]
    schedule = ReportSchedule.objects.get()
    assert schedule_channels(schedule) == {
        "slack": "127.0.0.1 (URL hidden)",
        "teams": "127.0.0.1 (URL hidden)",
    }
    pages = [
        admin_client.get(f"/reports/schedules/{schedule.pk}/").content.decode(),
        admin_client.get("/reports/").content.decode(),
        admin_client.get(f"/admin/reports/reportschedule/{schedule.pk}/change/").content.decode(),
    ]
    for html in pages:
        assert slack.secret not in html and teams.sig not in html and teams.workflow not in html
    assert "stored: 127.0.0.1 (URL hidden)" in pages[0] and "Slack, Teams" in pages[1]

    audit = AuditLog.objects.filter(object_type="reports.ReportSchedule").values_list("changes", flat=True)
    assert audit and all(
        slack.secret not in str(c) and schedule.slack_webhook_encrypted not in str(c) for c in audit
    )
    assert any(c.get("slack_webhook_encrypted") == "[changed]" for c in audit)
    # Saving without the URL fields keeps them; "stop posting" removes one.
    admin_client.post(f"/reports/schedules/{schedule.pk}/", schedule_form(slack_webhook_remove="on"))
    schedule.refresh_from_db()
    assert schedule.slack_webhook_encrypted == "" and schedule.teams_webhook_encrypted != ""


def test_a_webhook_url_that_is_not_https_or_points_at_metadata_is_refused(admin_client: Client) -> None:
    for url, message in (
        ("http://hooks.slack.com/services/T/B/x", "must start with https://"),
        ("https://169.254.169.254/latest/meta-data", "webhook URL is refused"),
        ("hooks.slack.com/services/T/B/x", "must be an https:// URL"),
    ):
        response = admin_client.post("/reports/schedules/new/", schedule_form(slack_webhook_url=url))
        html = response.content.decode()
        assert response.status_code == 400 and message in html and url not in html, url
    assert not ReportSchedule.objects.exists()


def test_managers_see_which_channels_but_never_the_urls_and_cannot_edit(
    manager: Client, slack: FakeSlackWebhook
) -> None:
    schedule = with_webhooks(make_schedule(), slack.url)
    archive = manager.get("/reports/")
    assert archive.status_code == 200 and slack.secret not in archive.content.decode()
    assert '<td data-label="Chat">Slack</td>' in archive.content.decode()
    assert manager.get(f"/reports/schedules/{schedule.pk}/").status_code == 403
    changed = manager.post(f"/reports/schedules/{schedule.pk}/", schedule_form(slack_webhook_remove="on"))
    assert changed.status_code == 403
    schedule.refresh_from_db()
    assert schedule.slack_webhook_encrypted != ""


def test_viewers_cannot_open_the_schedule_form(client: Client) -> None:
    viewer = get_user_model().objects.create_user(username="viewer")
    client.force_login(viewer)
    assert client.get("/reports/schedules/new/").status_code == 403
    assert (
        client.post("/reports/schedules/new/", schedule_form(slack_webhook_url="https://x")).status_code
        == 403
    )
    assert not ReportSchedule.objects.exists()


def test_send_report_now_and_due_post_the_digest_in_process_without_workers(
    snapshots: None,  # noqa: F811
    slack: FakeSlackWebhook,
    teams: FakeTeamsWebhook,
) -> None:
    with_webhooks(make_schedule(), slack.url, teams.url)
    teams.server.fault("POST", r"/workflows/.*", status=429, retry_after=1)
    out = StringIO()
    call_command("send_report", "Monthly brief", "--now", "--period", "2026-10-01", stdout=out)
    text = out.getvalue()
    assert "slack delivery" in text and ": sent" in text and "queued for a retry" in text
    assert (len(slack.messages), len(teams.messages), len(mail.outbox)) == (1, 0, 1)
    waiting = ChatDelivery.objects.get(channel="teams")
    assert "answered 429" in waiting.error and waiting.status == "queued"
    ChatDelivery.objects.filter(pk=waiting.pk).update(next_attempt_at=timezone.now() - dt.timedelta(hours=1))
    call_command("send_report", "--due", stdout=StringIO())
    call_command("send_report", "--due", stdout=StringIO())
    assert (len(slack.messages), len(teams.messages), len(mail.outbox)) == (1, 1, 1)


def test_a_dry_run_writes_each_channels_message_and_posts_nothing(
    snapshots: None,  # noqa: F811
    slack: FakeSlackWebhook,
    teams: FakeTeamsWebhook,
) -> None:
    schedule = with_webhooks(make_schedule(), slack.url, teams.url)
    paths = {p.name.split("-dry-run")[1]: p for p in report_dry_run(schedule=schedule, period=OCTOBER)}
    assert sorted(paths) == [".eml", ".html", ".pdf", ".slack.json", ".teams.json", ".txt"]
    slack_body = json.loads(paths[".slack.json"].read_text())
    teams_body = json.loads(paths[".teams.json"].read_text())
    slack_check(slack_body)
    workflow_check(teams_body)
    assert slack.server.requests == [] and teams.server.requests == [] and not ChatDelivery.objects.exists()
    assert slack.secret not in paths[".slack.json"].read_text()
