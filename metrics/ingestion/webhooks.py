"""Webhook endpoints: a verified delivery enqueues an incremental sync of the repository it is about.

``POST /webhooks/github``: ``X-Hub-Signature-256`` must be the HMAC-SHA256 of the raw body under the
webhook secret of a configured GitHub source (stored encrypted); anything else is a 401 and stores
nothing.  A replay is acknowledged (200 "duplicate") and ignored: the same ``X-GitHub-Delivery`` id, or the
same signed body under another id (recognized by ``payload_digest``).  A delivery id longer than
``WebhookDelivery.DELIVERY_ID_MAX`` is a 400 (cutting it would make different ids collide).  ``pull_request``,
``pull_request_review``, ``push``, ``deployment`` and ``deployment_status`` enqueue a sync of that
repository (cheap: bookmarks make it read only what changed); other events get 202 "ignored".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from metrics.core.crypto import SecretDecryptionError
from metrics.core.models import DataSource
from metrics.ingestion.models import WebhookDelivery
from metrics.ingestion.sync_sources import WEBHOOK_SECRET_OPTION, source_webhook_secret
from metrics.ingestion.tasks import source_sync_enqueue

logger = logging.getLogger(__name__)
GITHUB_EVENTS = {
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "push",
    "deployment",
    "deployment_status",
}


def _signed_by(source: DataSource, body: bytes, signature: str) -> bool:
    try:
        secret = source_webhook_secret(source)
    except SecretDecryptionError as exc:
        logger.error("webhook secret of source %s unusable: %s", source.name, exc)
        return False
    expected = "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return bool(secret) and hmac.compare_digest(expected, signature)


def _covers(source: DataSource, repository: str) -> bool:
    owner = repository.partition("/")[0].lower()
    if source.options.get("org"):
        return str(source.options["org"]).lower() == owner
    return repository.lower() in {str(r).lower() for r in source.options.get("repos", [])}


def error_response(status: int, message: str) -> JsonResponse:
    """A webhook's refusal: ``{"error": message}`` with its status."""
    return JsonResponse({"error": message}, status=status)


def body_object(body: bytes) -> dict[str, Any] | JsonResponse:
    """The request body as a JSON object, or the 400 answer saying why it is not one."""
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return error_response(400, "the body is not valid JSON")
    if not isinstance(payload, dict):
        return error_response(400, "the body is not a JSON object")
    return payload


def payload_digest(provider: str, sources: list[DataSource], event: str, body: bytes) -> str:
    """SHA-256 of what a replay repeats: the provider, the sources it was verified for, event and body."""
    head = f"{provider}\0{','.join(str(s.pk) for s in sorted(sources, key=lambda s: s.pk))}\0{event}\0"
    return hashlib.sha256(head.encode("utf-8") + body).hexdigest()


def delivery_id_error(header: str, delivery: str) -> JsonResponse | None:
    if len(delivery) > WebhookDelivery.DELIVERY_ID_MAX:
        return error_response(400, f"{header} is longer than {WebhookDelivery.DELIVERY_ID_MAX} characters")
    return None


def enqueue_once(
    *, provider: str, delivery: str, digest: str, event: str, sources: list[DataSource], repository: str
) -> JsonResponse:
    """Record the delivery and queue one sync per source, unless its id or payload was seen before."""
    duplicate = JsonResponse({"status": "duplicate", "delivery": delivery})
    seen = WebhookDelivery.objects.filter(provider=provider, payload_hash=digest).exists() or (
        bool(delivery) and WebhookDelivery.objects.filter(provider=provider, delivery_id=delivery).exists()
    )
    if seen:
        return duplicate
    try:
        with transaction.atomic():  # the unique constraints settle a race between two replays
            WebhookDelivery.objects.create(
                provider=provider, delivery_id=delivery, payload_hash=digest, event=event[:50]
            )
            for source in sources:
                source_sync_enqueue(source_id=source.pk, repository=repository)
    except IntegrityError:
        return duplicate
    return JsonResponse(
        {"status": "queued", "repository": repository, "sources": [s.name for s in sources]}, status=202
    )


@csrf_exempt
@require_POST
def github_webhook(request: HttpRequest) -> JsonResponse:
    body = request.body
    signature = request.headers.get("X-Hub-Signature-256", "")
    candidates = DataSource.objects.filter(kind=DataSource.Kind.GITHUB, enabled=True).exclude(
        **{f"options__{WEBHOOK_SECRET_OPTION}__isnull": True}
    )
    signed = [s for s in candidates if signature and _signed_by(s, body, signature)]
    if not signed:
        return error_response(401, "invalid or missing X-Hub-Signature-256")
    event = request.headers.get("X-GitHub-Event", "")
    delivery = request.headers.get("X-GitHub-Delivery", "")
    if not event or not delivery:
        return error_response(400, "missing X-GitHub-Event or X-GitHub-Delivery header")
    if (too_long := delivery_id_error("X-GitHub-Delivery", delivery)) is not None:
        return too_long
    payload = body_object(body)
    if isinstance(payload, JsonResponse):
        return payload
    if event == "ping":
        return JsonResponse({"status": "pong"})
    if event not in GITHUB_EVENTS:
        return JsonResponse({"status": "ignored", "event": event}, status=202)
    repository = str((payload.get("repository") or {}).get("full_name") or "")
    if not repository:
        return error_response(400, "payload has no repository.full_name")
    sources = [s for s in signed if _covers(s, repository)]
    if not sources:
        reason = f"{repository} is in no configured source"
        return JsonResponse({"status": "ignored", "reason": reason}, status=202)
    digest = payload_digest("github", sources, event, body)
    return enqueue_once(
        provider="github",
        delivery=delivery,
        digest=digest,
        event=event,
        sources=sources,
        repository=repository,
    )
