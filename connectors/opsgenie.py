"""Opsgenie incidents through the Incident API (``GET /v1/incidents``) and service names from the Service
API (``GET /v1/services``).

Options (``SourceConfig.options``); the API key of an API integration (read access) is
``SourceConfig.secret``, sent as ``Authorization: GenieKey <key>``:

| option | meaning |
|---|---|
| ``api_url`` | default ``https://api.opsgenie.com`` (EU instance: ``https://api.eu.opsgenie.com``) |
| ``read`` | ``incidents`` (default) or ``alerts`` (``GET /v2/alerts``: plans without Incident management) |
| ``alert_priorities`` | with ``alerts``: only these priorities count as incidents (default P1, P2) |
| ``days`` | how far back the first sync reads (default 180) |
| ``page_size`` | incidents per request (default 100, Opsgenie's maximum) |
| ``max_retries``, ``backoff_seconds``, ``max_wait_seconds`` | see ``connectors.http_json`` |

A run lists the incidents created since the checkpoint (``query=createdAt>=MS AND createdAt<MS``, epoch
milliseconds; ``sort=createdAt&order=asc``; ``offset``/``limit`` while ``paging.next`` is given),
checkpointed after every page (``connectors.incident_tools.windowed_pages``).  Each incident becomes an
``IncidentRecord``: started at ``impactStartDate`` (else ``createdAt``), resolved at ``impactEndDate`` (else,
for a resolved or closed incident, ``updatedAt``), severity its priority (P1..P5), service the name of its
first impacted service.

With ``read=alerts`` the alerts (``GET /v2/alerts``, same query, paging and checkpoint) of the chosen
priorities are the incidents: started at ``createdAt``, resolved at ``createdAt + report.closeTime`` (ms)
once closed (else the alert's ``updatedAt``), service the value of a ``service:NAME`` tag.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from connectors.api_urls import api_url_check
from connectors.base import ConnectorError, ProgressCallback, SourceConfig
from connectors.incident_tools import IncidentConnector, Page, moment
from connectors.records import IncidentRecord, Record

DEFAULT_API_URL = "https://api.opsgenie.com"
WINDOW = timedelta(days=3650)  # Opsgenie sets no limit on the range of one query
CLOSED = ("resolved", "closed")


def incident_record(item: dict[str, Any], services: dict[str, str]) -> IncidentRecord | None:
    started = moment(item.get("impactStartDate")) or moment(item["createdAt"])
    if started is None:
        return None
    resolved = moment(item.get("impactEndDate"))
    if resolved is None and str(item.get("status") or "").lower() in CLOSED:
        resolved = moment(item.get("updatedAt"))
    impacted = [str(s) for s in item.get("impactedServices") or []]
    service = services.get(impacted[0], impacted[0]) if impacted else ""
    return _record(item, started, resolved, service, url=str((item.get("links") or {}).get("web") or ""))


def alert_record(item: dict[str, Any]) -> IncidentRecord | None:
    started = moment(item["createdAt"])
    if started is None:
        return None
    resolved = None
    if str(item.get("status") or "").lower() == "closed":
        close_ms = (item.get("report") or {}).get("closeTime")
        if isinstance(close_ms, int | float) and not isinstance(close_ms, bool):
            resolved = moment(_ms(started) + int(close_ms))
        resolved = resolved or moment(item.get("updatedAt"))
    tags = [str(t) for t in item.get("tags") or []]
    service = next((t.split(":", 1)[1].strip() for t in tags if t.lower().startswith("service:")), "")
    return _record(item, started, resolved, service)


def _record(
    item: dict[str, Any], started: datetime, resolved: datetime | None, service: str, url: str = ""
) -> IncidentRecord:
    """An incident or alert as a record: id, message and priority read alike from both."""
    return IncidentRecord(
        source="opsgenie",
        external_id=str(item["id"]),
        started_at=started,
        title=str(item.get("message") or ""),
        resolved_at=resolved,
        severity=str(item.get("priority") or ""),
        service=service,
        url=url,
    )


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


class OpsgenieConnector(IncidentConnector):
    kind = "opsgenie"
    vendor = "Opsgenie"
    window = WINDOW

    def __init__(self, config: SourceConfig, progress: ProgressCallback | None = None) -> None:
        super().__init__(config, progress)
        options = config.options
        if not config.secret:
            raise ConnectorError(f"Opsgenie source {config.name!r} has no API key")
        self.read = str(options.get("read") or "incidents")
        if self.read not in ("incidents", "alerts"):
            raise ConnectorError(
                f"Opsgenie source {config.name!r}: read must be incidents or alerts, not {self.read!r}"
            )
        self.alert_priorities = [str(p) for p in options.get("alert_priorities") or ["P1", "P2"]]
        self.api = self.json_api(
            base_url=api_url_check(str(options.get("api_url") or DEFAULT_API_URL)),
            headers={"Authorization": f"GenieKey {config.secret}"},
            secrets=(config.secret,),
        )
        self.services: dict[str, str] | None = None

    def check(self) -> None:
        self.api.get("/v2/alerts" if self.read == "alerts" else "/v1/incidents", {"limit": 1})

    def _service_names(self) -> dict[str, str]:
        if self.services is None:
            names: dict[str, str] = {}
            offset = 0
            while True:
                data = self.api.get("/v1/services", {"offset": offset, "limit": 100})
                items = list(data["data"])
                names.update({str(s["id"]): str(s.get("name") or s["id"]) for s in items})
                if not items or not (data.get("paging") or {}).get("next"):
                    break
                offset += len(items)
            self.services = names
        return self.services

    def _read(self, since: datetime, until: datetime, offset: int) -> Page:
        params = {
            "query": f"createdAt>={_ms(since)} AND createdAt<{_ms(until)}",
            "offset": offset,
            "limit": self.page_size,
            "sort": "createdAt",
            "order": "asc",
        }
        if self.read == "alerts":
            wanted = " OR ".join(f"priority={p}" for p in self.alert_priorities if p.strip().isalnum())
            params["query"] = f"{params['query']} AND ({wanted})" if wanted else params["query"]
            data = self.api.get("/v2/alerts", params)
            items = list(data["data"])
            records: list[Record] = [r for r in (alert_record(i) for i in items) if r is not None]
        else:
            data = self.api.get("/v1/incidents", params)
            items = list(data["data"])
            services = self._service_names() if any(i.get("impactedServices") for i in items) else {}
            records = [r for r in (incident_record(i, services) for i in items) if r is not None]
        self.counted(f"Opsgenie {self.read}", items)
        last = moment(items[-1]["createdAt"]) if items else None
        more = bool((data.get("paging") or {}).get("next")) and bool(items)
        return Page(records, more, last)
