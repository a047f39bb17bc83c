"""Chat digests of a report run (Slack, Microsoft Teams): one ``ChatDelivery`` per (run, channel),
created with the run's move to ``sending`` (so only for a run whose report was rendered and archived),
claimed and moved on exactly like the run: sent once per scheduled run; a 429/5xx/refused connection is
retried with the same backoff; a timeout waiting for the answer is failed ("may have been posted"), never
re-sent automatically."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from metrics.core import crypto
from metrics.reports import chat
from metrics.reports.attempts import (
    LEASE,
    RECOVERY_GRACE,
    DeliveryError,
    Status,
    attempt_move,
    attempt_note,
    logger,
    retry_later,
)
from metrics.reports.chat import CHAT_CHANNELS, schedule_webhook
from metrics.reports.models import ChatDelivery, ReportRun


def chat_deliveries_create(run: ReportRun) -> None:
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
    attempt_move(stale, Status.FAILED, error=attempt_note(stale, note), finished_at=timezone.now())
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
        return retry_later(delivery, str(exc), permanent=True)
    if not url:
        return retry_later(delivery, f"the schedule has no {channel} webhook any more", permanent=True)
    if not run.summary:
        return retry_later(delivery, "the run has no rendered summary", permanent=True)
    body = chat.payload(channel, url, run.summary, report_link(run))
    outcome = chat.post(url, body, timeout=float(getattr(settings, "REPORTS_CHAT_TIMEOUT", 20)))
    if outcome.sent:
        attempt_move(delivery, Status.SENT, finished_at=timezone.now())
        logger.info("report run %s posted to %s (%s)", run.pk, channel, outcome.text[:40])
        return "sent"
    if outcome.ambiguous:
        note = f"{outcome.text}: not retried, check the channel"
        attempt_move(delivery, Status.FAILED, error=attempt_note(delivery, note), finished_at=timezone.now())
        logger.warning("%s delivery %s: %s", channel, delivery.pk, note)
        return "failed"
    return retry_later(
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
