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
import logging
import os
import smtplib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from metrics.core import crypto
from metrics.core.models import AuditLog
from metrics.core.observability import current_user_id
from metrics.reports import chat
from metrics.reports.chat import CHAT_CHANNELS, schedule_webhook
from metrics.reports.content import Report, report_build
from metrics.reports.models import ChatDelivery, ReportRun, ReportSchedule
from metrics.reports.periods import ReportPeriod, due_at, last_complete
from metrics.reports.rendering import report_email, report_html, report_pdf, report_text

logger = logging.getLogger(__name__)
Status = ReportRun.Status
LEASE = dt.timedelta(minutes=15)  # a rendering attempt older than this belongs to a dead worker
MAX_ATTEMPTS = 6
MAX_BACKOFF_SECONDS = 3600


class ReportError(Exception):
    """A report action that cannot be done (unknown schedule, period already sent, ...)."""


class DeliveryError(Exception):
    """A temporary failure (the mail server, or writing the archive): the run is queued again; retry after
    ``retry_in`` seconds."""

    def __init__(self, message: str, retry_in: int) -> None:
        super().__init__(message)
        self.retry_in = retry_in


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


def _move(run: ReportRun | ChatDelivery, status: str, **fields: object) -> bool:
    """Move the run (or chat delivery) on only if this attempt still owns it (same status and attempt)."""
    return bool(
        type(run)
        ._default_manager.filter(pk=run.pk, status=run.status, attempts=run.attempts)
        .update(status=status, **fields)
    )


def _note(run: ReportRun | ChatDelivery, text: str) -> str:
    line = f"{timezone.now():%Y-%m-%d %H:%M} UTC, attempt {run.attempts}: {text}"
    return f"{run.error}\n{line}".strip()


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
    _move(stale, Status.FAILED, error=_note(stale, note), finished_at=timezone.now())
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
        _move(
            run,
            Status.FAILED,
            error=_note(run, f"rendering failed: {type(exc).__name__}: {exc}"),
            finished_at=timezone.now(),
        )
        return "failed"
    try:
        _write(reports_dir() / pdf_path, rendered.pdf)
    except OSError as exc:  # disk full, read-only, permissions: nothing is sent without its archived copy
        where = reports_dir() / pdf_path
        return _retry_later(run, f"could not write the PDF to {where}: {exc.strerror or exc}")
    summary = chat.report_summary(rendered.report)
    with transaction.atomic():
        if not _move(
            run,
            Status.SENDING,
            html=rendered.html,
            pdf_path=pdf_path,
            recipients=", ".join(recipients),
            summary=summary,
        ):
            return "skipped"
        _chat_deliveries_create(run)
    run.status = Status.SENDING
    return _send(run, message)


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def _retry_later(
    run: ReportRun | ChatDelivery, text: str, *, permanent: bool = False, at_least: float | None = None
) -> str:
    """A failed attempt: queued again with backoff (raises DeliveryError), or failed when ``permanent``
    or out of attempts (returns "failed").  Either way the failure is noted on the run (or chat delivery).
    ``at_least``: the receiver's Retry-After."""
    what = "report run" if isinstance(run, ReportRun) else f"{run.channel} delivery"
    if permanent or run.attempts >= MAX_ATTEMPTS:
        final = "" if permanent else f" (gave up after {run.attempts} attempts)"
        _move(run, Status.FAILED, error=_note(run, text + final), finished_at=timezone.now())
        logger.warning("%s %s failed: %s", what, run.pk, text)
        return "failed"
    retry_in = min(
        int(getattr(settings, "REPORTS_RETRY_BACKOFF_SECONDS", 60)) * 2 ** (run.attempts - 1),
        MAX_BACKOFF_SECONDS,
    )
    retry_in = max(retry_in, min(int(at_least or 0), MAX_BACKOFF_SECONDS))
    _move(
        run,
        Status.QUEUED,
        error=_note(run, f"{text}; retrying in {retry_in} s"),
        next_attempt_at=timezone.now() + dt.timedelta(seconds=retry_in),
    )
    logger.warning("%s %s: %s; retrying in %s s", what, run.pk, text, retry_in)
    raise DeliveryError(text, retry_in)


def _send(run: ReportRun, message: object) -> str:
    try:
        message.send(fail_silently=False)  # type: ignore[attr-defined]
    except (smtplib.SMTPException, OSError) as exc:
        return _retry_later(run, f"delivery failed: {type(exc).__name__}: {exc}", permanent=_permanent(exc))
    _move(run, Status.SENT, finished_at=timezone.now())
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
        error=_note(run, "queued again by hand (--resend)"),
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
        error=run.error if new else _note(run, "queued by hand (send now)"),
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


# --- chat (Slack, Microsoft Teams) ------------------------------------------------------------------------
# One ChatDelivery per (run, channel), created with the run's move to ``sending`` (so only for a run whose
# report was rendered and archived), claimed and moved on exactly like the run: sent once per scheduled
# run; a 429/5xx/refused connection is retried with the same backoff; a timeout waiting for the answer
# is failed ("may have been posted"), never re-sent automatically.


def _chat_deliveries_create(run: ReportRun) -> None:
    schedule = run.schedule
    wanted = [c for c in CHAT_CHANNELS if getattr(schedule, f"{c}_webhook_encrypted")]
    ChatDelivery.objects.bulk_create(
        [ChatDelivery(run=run, channel=c, next_attempt_at=timezone.now()) for c in wanted],
        ignore_conflicts=True,  # UNIQUE(run, channel): a second rendering of the run adds nothing
    )


def chat_deliveries_queued(*, run_id: int) -> list[int]:
    return list(
        ChatDelivery.objects.filter(run_id=run_id, status=ChatDelivery.Status.QUEUED).values_list(
            "pk", flat=True
        )
    )


def report_link(run: ReportRun) -> str:
    base = str(getattr(settings, "SEXTANT_BASE_URL", "") or "http://127.0.0.1:8000").rstrip("/")
    return base + reverse("reports:run_html", args=[run.pk])


def _chat_claim(delivery_id: int) -> ChatDelivery | None:
    claimed = ChatDelivery.objects.filter(pk=delivery_id, status=ChatDelivery.Status.QUEUED).update(
        status=ChatDelivery.Status.SENDING,
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
        finished_at=None,
    )
    return ChatDelivery.objects.select_related("run__schedule").get(pk=delivery_id) if claimed else None


def _chat_abandon_interrupted(delivery_id: int) -> str | None:
    stale = ChatDelivery.objects.filter(
        pk=delivery_id, status=ChatDelivery.Status.SENDING, started_at__lt=timezone.now() - LEASE
    ).first()
    if stale is None:
        return None
    note = "interrupted while posting; it may or may not have been posted: check the channel"
    _move(stale, Status.FAILED, error=_note(stale, note), finished_at=timezone.now())
    return "failed"


def chat_delivery_execute(*, delivery_id: int) -> str:
    """Post one run's digest to one channel: "sent", "failed" or "skipped" (another attempt owns it, or
    it is done); raises DeliveryError on a temporary failure (queued again, the error recorded)."""
    delivery = _chat_claim(delivery_id)
    if delivery is None:
        return _chat_abandon_interrupted(delivery_id) or "skipped"
    run, channel = delivery.run, str(delivery.channel)
    try:
        url = schedule_webhook(run.schedule, channel)
    except crypto.SecretDecryptionError as exc:
        return _retry_later(delivery, str(exc), permanent=True)
    if not url:
        return _retry_later(delivery, f"the schedule has no {channel} webhook any more", permanent=True)
    if not run.summary:
        return _retry_later(delivery, "the run has no rendered summary", permanent=True)
    body = chat.payload(channel, url, run.summary, report_link(run))
    outcome = chat.post(url, body, timeout=float(getattr(settings, "REPORTS_CHAT_TIMEOUT", 20)))
    if outcome.sent:
        _move(delivery, Status.SENT, finished_at=timezone.now())
        logger.info("report run %s posted to %s (%s)", run.pk, channel, outcome.text[:40])
        return "sent"
    if outcome.ambiguous:
        note = f"{outcome.text}: not retried, check the channel"
        _move(delivery, Status.FAILED, error=_note(delivery, note), finished_at=timezone.now())
        logger.warning("%s delivery %s: %s", channel, delivery.pk, note)
        return "failed"
    return _retry_later(
        delivery, f"posting failed: {outcome.text}", permanent=not outcome.retry, at_least=outcome.retry_after
    )


def chat_deliver_inline(*, run_id: int | None, delivery_ids: list[int] | None = None) -> dict[str, str]:
    """Post the queued chat deliveries of ``run_id`` (or ``delivery_ids``) in this process (``send_report``
    without workers): "<channel> delivery <id>" -> its outcome ("queued" when waiting for a retry)."""
    ids = chat_deliveries_queued(run_id=run_id) if run_id is not None else list(delivery_ids or [])
    outcomes = {}
    for delivery_id in ids:
        channel = ChatDelivery.objects.filter(pk=delivery_id).values_list("channel", flat=True).first()
        try:
            outcomes[f"{channel} delivery {delivery_id}"] = chat_delivery_execute(delivery_id=delivery_id)
        except DeliveryError as exc:
            outcomes[f"{channel} delivery {delivery_id}"] = f"queued for a retry ({exc})"
    return outcomes


def chat_deliveries_due(*, now: dt.datetime | None = None) -> list[int]:
    """Chat deliveries whose retry is overdue (its task message lost) or left ``sending`` past the lease
    (to be failed, never re-posted), like the runs of ``reports_due``."""
    now = now or timezone.now()
    return list(
        ChatDelivery.objects.filter(
            Q(status=ChatDelivery.Status.QUEUED, next_attempt_at__lte=now - RECOVERY_GRACE)
            | Q(status=ChatDelivery.Status.SENDING, started_at__lt=now - LEASE),
            run__schedule__enabled=True,
        ).values_list("pk", flat=True)
    )


# --- due ----------------------------------------------------------------------------------------------

RECOVERY_GRACE = dt.timedelta(minutes=10)


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
