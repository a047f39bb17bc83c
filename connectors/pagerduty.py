"""PagerDuty incidents through the REST API v2 (``GET /incidents``).

Options (``SourceConfig.options``); the REST API key (read-only is enough) is ``SourceConfig.secret``,
sent as ``Authorization: Token token=<key>``:

| option | meaning |
|---|---|
| ``api_url`` | default ``https://api.pagerduty.com`` (EU accounts: ``https://api.eu.pagerduty.com``) |
| ``service_ids`` | read only these services (``service_ids[]``); default every service the key sees |
| ``days`` | how far back the first sync reads (default 180) |
| ``page_size`` | incidents per request (default 100, PagerDuty's maximum) |
| ``max_retries``, ``backoff_seconds``, ``max_wait_seconds`` | see ``connectors.http_json`` |

A run lists the incidents created since the checkpoint (``since``/``until``, at most 6 months per query,
``sort_by=created_at:asc``, ``offset``/``limit`` while ``more`` is true, and a new query from the last
creation time read when the 10,000-record offset limit comes near), checkpointed after every page
(``connectors.incident_tools.windowed_pages``).  Each incident becomes an ``IncidentRecord``: started at
``created_at``, resolved at ``resolved_at`` (or ``last_status_change_at`` of a resolved incident on older
accounts), severity the incident's priority name, else its urgency, service the service's name.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from connectors.api_urls import api_url_check
from connectors.base import ConnectorError, ProgressCallback, SourceConfig
from connectors.incident_tools import IncidentConnector, Page, iso, moment
from connectors.records import IncidentRecord, Record

DEFAULT_API_URL = "https://api.pagerduty.com"
WINDOW = timedelta(days=180)  # PagerDuty allows at most 6 months between since and until


def incident_record(item: dict[str, Any]) -> IncidentRecord | None:
    """An incident of ``GET /incidents`` as a record; None when its creation time is not believable."""
    started = moment(item["created_at"])
    if started is None:
        return None
    resolved = moment(item.get("resolved_at"))
    if resolved is None and item.get("status") == "resolved":
        resolved = moment(item.get("last_status_change_at"))
    priority = item.get("priority") or {}
    service = item.get("service") or {}
    return IncidentRecord(
        source="pagerduty",
        external_id=str(item["id"]),
        started_at=started,
        title=str(item.get("title") or item.get("summary") or ""),
        resolved_at=resolved,
        severity=str(priority.get("summary") or priority.get("name") or item.get("urgency") or ""),
        service=str(service.get("summary") or service.get("id") or ""),
        url=str(item.get("html_url") or ""),
    )


class PagerDutyConnector(IncidentConnector):
    kind = "pagerduty"
    vendor = "PagerDuty"
    window = WINDOW

    def __init__(self, config: SourceConfig, progress: ProgressCallback | None = None) -> None:
        super().__init__(config, progress)
        options = config.options
        if not config.secret:
            raise ConnectorError(f"PagerDuty source {config.name!r} has no API key")
        self.service_ids = [str(s) for s in options.get("service_ids") or []]
        self.api = self.json_api(
            base_url=api_url_check(str(options.get("api_url") or DEFAULT_API_URL)),
            headers={
                "Authorization": f"Token token={config.secret}",
                "Accept": "application/vnd.pagerduty+json;version=2",
            },
            secrets=(config.secret,),
        )

    def check(self) -> None:
        self.api.get("/incidents", {"limit": 1})

    def _read(self, since: datetime, until: datetime, offset: int) -> Page:
        params: list[tuple[str, Any]] = [
            ("since", iso(since)),
            ("until", iso(until)),
            ("offset", offset),
            ("limit", self.page_size),
            ("total", "false"),
            ("sort_by", "created_at:asc"),
            ("time_zone", "UTC"),
        ]
        params += [("service_ids[]", s) for s in self.service_ids]
        data = self.api.get("/incidents", params)
        items = list(data["incidents"])
        records: list[Record] = [r for r in (incident_record(i) for i in items) if r is not None]
        self.counted("PagerDuty incidents", items)
        last = moment(items[-1]["created_at"]) if items else None
        return Page(records, bool(data.get("more")) and bool(items), last)
