"""A fake PagerDuty REST API v2 on 127.0.0.1 (``tests/fakes/server.py``): ``GET /incidents``.

Shapes as documented in PagerDuty's API reference "List incidents"
(https://developer.pagerduty.com/api-reference/9d0b4b12e36f9-list-incidents) and its example payload (an
incident with ``id``, ``incident_number``, ``title``, ``summary``, ``created_at``, ``status``,
``resolved_at``, ``last_status_change_at``, ``urgency``, ``priority``, ``service`` reference, ``html_url``):

* authentication ``Authorization: Token token=<key>``, else 401 ``{"error": {"message": "Unauthorized",
  "code": 2006}}``;
* ``since``/``until`` filter on ``created_at`` (``since`` inclusive, ``until`` exclusive), at most 6 months
  apart (400 otherwise, as PagerDuty answers), ``service_ids[]``, ``sort_by=created_at:asc``;
* classic pagination: ``offset``, ``limit`` (max 100), answered with ``limit``, ``offset``, ``total``
  (null unless ``total=true``) and ``more``; ``offset + limit`` beyond 10,000 is a 400.

Faults (429 with ``Retry-After``, 5xx, dropped connections) come from ``server.fault``.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any

from tests.fakes.server import FakeApiServer, FakeRequest, FakeResponse

TOKEN = "pd-test-key-u+Zx1yQ"


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def incident(
    number: int,
    created: str,
    *,
    resolved: str | None = None,
    service: str = "Checkout API",
    priority: str | None = "P1",
    urgency: str = "high",
    title: str = "",
) -> dict[str, Any]:
    pid = f"Q{number:06d}"
    return {
        "id": pid,
        "type": "incident",
        "summary": f"[#{number}] {title or f'Incident {number}'}",
        "self": f"https://api.pagerduty.com/incidents/{pid}",
        "html_url": f"https://acme.pagerduty.com/incidents/{pid}",
        "incident_number": number,
        "title": title or f"Incident {number}",
        "created_at": created,
        "updated_at": resolved or created,
        "status": "resolved" if resolved else "triggered",
        "resolved_at": resolved,
        "last_status_change_at": resolved or created,
        "urgency": urgency,
        "incident_key": f"key-{number}",
        "service": {
            "id": f"PS{zlib.crc32(service.encode()) % 1000:03d}",
            "type": "service_reference",
            "summary": service,
            "html_url": "https://acme.pagerduty.com/service-directory/x",
        },
        "priority": {"id": "PP1", "type": "priority", "summary": priority, "name": priority}
        if priority
        else None,
        "assignments": [],
        "alert_counts": {"all": 1, "triggered": 0 if resolved else 1, "resolved": 1 if resolved else 0},
    }


class FakePagerDuty:
    def __init__(self, server: FakeApiServer, token: str = TOKEN) -> None:
        self.server = server
        self.token = token
        self.incidents: list[dict[str, Any]] = []
        server.route("GET", r"/incidents")(self._incidents)

    @property
    def url(self) -> str:
        return self.server.url

    def _incidents(self, request: FakeRequest) -> FakeResponse:
        if request.header("authorization") != f"Token token={self.token}":
            return FakeResponse(401, {"error": {"message": "Unauthorized", "code": 2006}})
        offset = int(request.param("offset", "0") or 0)
        limit = min(int(request.param("limit", "25") or 25), 100)
        if offset + limit > 10_000:
            return FakeResponse(400, {"error": {"message": "Invalid Input Provided", "code": 2001}})
        since, until = request.param("since"), request.param("until")
        if since and until and when(until) - when(since) > timedelta(days=183):
            body = {
                "error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["range > 6 months"]}
            }
            return FakeResponse(400, body)
        services = request.query.get("service_ids[]") or []
        chosen = [
            i
            for i in self.incidents
            if (not since or when(i["created_at"]) >= when(since))
            and (not until or when(i["created_at"]) < when(until))
            and (not services or i["service"]["id"] in services)
        ]
        chosen.sort(key=lambda i: (when(i["created_at"]), i["incident_number"]))
        page = chosen[offset : offset + limit]
        total = len(chosen) if request.param("total") == "true" else None
        more = offset + len(page) < len(chosen)
        return FakeResponse(
            200, {"incidents": page, "limit": limit, "offset": offset, "total": total, "more": more}
        )
