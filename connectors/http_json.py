"""A small JSON-over-HTTP client for the incident tools that have no official Python client we use
(PagerDuty, Opsgenie, Jira): ``requests`` plus the same rules the GitHub/GitLab/Copilot connectors follow.

* 429 (and 503 with ``Retry-After``): wait ``Retry-After`` seconds (or until ``X-RateLimit-Reset`` /
  ``ratelimit-reset``), up to ``max_wait``; a longer wait is not slept through in a worker: a temporary
  ``ConnectorError`` with ``retry_after`` lets the task queue retry later;
* 5xx, a dropped or refused connection, a timeout, a truncated body: bounded retries with exponential
  backoff, then a temporary ``ConnectorError``;
* 401: a permanent ``ConnectorError`` at once naming the vendor and the source ("rejected the
  credentials"), never retried (a revoked key must not cause a retry storm); 403: permanent, naming the
  permission problem; other 4xx: permanent, with the vendor's own message (a JQL error, say);
* no message carries the credential: only the request path (never the query, which may hold a search
  the user typed) and the status, passed through ``redact`` with the source's secret.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from connectors.base import ConnectorError, ProgressCallback, redact

TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
USER_AGENT = "Sextant (self-hosted engineering metrics)"


def _seconds(value: str | None) -> float | None:
    try:
        return float(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def _vendor_message(response: requests.Response) -> str:
    """The vendor's own error text, first line, short (PagerDuty ``error.message``, Opsgenie ``message``,
    Jira ``errorMessages``)."""
    try:
        data = response.json()
    except ValueError:
        return ""
    parts: list[str] = []
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            parts += [str(error.get("message") or "")] + [str(e) for e in error.get("errors") or []]
        elif isinstance(error, str):
            parts.append(error)
        if isinstance(data.get("message"), str):
            parts.append(data["message"])
        parts += [str(m) for m in data.get("errorMessages") or []]
        parts += (
            [f"{k}: {v}" for k, v in (data.get("errors") or {}).items()]
            if isinstance(data.get("errors"), dict)
            else []
        )
    text = "; ".join(p for p in parts if p)
    return (text.splitlines() or [""])[0][:300]


class JsonApi:
    """GET requests against one vendor API with the rules in the module docstring."""

    def __init__(
        self,
        *,
        vendor: str,
        source: str,
        base_url: str,
        headers: dict[str, str],
        secrets: tuple[str, ...] = (),
        max_retries: int = 5,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        timeout: float = 30.0,
        progress: ProgressCallback | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.vendor = vendor
        self.source = source
        self.base_url = base_url.rstrip("/") + "/"
        self.secrets = secrets
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.timeout = timeout
        self.progress = progress
        self.sleep = sleep
        self.counts: Counter[str] = Counter()
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json", **headers})

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path.lstrip("/"))

    def get(self, path: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None) -> Any:
        """The decoded JSON of ``GET path`` (relative to the base URL, or absolute)."""
        url = path if path.startswith(("http://", "https://")) else self.url(path)
        where = urlsplit(url).path or path
        failures = 0
        waits = 0
        while True:
            self.counts["api_requests"] += 1
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
                data = response.json() if response.status_code == 200 else None
            except TRANSIENT as exc:
                failures += 1
                self._retry(failures, where, f"connection failed ({type(exc).__name__})")
                continue
            except ValueError:  # a 200 whose body is not JSON (cut off by a proxy): worth another try
                failures += 1
                self._retry(failures, where, "the answer is not JSON")
                continue
            status = response.status_code
            if status == 200:
                return data
            wait = self._wait_of(response)
            if status == 429 or (status == 503 and wait is not None):
                waits += 1
                wait = 1.0 if wait is None else wait
                if wait > self.max_wait or waits > self.max_retries:
                    raise self._error(
                        f"{self.vendor} rate limit on {where}: asked to wait {wait:.0f}s; the sync will "
                        "resume later",
                        permanent=False,
                        retry_after=wait,
                    )
                self.counts["rate_limit_waits"] += 1
                self._sleep(wait, f"{self.vendor} rate limit")
                continue
            if status >= 500:
                failures += 1
                self._retry(failures, where, f"server error {status}")
                continue
            self._raise_for(response, where)

    # --- errors and waits ---------------------------------------------------------------------------------
    def _error(self, message: str, **kwargs: Any) -> ConnectorError:
        return ConnectorError(redact(message, self.secrets), **kwargs)

    def _raise_for(self, response: requests.Response, where: str) -> None:
        status, message = response.status_code, _vendor_message(response)
        detail = f" ({message})" if message else ""
        if status == 401:
            raise self._error(
                f"{self.vendor} rejected the credentials of source {self.source!r} "
                f"(401 Unauthorized{detail}) on {where}: the key is wrong, expired or revoked; save a new "
                "one for this source"
            )
        if status == 403:
            raise self._error(
                f"{self.vendor} refused source {self.source!r} access to {where} (403 Forbidden{detail}): "
                "the key lacks the read permission this needs"
            )
        raise self._error(f"{self.vendor} answered {status} on {where}{detail}")

    def _wait_of(self, response: requests.Response) -> float | None:
        headers = response.headers
        retry_after = _seconds(headers.get("Retry-After"))
        if retry_after is not None:
            return max(retry_after, 0.0)
        for name in ("X-RateLimit-Reset", "ratelimit-reset"):
            reset = _seconds(headers.get(name))
            if reset is not None:  # epoch seconds, or seconds from now when small
                return max(reset - time.time(), 0.0) if reset > 1e9 else max(reset, 0.0)
        return None

    def _retry(self, failures: int, where: str, why: str) -> None:
        if failures > self.max_retries:
            raise self._error(
                f"{self.vendor} {where}: {why} (gave up after {self.max_retries} retries); the sync will be "
                "retried",
                permanent=False,
            )
        self.counts["retries"] += 1
        # Jitter spreads the retries of several workers; this is not cryptography.
        delay = min(self.backoff * 2 ** (failures - 1), 60.0) * (1 + random.random() / 10)  # noqa: S311
        self._sleep(delay, f"retrying {where} after {why}")

    def _sleep(self, seconds: float, reason: str) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.progress is not None:
                self.progress(f"waiting: {reason}"[:100], int(left), None)
            self.sleep(min(left, 30.0))
