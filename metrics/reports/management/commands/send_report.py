"""``manage.py send_report SCHEDULE --now | --dry-run`` and ``send_report --due``.

``--now`` renders and sends the schedule's latest complete period at once, in this process (a period
already sent is refused unless ``--resend``); ``--dry-run`` writes the PDF, HTML, text and .eml files
under VAR_DIR/reports/ and sends nothing; ``--due`` sends every report that is due, like the periodic
task does (for installations without a Celery beat: run it from cron).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from metrics.reports.attempts import DeliveryError
from metrics.reports.chat_delivery import chat_deliver_inline, chat_deliveries_due
from metrics.reports.models import ReportRun, ReportSchedule
from metrics.reports.periods import period_containing
from metrics.reports.services import (
    ReportError,
    report_dry_run,
    report_run_execute,
    report_run_for,
    report_run_resend,
    reports_due,
    schedule_find,
    schedule_period,
)


class Command(BaseCommand):
    help = "Send a scheduled executive report now, write it to files (--dry-run), or send all due reports."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("schedule", nargs="?", help="the schedule's name (or id)")
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--now", action="store_true", help="render and send the latest complete period now")
        mode.add_argument("--dry-run", action="store_true", help="write the files only; send nothing")
        mode.add_argument("--due", action="store_true", help="send every report whose send time has passed")
        parser.add_argument(
            "--period",
            type=dt.date.fromisoformat,
            metavar="YYYY-MM-DD",
            help="the period containing this day instead of the latest complete one",
        )
        parser.add_argument("--resend", action="store_true", help="send again a period already sent")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["due"]:
            self._due()
            return
        if not options["schedule"]:
            raise CommandError("name the schedule to send (manage.py send_report NAME --now)")
        try:
            schedule = schedule_find(name=options["schedule"])
        except ReportError as exc:
            raise CommandError(str(exc)) from None
        period = (
            period_containing(schedule.period, options["period"])
            if options["period"]
            else schedule_period(schedule)
        )
        if options["dry_run"]:
            paths = report_dry_run(schedule=schedule, period=period)
            for path in paths:
                self.stdout.write(f"  {path}")
            self.stdout.write(
                f"Dry run of {schedule.name!r} for {period.label} ({period.span}): "
                f"{len(paths)} files written, nothing sent."
            )
            return
        self._now(schedule, period, resend=options["resend"])

    def _now(self, schedule: ReportSchedule, period: Any, *, resend: bool) -> None:
        today = timezone.now().astimezone(ZoneInfo(schedule.timezone)).date()
        if period.end >= today:
            raise CommandError(
                f"{period.label} is not over yet (it ends on {period.end}); use --dry-run to preview it"
            )
        run, _ = report_run_for(schedule=schedule, period=period)
        if run.status in {ReportRun.Status.SENT, ReportRun.Status.FAILED, ReportRun.Status.SENDING}:
            if not resend:
                raise CommandError(
                    f"the report of {period.label} is already {run.status} "
                    f"(run {run.pk}); add --resend to send it again"
                )
            run = report_run_resend(run=run)
        try:
            outcome = report_run_execute(run_id=run.pk)
        except DeliveryError as exc:
            self._chat(chat_deliver_inline(run_id=run.pk))
            raise CommandError(f"not sent, the run is queued for a retry: {exc}") from None
        self._chat(chat_deliver_inline(run_id=run.pk))
        run.refresh_from_db()
        if outcome != "sent":
            raise CommandError(
                f"report of {period.label} not sent ({outcome}): {run.error.splitlines()[-1:]}"
            )
        self.stdout.write(f"Sent {schedule.name!r} for {period.label} to {run.recipients} (run {run.pk}).")

    def _due(self) -> None:
        sent = failed = 0
        for run_id in reports_due():
            try:
                outcome = report_run_execute(run_id=run_id)
            except DeliveryError as exc:
                self.stderr.write(f"run {run_id}: {exc} (queued for a retry)")
                failed += 1
                continue
            sent += outcome == "sent"
            failed += outcome == "failed"
        self._chat(chat_deliver_inline(delivery_ids=chat_deliveries_due(), run_id=None))
        self.stdout.write(f"Due reports: {sent} sent, {failed} failed or waiting for a retry.")

    def _chat(self, outcomes: dict[str, str]) -> None:
        for what, outcome in outcomes.items():
            self.stdout.write(f"  {what}: {outcome}")
