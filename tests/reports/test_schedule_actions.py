"""A schedule's preview and "send now" on the reports page (issue 16, item 6): admins and managers (the
access object's ``sends_reports``), a real SMTP server (aiosmtpd) receiving what "send now" sends."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from metrics.core.models import AuditLog
from metrics.reports.models import ReportRun
from metrics.reports.services import schedule_period
from tests.factories import make_snapshot, make_team_tree, make_user
from tests.reports.conftest import Mailbox, make_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(smtp: Mailbox, var_dir: Path) -> Mailbox:
    """The shared SMTP fixture, with the report files under a temporary directory."""
    return smtp


@pytest.fixture
def schedule() -> Any:
    schedule = make_schedule(name="Monthly brief")
    period = schedule_period(schedule)
    for start, value in ((period.previous().start, 40.0), (period.start, 30.0)):
        for metric, figure, n in (
            ("cycle_time_p50", value, 80),
            ("merged_prs", 80.0, 80),
            ("throughput_per_engineer", 4.0, 20),  # 20 engineers: above the privacy floor
        ):
            make_snapshot(metric=metric, value=figure, n=n, period="month", period_start=start)
    return schedule


def signed_in(role: str) -> Client:
    client = Client()
    teams = (make_team_tree()["product"],) if role == "manager" else ()
    client.force_login(make_user(f"reports-{role}", role, teams))
    return client


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_preview_renders_the_next_report_and_stores_and_sends_nothing(
    schedule: Any, role: str, smtp: Mailbox
) -> None:
    client = signed_in(role)
    archive = client.get("/reports/").content.decode()
    assert f'href="/reports/schedules/{schedule.pk}/preview/"' in archive
    assert f'action="/reports/schedules/{schedule.pk}/send/"' in archive

    response = client.get(f"/reports/schedules/{schedule.pk}/preview/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Monthly brief: {schedule_period(schedule).label}" in page
    assert "30.0 h" in page  # the period's cycle time, from its snapshot
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert not ReportRun.objects.exists() and smtp.messages == []


@pytest.mark.parametrize("role", ["executive", "viewer"])
def test_preview_and_send_now_are_refused_to_other_roles(schedule: Any, role: str, smtp: Mailbox) -> None:
    client = signed_in(role)
    assert client.get(f"/reports/schedules/{schedule.pk}/preview/").status_code == 403
    assert client.post(f"/reports/schedules/{schedule.pk}/send/").status_code == 403
    assert not ReportRun.objects.exists() and smtp.messages == []


def test_send_now_delivers_the_latest_period_to_the_audience_and_again_on_request(
    schedule: Any, smtp: Mailbox, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in("manager")
    assert client.get(f"/reports/schedules/{schedule.pk}/send/").status_code == 405  # a change: POST only
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/reports/schedules/{schedule.pk}/send/", follow=True)
    page = response.content.decode()
    assert "sending to 2 recipients" in page
    (message,) = smtp.messages
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert parsed["To"].strip() == "cfo@example.com, cto@example.com"
    assert parsed["Subject"].strip().startswith(f"Monthly brief: {schedule_period(schedule).label}")
    run = ReportRun.objects.get(schedule=schedule)
    assert (run.status, run.period_start) == ("sent", schedule_period(schedule).start)
    assert f'data-run="{run.pk}" data-status="sent"' in client.get("/reports/").content.decode()
    audit = AuditLog.objects.get(action="send")
    assert audit.object_id == str(schedule.pk) and audit.changes["recipients"] == 2

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/reports/schedules/{schedule.pk}/send/")
    assert len(smtp.messages) == 2  # sent again: a person asked for it
    run.refresh_from_db()
    assert run.status == "sent" and "queued by hand (send now)" in run.error
    assert ReportRun.objects.count() == 1


def test_send_now_leaves_a_run_under_way_alone(schedule: Any, smtp: Mailbox) -> None:
    period = schedule_period(schedule)
    ReportRun.objects.create(
        schedule=schedule, period_start=period.start, period_end=period.end, status="sending"
    )
    response = signed_in("admin").post(f"/reports/schedules/{schedule.pk}/send/", follow=True)
    assert "is being sent already" in response.content.decode()
    assert smtp.messages == [] and ReportRun.objects.get().status == "sending"


def test_schedule_form_puts_each_checkbox_beside_its_label(schedule: Any) -> None:
    make_team_tree()
    page = signed_in("admin").get(f"/reports/schedules/{schedule.pk}/").content.decode()
    assert '<fieldset class="choice-field span-all">' in page and "<legend>Teams</legend>" in page
    assert page.count('<label class="check">') >= 4  # one per team, the checkbox inside its label
    assert '<label class="check" for="id_enabled"><input type="checkbox" name="enabled"' in page
