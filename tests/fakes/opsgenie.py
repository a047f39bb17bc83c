"""A fake Opsgenie API on 127.0.0.1 (``tests/fakes/server.py``): ``GET /v1/incidents`` and
``GET /v1/services``.

Shapes as documented in Opsgenie's "Incident API" (https://docs.opsgenie.com/docs/incident-api: list
incidents with ``query``, ``offset``, ``limit`` (max 100), ``sort``, ``order``; answers ``{"data": [...],
"paging": {"next", "first", "last"}, "took", "requestId"}``; an incident has ``id``, ``tinyId``,
``message``, ``status`` (open/resolved/closed), ``priority`` (P1-P5), ``createdAt``, ``updatedAt``,
``impactStartDate``, ``impactEndDate``, ``impactedServices`` (service ids), ``links.web``) and the
"Service API" (https://docs.opsgenie.com/docs/service-api: ``{"data": [{"id", "name", "teamId"}],
"paging"}``).  Authentication ``Authorization: GenieKey <key>``, else 401 ``{"message": "Could not
authenticate", "took": 0.0, "requestId": ...}``.  The ``query`` understood: ``createdAt>=MS AND
createdAt<MS`` (epoch milliseconds).  ``paging.next`` is present only when another page follows.

Faults (429 with ``Retry-After``, 5xx, dropped connections) come from ``server.fault``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from tests.fakes.server import FakeApiServer, FakeRequest, FakeResponse

KEY = "0f3c6a2e-og-test-key-51d2"  # a test credential


def ms(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def incident(
    tiny: int,
    created: str,
    *,
    status: str = "open",
    priority: str = "P2",
    services: tuple[str, ...] = (),
    impact_start: str | None = None,
    impact_end: str | None = None,
    updated: str | None = None,
) -> dict[str, Any]:
    iid = f"7c1b{tiny:04d}-0000-4000-8000-00000000{tiny:04d}"
    item: dict[str, Any] = {
        "id": iid,
        "tinyId": str(tiny),
        "message": f"Incident {tiny}",
        "description": "",
        "status": status,
        "tags": [],
        "priority": priority,
        "createdAt": created,
        "updatedAt": updated or created,
        "ownerTeam": "",
        "impactedServices": list(services),
        "links": {"web": f"https://acme.app.opsgenie.com/incident/detail/{iid}", "api": ""},
    }
    if impact_start:
        item["impactStartDate"] = impact_start
    if impact_end:
        item["impactEndDate"] = impact_end
    return item


class FakeOpsgenie:
    def __init__(self, server: FakeApiServer, key: str = KEY) -> None:
        self.server = server
        self.key = key
        self.incidents: list[dict[str, Any]] = []
        self.services: list[dict[str, Any]] = []
        server.route("GET", r"/v1/incidents")(self._guard(self._incidents))
        server.route("GET", r"/v1/services")(self._guard(self._services))
        server.route("GET", r"/v2/alerts")(self._guard(self._alerts))
        self.alerts: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return self.server.url

    def _guard(self, handler: Any) -> Any:
        def answer(request: FakeRequest) -> FakeResponse:
            if request.header("authorization") != f"GenieKey {self.key}":
                return FakeResponse(
                    401, {"message": "Could not authenticate", "took": 0.0, "requestId": "r-401"}
                )
            return handler(request)

        return answer

    def _page(self, request: FakeRequest, items: list[dict[str, Any]]) -> FakeResponse:
        offset = int(request.param("offset", "0") or 0)
        limit = min(int(request.param("limit", "20") or 20), 100)
        page = items[offset : offset + limit]
        query = {k: v[-1] for k, v in request.query.items()}
        paging: dict[str, str] = {"first": f"{self.url}{request.path}?{urlencode({**query, 'offset': 0})}"}
        if offset + len(page) < len(items):
            paging["next"] = f"{self.url}{request.path}?{urlencode({**query, 'offset': offset + len(page)})}"
        return FakeResponse(200, {"data": page, "paging": paging, "took": 0.01, "requestId": "r-1"})

    def _incidents(self, request: FakeRequest) -> FakeResponse:
        query = request.param("query") or ""
        lower = re.search(r"createdAt>=(\d+)", query)
        upper = re.search(r"createdAt<(\d+)", query)
        chosen = [
            i
            for i in self.incidents
            if (lower is None or ms(i["createdAt"]) >= int(lower.group(1)))
            and (upper is None or ms(i["createdAt"]) < int(upper.group(1)))
        ]
        if request.param("sort") == "createdAt":
            chosen.sort(key=lambda i: ms(i["createdAt"]), reverse=request.param("order") == "desc")
        return self._page(request, chosen)

    def _alerts(self, request: FakeRequest) -> FakeResponse:
        query = request.param("query") or ""
        lower = re.search(r"createdAt>=(\d+)", query)
        upper = re.search(r"createdAt<(\d+)", query)
        priorities = re.findall(r"priority=(P[1-5])", query)
        chosen = [
            a
            for a in self.alerts
            if (lower is None or ms(a["createdAt"]) >= int(lower.group(1)))
            and (upper is None or ms(a["createdAt"]) < int(upper.group(1)))
            and (not priorities or a["priority"] in priorities)
        ]
        if request.param("sort") == "createdAt":
            chosen.sort(key=lambda a: ms(a["createdAt"]), reverse=request.param("order") == "desc")
        return self._page(request, chosen)

    def _services(self, request: FakeRequest) -> FakeResponse:
        return self._page(request, self.services)


def alert(
    tiny: int,
    created: str,
    *,
    priority: str = "P1",
    close_ms: int | None = None,
    tags: tuple[str, ...] = (),
    updated: str | None = None,
) -> dict[str, Any]:
    """An alert as ``GET /v2/alerts`` lists it; ``close_ms``: closed that many ms after creation."""
    item: dict[str, Any] = {
        "id": f"a1e7{tiny:04d}-0000-4000-8000-00000000{tiny:04d}",
        "tinyId": str(tiny),
        "alias": f"alias-{tiny}",
        "message": f"Alert {tiny}",
        "status": "closed" if close_ms is not None else "open",
        "acknowledged": close_ms is not None,
        "isSeen": True,
        "tags": list(tags),
        "snoozed": False,
        "count": 1,
        "source": "prometheus",
        "owner": "",
        "priority": priority,
        "createdAt": created,
        "updatedAt": updated or created,
        "report": {"ackTime": 1000, "closeTime": close_ms, "closedBy": "ops"} if close_ms is not None else {},
    }
    return item
