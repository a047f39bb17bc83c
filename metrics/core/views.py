"""/healthz: database, cache, broker and the last successful sync of every source, for load balancers and
humans.  Anonymous callers (load balancers, the Docker health check) get the source counts; names and
sync times only for signed-in staff.  Exempt from the HTTPS redirect (``SECURE_REDIRECT_EXEMPT``): the
container's own check talks plain HTTP to 127.0.0.1, and a redirect is not an answer."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from metrics.core import access
from metrics.core.models import DataSource


def _database() -> dict[str, object]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the reason is for the operator
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor}


def _cache() -> dict[str, object]:
    # The cache carries sign-in throttling and (with Redis) sessions: down means nobody can sign in.
    key, value = "healthz-probe", uuid.uuid4().hex
    try:
        cache.set(key, value, 30)
        ok = cache.get(key) == value
    except Exception as exc:  # an unreachable cache is reported, not raised
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": ok} if ok else {"ok": False, "error": "value not read back"}


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
            "name": s.name,
            "kind": s.kind,
            "enabled": s.enabled,
            "last_success_at": s.last_success_at.isoformat() if s.last_success_at else None,
            "minutes_since_success": round((now - s.last_success_at).total_seconds() / 60)
            if s.last_success_at
            else None,
            "failing": bool(s.last_error),
        }
        for s in DataSource.objects.order_by("name")
    ]


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database, cache_state, broker = _database(), _cache(), _broker()
    body: dict[str, object] = {"database": database, "cache": cache_state, "broker": broker}
    if database["ok"]:
        try:
            sources = _sources()
        except Exception as exc:  # reachable but unusable (not migrated, locked): just as down
            database = body["database"] = {"ok": False, "error": type(exc).__name__}
            sources = []
        if access.for_request(request).sees_settings:  # source names are settings: admins only
            body["sources"] = sources
        else:
            body["sources"] = {"total": len(sources), "failing": sum(bool(s["failing"]) for s in sources)}
    healthy = bool(database["ok"] and cache_state["ok"] and broker["ok"])
    body["status"] = "ok" if healthy else "unavailable"
    return JsonResponse(body, status=200 if healthy else 503)
