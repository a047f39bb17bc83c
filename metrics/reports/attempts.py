"""What a report run and a chat delivery share as they move ``queued -> rendering/sending -> sent``: the
lease of an attempt, the conditional move that only the attempt owning a row can make, the note of each
failure, and the retry with backoff (see ``services`` for the run, ``chat_delivery`` for the chat posts)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from metrics.reports.models import ChatDelivery, ReportRun

logger = logging.getLogger("metrics.reports.services")
Status = ReportRun.Status
LEASE = dt.timedelta(minutes=15)  # a rendering attempt older than this belongs to a dead worker
MAX_ATTEMPTS = 6
MAX_BACKOFF_SECONDS = 3600
RECOVERY_GRACE = dt.timedelta(minutes=10)


class DeliveryError(Exception):
    """A temporary failure (the mail server, or writing the archive): the run is queued again; retry after
    ``retry_in`` seconds."""

    def __init__(self, message: str, retry_in: int) -> None:
        super().__init__(message)
        self.retry_in = retry_in


def attempt_move(run: ReportRun | ChatDelivery, status: str, **fields: object) -> bool:
    """Move the run (or chat delivery) on only if this attempt still owns it (same status and attempt)."""
    return bool(
        type(run)
        ._default_manager.filter(pk=run.pk, status=run.status, attempts=run.attempts)
        .update(status=status, **fields)
    )


def attempt_note(run: ReportRun | ChatDelivery, text: str) -> str:
    line = f"{timezone.now():%Y-%m-%d %H:%M} UTC, attempt {run.attempts}: {text}"
    return f"{run.error}\n{line}".strip()


def retry_later(
    run: ReportRun | ChatDelivery, text: str, *, permanent: bool = False, at_least: float | None = None
) -> str:
    """A failed attempt: queued again with backoff (raises DeliveryError), or failed when ``permanent``
    or out of attempts (returns "failed").  Either way the failure is noted on the run (or chat delivery).
    ``at_least``: the receiver's Retry-After."""
    what = "report run" if isinstance(run, ReportRun) else f"{run.channel} delivery"
    if permanent or run.attempts >= MAX_ATTEMPTS:
        final = "" if permanent else f" (gave up after {run.attempts} attempts)"
        attempt_move(run, Status.FAILED, error=attempt_note(run, text + final), finished_at=timezone.now())
        logger.warning("%s %s failed: %s", what, run.pk, text)
        return "failed"
    retry_in = min(
        int(getattr(settings, "REPORTS_RETRY_BACKOFF_SECONDS", 60)) * 2 ** (run.attempts - 1),
        MAX_BACKOFF_SECONDS,
    )
    retry_in = max(retry_in, min(int(at_least or 0), MAX_BACKOFF_SECONDS))
    attempt_move(
        run,
        Status.QUEUED,
        error=attempt_note(run, f"{text}; retrying in {retry_in} s"),
        next_attempt_at=timezone.now() + dt.timedelta(seconds=retry_in),
    )
    logger.warning("%s %s: %s; retrying in %s s", what, run.pk, text, retry_in)
    raise DeliveryError(text, retry_in)
