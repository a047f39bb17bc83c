"""Report runs: which are due, rendering them to files, and delivering them at most once.

A run moves ``queued -> rendering -> sending -> sent``.  Each step is a conditional ``update()`` on
(id, status, attempt number), so of two workers holding the same run only one moves it on: the other
finds nothing to claim and stops.  Once a run reached ``sending`` it is never sent again automatically:
a worker that died there leaves a run that is marked failed ("may or may not have been delivered")
rather than risk a second copy in an executive's inbox.  A temporary SMTP error puts the run back to
``queued`` with the error recorded and ``next_attempt_at`` set; a permanent one (5xx) fails it.  So does a
PDF that cannot be written to the archive (disk full, permissions): nothing is sent without its archived
copy, the attempt is recorded, and the run is retried like a temporary SMTP error.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import smtplib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from metrics.core.models import AuditLog
from metrics.core.observability import current_user_id
from metrics.reports import chat
from metrics.reports.attempts import (
    LEASE,
    RECOVERY_GRACE,
    Status,
    attempt_move,
    attempt_note,
    logger,
    retry_later,
)
from metrics.reports.chat import CHAT_CHANNELS, schedule_webhook
from metrics.reports.chat_delivery import chat_deliveries_create, report_link
from metrics.reports.content import Report, report_build
from metrics.reports.models import ReportRun, ReportSchedule
from metrics.reports.periods import ReportPeriod, due_at, last_complete
from metrics.reports.rendering import report_email, report_html, report_pdf, report_text


class ReportError(Exception):
    """A report action that cannot be done (unknown schedule, period already sent, ...)."""


# --- files -------------------------------------------------------------------------------------------


def reports_dir() -> Path:
    return Path(settings.VAR_DIR) / "reports"


def _write(path: Path, data: bytes) -> None:
    """Write whole or not at all: a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _base_name(schedule: ReportSchedule, period: ReportPeriod) -> str:
    return f"{schedule.pk}-{slugify(schedule.name) or 'report'}/{period.start:%Y-%m-%d}-{period.kind}"


@dataclass(frozen=True)
class Rendered:
    report: Report
    html: str
    pdf: bytes
    filename: str


def report_render(*, schedule: ReportSchedule, period: ReportPeriod) -> Rendered:
    report = report_build(
        period=period,
        team_ids=list(schedule.teams.values_list("id", flat=True)),
        title=f"{schedule.name}: {period.label}",
    )
    html = report_html(report, mode="pdf")
    filename = f"sextant-{slugify(schedule.name) or 'report'}-{period.start:%Y-%m-%d}.pdf"
    return Rendered(report, html, report_pdf(html), filename)


def subject(schedule: ReportSchedule, period: ReportPeriod) -> str:
    return f"{schedule.name}: {period.label} ({period.span})"


# --- runs ----------------------------------------------------------------------------------------------


def schedule_find(*, name: str) -> ReportSchedule:
    """A schedule by name (case-insensitive) or id; a ReportError names the known ones."""
    found = ReportSchedule.objects.filter(name__iexact=name.strip()).first()
    if found is None and name.strip().isdigit():
        found = ReportSchedule.objects.filter(pk=int(name)).first()
    if found is None:
        known = (
            ", ".join(repr(n) for n in ReportSchedule.objects.values_list("name", flat=True)) or "none yet"
        )
        raise ReportError(f"no report schedule called {name!r} (known: {known})")
    return found


def schedule_period(schedule: ReportSchedule, *, now: dt.datetime | None = None) -> ReportPeriod:
    """The schedule's latest complete period, by the calendar of its time zone."""
    now = now or timezone.now()
    return last_complete(schedule.period, now.astimezone(ZoneInfo(schedule.timezone)).date())


def report_run_for(*, schedule: ReportSchedule, period: ReportPeriod) -> tuple[ReportRun, bool]:
    """The run of (schedule, period), created queued if new; two callers at once get the same row."""
    try:
        with transaction.atomic():
            return ReportRun.objects.get_or_create(
                schedule=schedule,
                period_start=period.start,
                defaults={"period_end": period.end, "next_attempt_at": timezone.now()},
            )
    except IntegrityError:  # the other caller inserted it between our get and create
        return ReportRun.objects.get(schedule=schedule, period_start=period.start), False


def _claim(run_id: int) -> ReportRun | None:
    now = timezone.now()
    claimable = Q(status__in=[Status.QUEUED, Status.DRY_RUN]) | Q(
        status=Status.RENDERING, started_at__lt=now - LEASE
    )
    claimed = ReportRun.objects.filter(claimable, pk=run_id).update(
        status=Status.RENDERING,
        attempts=F("attempts") + 1,
        started_at=now,
        finished_at=None,
    )
    return ReportRun.objects.select_related("schedule").get(pk=run_id) if claimed else None


def _abandon_interrupted(run_id: int) -> str | None:
    """A run left in ``sending`` by a dead worker: failed, never re-sent automatically."""
    stale = ReportRun.objects.filter(
        pk=run_id, status=Status.SENDING, started_at__lt=timezone.now() - LEASE
    ).first()
    if stale is None:
        return None
    note = (
        "interrupted while handing the e-mail to the mail server; it may or may not have been "
        "delivered: check with a recipient, then `manage.py send_report NAME --resend` if needed"
    )
    attempt_move(stale, Status.FAILED, error=attempt_note(stale, note), finished_at=timezone.now())
    return "failed"


def report_run_execute(*, run_id: int) -> str:
    """Render and send one run.  Returns its outcome ("sent", "failed", "skipped"); raises DeliveryError
    on a temporary delivery failure (the run is queued again, with the error recorded)."""
    run = _claim(run_id)
    if run is None:
        return _abandon_interrupted(run_id) or "skipped"
    schedule = run.schedule
    period = ReportPeriod(schedule.period, run.period_start, run.period_end)
    pdf_path = f"{_base_name(schedule, period)}.pdf"
    try:
        rendered = report_render(schedule=schedule, period=period)
        recipients = schedule.recipients
        message = report_email(
            rendered.report,
            subject=subject(schedule, period),
            recipients=recipients,
            pdf=rendered.pdf,
            filename=rendered.filename,
        )
    except Exception as exc:  # a bug or bad data: record it, do not retry the same failure
        logger.exception("report run %s could not be rendered", run.pk)
        attempt_move(
            run,
            Status.FAILED,
            error=attempt_note(run, f"rendering failed: {type(exc).__name__}: {exc}"),
            finished_at=timezone.now(),
        )
        return "failed"
    try:
        _write(reports_dir() / pdf_path, rendered.pdf)
    except OSError as exc:  # disk full, read-only, permissions: nothing is sent without its archived copy
        where = reports_dir() / pdf_path
        return retry_later(run, f"could not write the PDF to {where}: {exc.strerror or exc}")
    summary = chat.report_summary(rendered.report)
    with transaction.atomic():
        if not attempt_move(
            run,
            Status.SENDING,
            html=rendered.html,
            pdf_path=pdf_path,
            recipients=", ".join(recipients),
            summary=summary,
        ):
            return "skipped"
        chat_deliveries_create(run)
    run.status = Status.SENDING
    return _send(run, message)


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def _send(run: ReportRun, message: object) -> str:
    try:
        message.send(fail_silently=False)  # type: ignore[attr-defined]
    except (smtplib.SMTPException, OSError) as exc:
        return retry_later(run, f"delivery failed: {type(exc).__name__}: {exc}", permanent=_permanent(exc))
    attempt_move(run, Status.SENT, finished_at=timezone.now())
    ReportSchedule.objects.filter(
        Q(last_period_sent__isnull=True) | Q(last_period_sent__lt=run.period_start), pk=run.schedule_id
    ).update(last_period_sent=run.period_start)
    logger.info("report run %s sent to %s recipient(s)", run.pk, len(run.recipients.split(",")))
    return "sent"


def report_run_resend(*, run: ReportRun) -> ReportRun:
    """Queue a sent or failed run again (an explicit human decision: ``send_report --resend``)."""
    ReportRun.objects.filter(pk=run.pk).update(
        status=Status.QUEUED,
        next_attempt_at=timezone.now(),
        error=attempt_note(run, "queued again by hand (--resend)"),
    )
    run.refresh_from_db()
    return run


def report_preview(*, schedule: ReportSchedule) -> tuple[ReportPeriod, str]:
    """The report the schedule would send now (its latest complete period), as the archive shows it;
    nothing is stored or sent."""
    period = schedule_period(schedule)
    report = report_build(
        period=period,
        team_ids=list(schedule.teams.values_list("id", flat=True)),
        title=f"{schedule.name}: {period.label}",
    )
    return period, report_html(report, mode="pdf")


def report_send_now(*, schedule: ReportSchedule) -> ReportRun:
    """Queue the report of the schedule's latest complete period for delivery now, to its audience (a
    person's explicit decision, like ``send_report --resend``: a sent period is sent again).  A run that is
    being rendered or sent is left alone (ReportError)."""
    period = schedule_period(schedule)
    run, new = report_run_for(schedule=schedule, period=period)
    if not new and run.status in (Status.RENDERING, Status.SENDING):
        raise ReportError(f"the report of {period.label} is being sent already")
    ReportRun.objects.filter(pk=run.pk).update(
        status=Status.QUEUED,
        next_attempt_at=timezone.now(),
        error=run.error if new else attempt_note(run, "queued by hand (send now)"),
    )
    AuditLog.objects.create(
        actor_id=current_user_id.get(),
        action="send",
        object_type="reports.ReportSchedule",
        object_id=str(schedule.pk),
        object_repr=str(schedule)[:300],
        changes={"period": period.start.isoformat(), "recipients": len(schedule.recipients)},
    )
    run.refresh_from_db()
    return run


# --- due ----------------------------------------------------------------------------------------------


def reports_due(*, now: dt.datetime | None = None) -> list[int]:
    """Runs to deliver now: each enabled schedule's latest complete period once its send time has passed
    (never a period that ended before the schedule existed; missed older periods are not sent late),
    plus queued runs whose retry is overdue and runs left rendering or sending for longer than the lease
    (a task message lost with the broker, or with a worker that died): a stale rendering run is claimed
    again, a stale sending one is marked failed, never re-sent (``report_run_execute``)."""
    now = now or timezone.now()
    due: list[int] = []
    for schedule in ReportSchedule.objects.filter(enabled=True):
        period = schedule_period(schedule, now=now)
        created = schedule.created_at.astimezone(ZoneInfo(schedule.timezone)).date()
        if now < due_at(period, schedule.send_time, schedule.timezone) or period.end < created:
            continue
        if schedule.last_period_sent and schedule.last_period_sent >= period.start:
            continue
        run, new = report_run_for(schedule=schedule, period=period)
        if new or run.status == Status.DRY_RUN:
            due.append(run.pk)
    overdue = ReportRun.objects.filter(
        Q(status=Status.QUEUED, next_attempt_at__lte=now - RECOVERY_GRACE)
        | Q(status__in=[Status.RENDERING, Status.SENDING], started_at__lt=now - LEASE),
        schedule__enabled=True,
    ).exclude(pk__in=due)
    return [*due, *overdue.values_list("pk", flat=True)]


# --- dry run -----------------------------------------------------------------------------------------


def report_dry_run(*, schedule: ReportSchedule, period: ReportPeriod) -> list[Path]:
    """Render the report and write its PDF, HTML, text and e-mail (.eml) files, and the Slack/Teams
    messages of its chat channels (.slack.json, .teams.json); send nothing.

    The period's run is marked ``dry_run`` unless it was already sent or is under way.
    """
    rendered = report_render(schedule=schedule, period=period)
    base = reports_dir() / f"{_base_name(schedule, period)}-dry-run"
    message = report_email(
        rendered.report,
        subject=subject(schedule, period),
        recipients=schedule.recipients,
        pdf=rendered.pdf,
        filename=rendered.filename,
    )
    files = {
        ".pdf": rendered.pdf,
        ".html": rendered.html.encode(),
        ".txt": report_text(rendered.report).encode(),
        ".eml": message.message().as_bytes(),
    }
    run, _ = report_run_for(schedule=schedule, period=period)
    summary = chat.report_summary(rendered.report)
    for channel in CHAT_CHANNELS:  # the digest each configured chat channel would get, as JSON
        url = schedule_webhook(schedule, channel)
        if url:
            body = chat.payload(channel, url, summary, report_link(run))
            files[f".{channel}.json"] = json.dumps(body, indent=2, ensure_ascii=False).encode()
    paths = []
    for suffix, data in files.items():
        path = base.with_name(base.name + suffix)
        _write(path, data)
        paths.append(path)
    ReportRun.objects.filter(pk=run.pk, status__in=[Status.QUEUED, Status.DRY_RUN]).update(
        status=Status.DRY_RUN,
        html=rendered.html,
        pdf_path=str(paths[0].relative_to(reports_dir())),
        finished_at=timezone.now(),
    )
    return paths
