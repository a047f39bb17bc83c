"""``POST /webhooks/gitlab``: a GitLab webhook delivery enqueues an incremental sync of its project.

GitLab sends the webhook's secret token as it is in ``X-Gitlab-Token`` (no signature); it must equal
the webhook secret of a configured GitLab source (stored encrypted), compared in constant time; anything
else is a 401 and stores nothing.  A replayed delivery (the same ``Idempotency-Key``, GitLab 17.4+, else
``X-Gitlab-Event-UUID``, or the same body under any or no id) is acknowledged and ignored; an id longer
than 200 characters is a 400.  Merge request, note (comments), push and
deployment events of a project inside a source (its group, or its project) enqueue a sync of that project,
which reads only what changed since the source's bookmark; other events get 202 "ignored".
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from metrics.core.crypto import SecretDecryptionError
from metrics.core.models import DataSource
from metrics.ingestion.sync_sources import WEBHOOK_SECRET_OPTION, source_webhook_secret
from metrics.ingestion.webhooks import delivery_id_error, enqueue_once, error_response, payload_digest

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
        return error_response(401, "invalid or missing X-Gitlab-Token")
    event = request.headers.get("X-Gitlab-Event", "")
    if not event:
        return error_response(400, "missing X-Gitlab-Event header")
    payload = _payload(request.body)
    if payload is None:
        return error_response(400, "the body is not a JSON object")
    if event not in GITLAB_EVENTS:
        return JsonResponse({"status": "ignored", "event": event}, status=202)
    project = str((payload.get("project") or {}).get("path_with_namespace") or "")
    if not project:
        return error_response(400, "payload has no project.path_with_namespace")
    sources = [source for source in verified if _covers(source, project)]
    if not sources:
        reason = f"{project} is in no configured source"
        return JsonResponse({"status": "ignored", "reason": reason}, status=202)
    header = "Idempotency-Key" if request.headers.get("Idempotency-Key") else "X-Gitlab-Event-UUID"
    delivery = request.headers.get(header) or ""
    if (too_long := delivery_id_error(header, delivery)) is not None:
        return too_long
    digest = payload_digest("gitlab", sources, event, request.body)
    return enqueue_once(
        provider="gitlab", delivery=delivery, digest=digest, event=event, sources=sources, repository=project
    )
