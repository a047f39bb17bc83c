# ruff: noqa: RUF001 - typographic dashes and minus signs are what the report prints
"""Delivery in-process: a real SMTP server (aiosmtpd) that refuses, the due check, and the claim that
makes a second delivery of the same run send nothing."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from metrics.reports.models import ReportRun
from metrics.reports.periods import due_at, period_containing
from metrics.reports.services import report_run_execute, report_run_for, reports_due, schedule_period
from metrics.reports.tasks import report_deliver_task, reports_send_due_task
from tests.factories import make_snapshot
from tests.reports.conftest import Mailbox, make_schedule

pytestmark = pytest.mark.django_db
OCTOBER = period_containing("monthly", dt.date(2026, 10, 1))


@pytest.fixture
def snapshots() -> None:
    for start in (dt.date(2026, 9, 1), dt.date(2026, 10, 1)):
        for metric, value, n in (
            ("cycle_time_p50", 30.0, 80),
            ("merged_prs", 80.0, 80),
            ("throughput_per_engineer", 4.0, 20),
            ("revert_rate", 0.05, 80),
            ("ai_assisted_share", 0.25, 80),
        ):
            make_snapshot(metric=metric, value=value, n=n, period="month", period_start=start)


def test_a_temporary_smtp_failure_is_recorded_and_the_retry_sends_it(
    snapshots: None, var_dir: Path, smtp: Mailbox
) -> None:
    smtp.fail_next = 1
    run, _ = report_run_for(schedule=make_schedule(), period=OCTOBER)
    result = report_deliver_task.delay(run.pk).get()  # in-process (no broker): stays queued for the retry
    assert result["status"] == "queued" and "451" in result["error"]
    run.refresh_from_db()
    assert (run.status, run.attempts, smtp.messages) == ("queued", 1, [])
    assert "attempt 1: delivery failed: SMTPDataError: (451" in run.error and "retrying in 60 s" in run.error
    assert run.next_attempt_at is not None and run.next_attempt_at > timezone.now()

    assert report_run_execute(run_id=run.pk) == "sent"
    run.refresh_from_db()
    assert (run.status, run.attempts, len(smtp.messages)) == ("sent", 2, 1)
    assert "451" in run.error  # the failure stays on record beside the success
    received = email.message_from_bytes(smtp.messages[0], policy=email.policy.default)
    assert received["Subject"] == "Monthly brief: October 2026 (1–31 Oct 2026)"
    assert report_run_execute(run_id=run.pk) == "skipped" and len(smtp.messages) == 1


def test_a_permanent_refusal_fails_the_run_and_is_not_retried(
    snapshots: None, var_dir: Path, smtp: Mailbox
) -> None:
    smtp.fail_next, smtp.fail_reply = 1, "550 5.1.1 No such mailbox"
    run, _ = report_run_for(schedule=make_schedule(), period=OCTOBER)
    assert report_run_execute(run_id=run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == "failed" and "550" in run.error and run.finished_at is not None
    far_later = timezone.now() + dt.timedelta(days=2)
    assert run.pk not in reports_due(now=far_later)  # a failed run waits for a human (--resend)
    assert report_run_execute(run_id=run.pk) == "skipped" and smtp.messages == []


def test_the_due_task_run_twice_sends_the_period_once(
    snapshots: None, var_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    schedule = make_schedule(send_time=dt.time(9, 30), timezone="America/New_York")
    # A schedule sends nothing for periods that ended before it existed: make it older.
    type(schedule).objects.filter(pk=schedule.pk).update(created_at=dt.datetime(2026, 9, 15, tzinfo=dt.UTC))
    # 1 November 2026 is the day New York leaves summer time: 09:30 EST is 14:30 UTC (not 13:30).
    assert due_at(OCTOBER, schedule.send_time, schedule.timezone) == dt.datetime(
        2026, 11, 1, 14, 30, tzinfo=dt.UTC
    )
    period = schedule_period(schedule)  # the latest complete month today
    assert (
        reports_due(now=due_at(period, schedule.send_time, schedule.timezone) - dt.timedelta(minutes=1)) == []
    )
    with django_capture_on_commit_callbacks(execute=True):
        reports_send_due_task.delay()
        reports_send_due_task.delay()
    run = ReportRun.objects.get(schedule=schedule)
    assert (run.period_start, run.status, run.attempts) == (period.start, "sent", 1)
    assert len(mail.outbox) == 1
    report_deliver_task.delay(run.pk)  # a duplicate delivery message
    assert len(mail.outbox) == 1 and ReportRun.objects.count() == 1
