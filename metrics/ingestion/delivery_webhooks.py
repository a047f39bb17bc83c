"""Generic signed webhooks for deployments and incidents: ``POST /webhooks/deployments`` and
``POST /webhooks/incidents``, for CI/CD and incident tools without a connector.

Signed like GitHub's: ``X-Sextant-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`` under the
delivery webhook secret (``manage.py delivery_webhook_secret``, stored encrypted in the organization's
settings); anything else is a 401 and stores nothing.  ``X-Sextant-Delivery`` (required) names the
delivery: a replay (the same id, or the same signed body under another id) is acknowledged (200
"duplicate") and stores nothing.  The body is one JSON object with the columns of the file importers
(``connectors/delivery_file.py``); a bad field is a 400 naming it, nothing stored.  A stored record asks
for the recompute (``recompute_request``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from pathlib import Path

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors.delivery_file import deployment_from, incident_from
from connectors.file_rows import Cells, Problems
from metrics.core import crypto
from metrics.core.models import Organization
from metrics.ingestion.models import WebhookDelivery
from metrics.ingestion.recompute import recompute_request
from metrics.ingestion.services import records_ingest
from metrics.ingestion.webhooks import body_object, delivery_id_error, error_response

logger = logging.getLogger(__name__)
SECRET_SETTING = "delivery_webhook_secret_encrypted"  # noqa: S105 - a settings key, not a secret
SIGNATURE = "X-Sextant-Signature-256"
DELIVERY = "X-Sextant-Delivery"


def webhook_secret_set(secret: str = "") -> str:
    """Store ``secret`` (or a new random one) encrypted; returns it (shown once by the command)."""
    secret = secret or secrets.token_urlsafe(32)
    org = Organization.objects.order_by("pk").first() or Organization.objects.create(name="Organization")
    org.settings = {**(org.settings or {}), SECRET_SETTING: crypto.encrypt(secret)}
    org.save(update_fields=["settings"])
    return secret


def _secret() -> str:
    org = Organization.objects.order_by("pk").first()
    stored = (org.settings or {}).get(SECRET_SETTING, "") if org else ""
    if not stored:
        return ""
    try:
        return crypto.decrypt(stored, what="delivery webhook secret")
    except crypto.SecretDecryptionError as exc:
        logger.error("delivery webhook secret unusable: %s", exc)
        return ""


def _receive(request: HttpRequest, kind: str) -> JsonResponse:
    body = request.body
    secret = _secret()
    signature = request.headers.get(SIGNATURE, "")
    expected = "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    if not secret or not signature or not hmac.compare_digest(expected, signature):
        return error_response(401, f"invalid or missing {SIGNATURE}")
    delivery = request.headers.get(DELIVERY, "")
    if not delivery:
        return error_response(400, f"missing {DELIVERY} header")
    if (too_long := delivery_id_error(DELIVERY, delivery)) is not None:
        return too_long
    payload = body_object(body)
    if isinstance(payload, JsonResponse):
        return payload
    problems = Problems(Path(f"webhooks/{kind}"))
    cells = Cells(problems, 1, {str(k).strip().lower(): v for k, v in payload.items()})
    record = (deployment_from if kind == "deployments" else incident_from)(cells, source="webhook")
    if record is None:
        detail = "; ".join(f"{where}: {message}" for _, where, message in problems.items)
        return error_response(400, f"bad {kind[:-1]}: {detail}")
    provider = f"sextant-{kind}"
    digest = hashlib.sha256(f"{provider}\0".encode() + body).hexdigest()
    duplicate = JsonResponse({"status": "duplicate", "delivery": delivery})
    seen = WebhookDelivery.objects.filter(provider=provider, payload_hash=digest).exists()
    if seen or WebhookDelivery.objects.filter(provider=provider, delivery_id=delivery).exists():
        return duplicate
    try:
        with transaction.atomic():  # the unique constraints settle a race between two replays
            WebhookDelivery.objects.create(
                provider=provider, delivery_id=delivery, payload_hash=digest, event=kind
            )
            records_ingest(records=[record])
    except IntegrityError:
        return duplicate
    recompute_request(reason=f"webhook {kind} {delivery}")
    return JsonResponse({"status": "stored", "delivery": delivery, "id": record.external_id}, status=201)


@csrf_exempt
@require_POST
def deployments_webhook(request: HttpRequest) -> JsonResponse:
    return _receive(request, "deployments")


@csrf_exempt
@require_POST
def incidents_webhook(request: HttpRequest) -> JsonResponse:
    return _receive(request, "incidents")
