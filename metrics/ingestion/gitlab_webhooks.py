"""``POST /webhooks/gitlab``: a GitLab webhook delivery enqueues an incremental sync of its project.

GitLab sends the webhook's secret token as it is in ``X-Gitlab-Token`` (no signature); it must equal
the webhook secret of a configured GitLab source (stored encrypted), compared in constant time; anything
else is a 401 and stores nothing.  A replayed delivery (the same ``Idempotency-Key``, GitLab 17.4+, else
``X-Gitlab-Event-UUID``) is acknowledged and ignored.  Merge request, note (comments), push and
deployment events of a project inside a source (its group, or its project) enqueue a sync of that project,
which reads only what changed since the source's bookmark; other events get 202 "ignored".
"""
from __future__ import annotations

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
GITLAB_EVENTS = {"Merge Request Hook", "Note Hook", "Push Hook", "Deployment Hook"}


def _token_of(source: DataSource, token: str) -> bool:
    try:
        secret = source_webhook_secret(source)
    except SecretDecryptionError as exc:
        logger.error("webhook secret of source %s unusable: %s", source.name, exc)
        return False
    return bool(secret) and hmac.compare_digest(secret.encode("utf-8"), token.encode("utf-8"))


def _covers(source: DataSource, project: str) -> bool:
    """The group source covers its projects and subgroups' projects; a project source its project."""
    path = project.lower()
    group = str(source.options.get("group") or "").strip("/").lower()
    if group:
        return path.startswith(group + "/")
    projects = source.options.get("project") or source.options.get("projects") or []
    projects = [projects] if isinstance(projects, str) else projects
    return path in {str(p).strip("/").lower() for p in projects}


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _payload(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


@csrf_exempt
@require_POST
def gitlab_webhook(request: HttpRequest) -> JsonResponse:
    token = request.headers.get("X-Gitlab-Token", "")
    candidates = DataSource.objects.filter(kind=DataSource.Kind.GITLAB, enabled=True).exclude(
        **{f"options__{WEBHOOK_SECRET_OPTION}__isnull": True}
    )
    verified = [source for source in candidates if token and _token_of(source, token)]
    if not verified:
        return _error(401, "invalid or missing X-Gitlab-Token")
    event = request.headers.get("X-Gitlab-Event", "")
    if not event:
        return _error(400, "missing X-Gitlab-Event header")
    payload = _payload(request.body)
    if payload is None:
        return _error(400, "the body is not a JSON object")
    if event not in GITLAB_EVENTS:
        return JsonResponse({"status": "ignored", "event": event}, status=202)
    project = str((payload.get("project") or {}).get("path_with_namespace") or "")
    if not project:
        return _error(400, "payload has no project.path_with_namespace")
    sources = [source for source in verified if _covers(source, project)]
    if not sources:
        reason = f"{project} is in no configured source"
        return JsonResponse({"status": "ignored", "reason": reason}, status=202)
    delivery = request.headers.get("Idempotency-Key") or request.headers.get("X-Gitlab-Event-UUID") or ""
    try:
        with transaction.atomic():
            if delivery:
                WebhookDelivery.objects.create(
                    provider="gitlab", delivery_id=delivery[:200], event=event[:50]
                )
            for source in sources:
                source_sync_enqueue(source_id=source.pk, repository=project)
    except IntegrityError:
        return JsonResponse({"status": "duplicate", "delivery": delivery})
    return JsonResponse({"status": "queued", "repository": project, "sources": [s.name for s in sources]},
                        status=202)
