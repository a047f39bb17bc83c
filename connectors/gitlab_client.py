"""The python-gitlab client the GitLab connector uses, and how its errors become ``ConnectorError``.

python-gitlab already follows pagination (``Link`` / ``x-next-page``), waits out a 429 (``Retry-After``,
``RateLimit-Reset``) and, with ``retry_transient_errors``, retries 5xx answers and dropped connections
with exponential backoff, up to ``max_retries``.  Two things are added here:

* a wait longer than ``max_wait`` seconds is not slept through inside a worker: the request stops and
  the sync fails as *temporary* with ``retry_after``, so the task queue retries it later;
* errors are translated: 401 is permanent (a revoked token must not cause a retry storm), 5xx and
  connection failures that outlast the retries are temporary, and nothing in a message carries the token.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import gitlab
import gitlab.exceptions
import requests

from connectors.base import ConnectorError

DEFAULT_API_URL = "https://gitlab.com"


class WaitTooLong(Exception):
    """The server asked for a longer wait than a worker should sleep through."""

    def __init__(self, seconds: float, url: str) -> None:
        super().__init__(f"asked to wait {seconds:.0f}s")
        self.seconds = seconds
        self.url = url


class NotFound(Exception):
    """A project, group or merge request that is gone or not visible to the token (404 / 403)."""


def _retry_after(response: requests.Response) -> float | None:
    """The wait a 429 asks for: ``Retry-After`` seconds, else until ``RateLimit-Reset`` (epoch seconds)."""
    try:
        if "Retry-After" in response.headers:
            return float(response.headers["Retry-After"])
        if "RateLimit-Reset" in response.headers:
            return max(0.0, float(response.headers["RateLimit-Reset"]) - time.time())
    except ValueError:
        return None
    return None


class GitLabApi:
    """A python-gitlab client for ``api_url`` (gitlab.com or self-managed) with Sextant's error rules."""

    def __init__(
        self, *, api_url: str, token: str, max_retries: int = 5, max_wait: float = 60.0, timeout: float = 30.0
    ) -> None:
        session = requests.Session()

        def refuse_long_waits(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            self.requests += 1
            wait = _retry_after(response)
            if response.status_code == 429 and wait is not None and wait > max_wait:
                raise WaitTooLong(wait, response.url)

        session.hooks["response"].append(refuse_long_waits)
        self.max_retries = max_retries
        self.requests = 0  # answers received, retries included
        # python-gitlab adds /api/v4 itself; a URL copied with it would be doubled.
        base = api_url.rstrip("/").removesuffix("/api/v4") or DEFAULT_API_URL
        self.client = gitlab.Gitlab(
            url=base,
            private_token=token or None,
            timeout=timeout,
            retry_transient_errors=True,
            session=session,
            per_page=100,
        )

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET one object; a 404/403 raises :class:`NotFound`."""
        with translated(path):
            result = self.client.http_get(path, query_data=params, max_retries=self.max_retries)
            if not isinstance(result, dict):
                raise gitlab.exceptions.GitlabParsingError(error_message="not a JSON object")
        return result

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, fetched page by page as it is consumed.

        A 404/403 raises :class:`NotFound`.
        """
        with translated(path):
            items = self.client.http_list(
                path, query_data={"per_page": 100, **params}, iterator=True, max_retries=self.max_retries
            )
            for item in items:
                yield dict(item)


def encoded(path_or_id: str | int) -> str:
    """A project or group path (``group/sub/project``) as one URL path segment."""
    return quote(str(path_or_id), safe="")


def _status_text(error: gitlab.exceptions.GitlabError) -> str:
    """``404 Project Not Found``: GitLab's messages mostly start with the code already."""
    message = error.error_message if isinstance(error.error_message, str) else ""
    code = str(error.response_code or "")
    return message if message.startswith(code) else f"{code} {message}".strip()


@contextlib.contextmanager
def translated(path: str) -> Iterator[None]:
    """Turn python-gitlab/requests failures into ``ConnectorError`` (or ``NotFound``) naming ``path``."""
    try:
        yield
    except WaitTooLong as exc:
        raise ConnectorError(
            f"GitLab rate limit on {path}: asked to wait {exc.seconds:.0f}s; the sync will resume later",
            permanent=False,
            retry_after=exc.seconds,
        ) from None
    except gitlab.exceptions.GitlabAuthenticationError:
        raise ConnectorError(
            f"GitLab rejected the token (401 Unauthorized) on {path}: it is wrong, expired or revoked; "
            "save a new token for this source",
        ) from None
    except gitlab.exceptions.GitlabHttpError as exc:
        code = exc.response_code or 0
        if code in (403, 404):
            raise NotFound(f"{path}: {_status_text(exc)}") from None
        if code == 429 or code >= 500:
            raise ConnectorError(
                f"GitLab answered {_status_text(exc)} on {path} after retries; the sync will be retried",
                permanent=False,
            ) from None
        raise ConnectorError(f"GitLab answered {_status_text(exc)} on {path}") from None
    except gitlab.exceptions.GitlabParsingError as exc:
        raise ConnectorError(
            f"GitLab answered something that is not JSON on {path} ({exc})", permanent=False
        ) from None
    except requests.RequestException as exc:
        raise ConnectorError(
            f"cannot reach GitLab for {path} after retries ({type(exc).__name__}); the sync will be retried",
            permanent=False,
        ) from None


def timestamp(value: object) -> datetime | None:
    """An API timestamp (``2024-05-01T09:30:00.000Z`` / ``...+02:00``), offset kept; None when absent."""
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else None
