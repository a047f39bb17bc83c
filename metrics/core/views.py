"""/healthz: database, broker and the last successful sync of every source, for load balancers and humans."""
from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from metrics.core.models import DataSource


def _database() -> dict[str, object]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the reason is for the operator
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor}


def _broker() -> dict[str, object]:
    if not settings.CELERY_BROKER_URL:
        return {"ok": True, "mode": "embedded (tasks run in-process)"}
    from metrics.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # an unreachable broker is reported, not raised
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "mode": "broker"}


def _sources() -> list[dict[str, object]]:
    now = timezone.now()
    return [
        {
            "name": s.name, "kind": s.kind, "enabled": s.enabled,
            "last_success_at": s.last_success_at.isoformat() if s.last_success_at else None,
            "minutes_since_success": round((now - s.last_success_at).total_seconds() / 60)
            if s.last_success_at else None,
            "failing": bool(s.last_error),
        }
        for s in DataSource.objects.order_by("name")
    ]


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database = _database()
    broker = _broker()
    body: dict[str, object] = {"database": database, "broker": broker}
    if database["ok"]:
        body["sources"] = _sources()
    healthy = bool(database["ok"] and broker["ok"])
    body["status"] = "ok" if healthy else "unavailable"
    return JsonResponse(body, status=200 if healthy else 503)
