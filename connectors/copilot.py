"""GitHub Copilot usage and seats for one organization (github.com or GitHub Enterprise Server).

Options (``SourceConfig.options``): ``org`` or ``enterprise`` (one of them; an enterprise reads the same
reports under ``/enterprises/{enterprise}/``, named ``enterprise-1-day`` / ``enterprise-28-day``);
``api_url`` (default ``https://api.github.com``);
``metrics_api``: ``auto`` (default: the usage metrics reports, else the older ``/copilot/metrics``),
``reports`` or ``legacy``; ``checkpoint``; ``max_retries`` (default 5); ``max_wait_seconds`` (default 60).
The token (``SourceConfig.secret``) needs the Copilot metrics/billing read permission
(``manage_billing:copilot`` or ``read:org`` for classic tokens).

What a run reads:

1. seats, ``GET /orgs/{org}/copilot/billing/seats`` (all pages): one ``AISeatRecord`` per user;
2. usage, by the usage metrics reports (each endpoint answers ``download_links``; the files behind
   them are fetched *without* the token, since they are signed URLs on another host):
   a first run reads ``organization-28-day/latest`` and ``users-28-day/latest``; later runs read
   ``organization-1-day`` and ``users-1-day`` for each day after the checkpoint's ``last_day`` until a day
   is not available yet (404); ``user-teams-1-day`` of the last day read gives team memberships.
   When the reports API is absent (404 on a first run) and ``metrics_api`` is ``auto``, the older
   ``GET /orgs/{org}/copilot/metrics`` (``since`` the checkpoint) is read instead.

``checkpoint = {"api": "reports" | "legacy", "last_day": "YYYY-MM-DD"}`` moves after each complete day.
Errors: 401 and 403 are permanent; 429 and a 403 with ``Retry-After`` or an exhausted rate limit wait
(up to ``max_wait_seconds``, else a temporary error with ``retry_after``); 5xx and dropped connections are
retried with backoff, then end the run as temporary.  Messages never hold the token or a signed URL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from connectors import copilot_reports as reports
from connectors.api_urls import api_url_check
from connectors.base import Connector, ConnectorError, ProgressCallback, SourceConfig, malformed_answers
from connectors.records import AIUsageRecord, Record

DEFAULT_API_URL = "https://api.github.com"
TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class ReportMissing(Exception):
    """A 404: a report day not produced yet, or an endpoint this installation does not have."""


def _safe(url: str) -> str:
    """A URL for messages: the path only (signed download URLs carry credentials in the query)."""
    return urlsplit(url).path or url


def _wait_of(response: requests.Response) -> float | None:
    """Seconds GitHub asks to wait: ``Retry-After``, or the primary limit's reset when it is used up."""
    retry_after = response.headers.get("Retry-After")
    if retry_after is not None and retry_after.strip().isdigit():
        return float(retry_after)
    if response.headers.get("x-ratelimit-remaining") == "0" and response.headers.get("x-ratelimit-reset"):
        return max(0.0, float(response.headers["x-ratelimit-reset"]) - time.time())
    return None


class CopilotConnector(Connector):
    kind = "copilot"

    def __init__(self, config: SourceConfig, progress: ProgressCallback | None = None) -> None:
        super().__init__(config, progress)
        options = config.options
        self.org = str(options.get("org") or "").strip()
        self.enterprise = str(options.get("enterprise") or "").strip()
        if bool(self.org) == bool(self.enterprise):
            raise ConnectorError(f"Copilot source {config.name!r}: set the 'org' or the 'enterprise' to read")
        # The enterprise reports have the same shapes under /enterprises/{enterprise}/ (enterprise-1-day ...).
        self.prefix = f"orgs/{self.org}" if self.org else f"enterprises/{self.enterprise}"
        self.level = "organization" if self.org else "enterprise"
        self.owner = self.org or self.enterprise
        self.api_url = api_url_check(str(options.get("api_url") or DEFAULT_API_URL)).rstrip("/") + "/"
        self.mode = str(options.get("metrics_api") or "auto")
        if self.mode not in ("auto", "reports", "legacy"):
            raise ConnectorError(
                f"Copilot source {config.name!r}: metrics_api must be auto, reports or "
                f"legacy, not {self.mode!r}"
            )
        self.max_retries = int(options.get("max_retries", 5))
        self.max_wait = float(options.get("max_wait_seconds", 60))
        self.request_counts: dict[str, int] = {"api_requests": 0, "report_downloads": 0}
        self.session = requests.Session()

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.request_counts)

    # --- HTTP ------------------------------------------------------------------------------------
    def _get(
        self, url: str, *, params: dict[str, Any] | None = None, signed: bool = False
    ) -> requests.Response:
        """GET with GitHub's rules for waits and retries; a 404 of the API raises :class:`ReportMissing`."""
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if not signed:  # a signed download URL must never receive the token
            headers["Authorization"] = f"Bearer {self.config.secret}"
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self.session.get(url, params=params, headers=headers, timeout=60)
            except TRANSIENT as exc:
                if last:
                    raise ConnectorError(
                        f"cannot reach GitHub for {_safe(url)} after {attempt + 1} tries "
                        f"({type(exc).__name__}); the sync will be retried",
                        permanent=False,
                    ) from None
                time.sleep(0.1 * 2**attempt)
                continue
            self.request_counts["report_downloads" if signed else "api_requests"] += 1
            if response.status_code == 200:
                return response
            if not self._retryable(response, url, attempt):
                self._raise_for(response, url, signed)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def _retryable(self, response: requests.Response, url: str, attempt: int) -> bool:
        """Sleep and say True when the answer is worth another try; False for a final answer."""
        status, wait = response.status_code, _wait_of(response)
        limited = status == 429 or (status == 403 and wait is not None)
        if not limited and status < 500:
            return False
        if wait is not None and wait > self.max_wait:
            raise ConnectorError(
                f"GitHub rate limit on {_safe(url)}: asked to wait {wait:.0f}s; the sync will resume later",
                permanent=False,
                retry_after=wait,
            )
        if attempt == self.max_retries:
            raise ConnectorError(
                f"GitHub answered {status} on {_safe(url)} after {attempt + 1} tries; the sync will be "
                "retried",
                permanent=False,
                retry_after=wait,
            )
        time.sleep(wait if wait is not None else 0.1 * 2**attempt)
        return True

    def _raise_for(self, response: requests.Response, url: str, signed: bool) -> None:
        status = response.status_code
        try:
            message = str(response.json().get("message", ""))
        except (ValueError, AttributeError):
            message = ""
        if signed:  # an expired or vanished download link: the next run asks for fresh links
            raise ConnectorError(
                f"Copilot report file {_safe(url)} answered {status}; the sync will be retried",
                permanent=False,
            )
        if status == 404:
            raise ReportMissing(f"{_safe(url)}: 404 {message}".strip())
        if status == 401:
            raise ConnectorError(
                f"GitHub rejected the token (401 {message or 'Unauthorized'}) on {_safe(url)}: it is wrong, "
                "expired or revoked; save a new token for this source"
            )
        if status == 403:
            raise ConnectorError(
                f"GitHub refused {_safe(url)} (403 {message}): the token needs the Copilot metrics/billing "
                "read permission, and the organization the Copilot metrics policy"
            )
        raise ConnectorError(f"GitHub answered {status} {message} on {_safe(url)}".strip())

    def _pages(self, path: str, key: str | None, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list (``Link: rel="next"``); ``key`` names the list in an object."""
        url: str | None = urljoin(self.api_url, path.lstrip("/"))
        query: dict[str, Any] | None = {"per_page": 100, **params}
        while url:
            response = self._get(url, params=query)
            data = response.json()
            yield from (data.get(key) or []) if key else data
            url, query = response.links.get("next", {}).get("url"), None  # the next URL holds the query

    def _report(self, endpoint: str, **params: Any) -> list[dict[str, Any]]:
        """The rows of a report: its ``download_links`` fetched and parsed (NDJSON or JSON)."""
        base = f"{self.prefix}/copilot/metrics/reports/{endpoint}"
        answer = self._get(urljoin(self.api_url, base), params=params or None).json()
        links = answer.get("download_links") or []
        rows: list[dict[str, Any]] = []
        for link in links:
            url = urljoin(self.api_url, link)  # absolute signed URLs stay as they are
            rows += reports.report_rows(self._get(url, signed=True).text, _safe(url))
        return rows

    # --- records ---------------------------------------------------------------------------------
    def records(self) -> Iterator[Record]:
        return malformed_answers("GitHub Copilot", self._records())

    def _records(self) -> Iterator[Record]:
        yield from self._seats()
        if self.mode == "legacy" or self.checkpoint.get("api") == "legacy":
            yield from self._legacy()
            return
        try:
            yield from self._reports()
        except ReportMissing as exc:
            if self.mode == "reports" or self.checkpoint.get("api") == "reports":
                raise ConnectorError(
                    f"Copilot usage metrics reports are not available for {self.owner}: {exc}"
                ) from None
            yield from self._legacy()

    def _seats(self) -> Iterator[Record]:
        try:
            for done, item in enumerate(self._pages(f"/{self.prefix}/copilot/billing/seats", "seats"), 1):
                record = reports.seat(item)
                if record is not None:
                    yield record
                self.progress("Copilot seats", done, None)
        except ReportMissing as exc:
            self.problems.append(f"Copilot seats of {self.owner} not readable (no Copilot plan?): {exc}")

    def _reports(self) -> Iterator[Record]:
        last = self.checkpoint.get("last_day")
        if not last:
            rows = self._report(f"{self.level}-28-day/latest")  # a 404 here: no reports API
            try:
                rows += self._report("users-28-day/latest")
            except ReportMissing as exc:
                self.problems.append(f"per-user Copilot usage not available: {exc}")
            days = sorted({reports.organization_usage(r).day for r in rows if "user_login" not in r})
            yield from self._usage(rows)
            if days:
                self.checkpoint.update(api="reports", last_day=days[-1].isoformat())
                yield from self._teams(days[-1])
            return
        day, today = date.fromisoformat(last) + timedelta(days=1), datetime.now(UTC).date()
        read = None
        while day <= today:
            try:
                rows = self._report(f"{self.level}-1-day", day=day.isoformat())
            except ReportMissing:
                break  # this day's report is not produced yet
            with_users = self._optional_report("users-1-day", day)
            yield from self._usage(rows + with_users)
            self.checkpoint.update(api="reports", last_day=day.isoformat())
            read, day = day, day + timedelta(days=1)
        if read is not None:
            yield from self._teams(read)

    def _optional_report(self, endpoint: str, day: date) -> list[dict[str, Any]]:
        try:
            return self._report(endpoint, day=day.isoformat())
        except ReportMissing as exc:
            self.problems.append(f"Copilot {endpoint} for {day}: {exc}")
            return []

    def _usage(self, rows: list[dict[str, Any]]) -> Iterator[AIUsageRecord]:
        org_rows = sorted((r for r in rows if "user_login" not in r), key=lambda r: str(r.get("day")))
        user_rows = sorted(
            (r for r in rows if "user_login" in r), key=lambda r: (str(r.get("day")), str(r["user_login"]))
        )
        for row in org_rows:
            yield reports.organization_usage(row)
        for row in user_rows:
            record = reports.user_usage(row)
            if record is not None:
                yield record
        self.progress("Copilot usage", len(org_rows) + len(user_rows), None)

    def _teams(self, day: date) -> Iterator[Record]:
        yield from reports.team_memberships(self._optional_report("user-teams-1-day", day))

    def _legacy(self) -> Iterator[Record]:
        last = self.checkpoint.get("last_day")
        params = {"since": (date.fromisoformat(last) + timedelta(days=1)).isoformat()} if last else {}
        try:
            days = sorted(
                self._pages(f"/{self.prefix}/copilot/metrics", None, **params),
                key=lambda d: str(d.get("date")),
            )
        except ReportMissing as exc:
            raise ConnectorError(
                f"Copilot usage metrics are not available for {self.owner}: neither the usage metrics "
                f"reports nor the older /copilot/metrics answered ({exc}); check the organization's Copilot "
                "metrics policy"
            ) from None
        for day in days:
            record = reports.legacy_usage(day)
            yield record
            self.checkpoint.update(api="legacy", last_day=record.day.isoformat())
