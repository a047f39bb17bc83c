"""One HTTP client for the AI-tool admin APIs (Cursor, Anthropic): waits, retries and error messages.

* 429 (and 503 with ``Retry-After``) waits as asked, up to ``max_wait`` seconds; longer asks end the run as
  a temporary error with ``retry_after`` (the sync resumes from its checkpoint later);
* 5xx and dropped connections are retried with backoff, then end the run as temporary;
* 401 and 403 are permanent (a wrong or revoked key), other 4xx too, with the vendor's message.
Messages name the path, never the key (they pass through ``connectors.base.redact`` as well).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.base import ConnectorError

TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class VendorError(ConnectorError):
    """A final (not retried) answer of the vendor; ``status`` is its HTTP status."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def wait_of(response: requests.Response) -> float | None:
    value = (response.headers.get("Retry-After") or "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class VendorClient:
    def __init__(
        self,
        *,
        vendor: str,
        base_url: str,
        headers: dict[str, str],
        auth: tuple[str, str] | None = None,
        max_retries: int = 5,
        max_wait: float = 60.0,
        backoff: float = 0.1,
    ) -> None:
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(headers)
        if auth is not None:
            self.session.auth = auth
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.backoff = backoff
        self.requests = 0

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        """The JSON answer of ``method path``, after the waits and retries described above."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        where = urlsplit(url).path
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self.session.request(method, url, params=params, json=body, timeout=60)
            except TRANSIENT as exc:
                if last:
                    raise ConnectorError(
                        f"cannot reach {self.vendor} for {where} after {attempt + 1} tries "
                        f"({type(exc).__name__}); the sync will be retried",
                        permanent=False,
                    ) from None
                time.sleep(self.backoff * 2**attempt)
                continue
            self.requests += 1
            status = response.status_code
            if status == 200:
                try:
                    return response.json()
                except ValueError:
                    raise ConnectorError(
                        f"{self.vendor} answered {where} with a body that is not JSON", permanent=False
                    ) from None
            wait = wait_of(response)
            if status == 429 or status >= 500:
                if wait is not None and wait > self.max_wait:
                    raise ConnectorError(
                        f"{self.vendor} rate limit on {where}: asked to wait {wait:.0f}s; the sync will "
                        "resume later",
                        permanent=False,
                        retry_after=wait,
                    )
                if last:
                    raise ConnectorError(
                        f"{self.vendor} answered {status} on {where} after {attempt + 1} tries; the sync "
                        "will be retried",
                        permanent=False,
                        retry_after=wait,
                    )
                time.sleep(wait if wait is not None else self.backoff * 2**attempt)
                continue
            raise self._final(response, where)
        raise AssertionError("unreachable")  # pragma: no cover

    def _final(self, response: requests.Response, where: str) -> VendorError:
        status = response.status_code
        try:
            data = response.json()
            error = data.get("error") if isinstance(data, dict) else None
            message = str(
                (error.get("message") if isinstance(error, dict) else error) or data.get("message") or ""
            )
        except (ValueError, AttributeError):
            message = ""
        if status in (401, 403):
            return VendorError(
                f"{self.vendor} rejected the API key ({status} {message}".strip()
                + f") on {where}: it is wrong, revoked or lacks the admin role; save a new key for this "
                "source",
                status=status,
            )
        return VendorError(f"{self.vendor} answered {status} {message} on {where}".strip(), status=status)
