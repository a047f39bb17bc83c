"""The HTTP side of the GitHub connector: PyGithub's requester plus Sextant's rules for the real API.

PyGithub's ``Requester`` does authentication (token or GitHub App installation, refreshed as needed),
the base URL (github.com or GitHub Enterprise Server, whose GraphQL endpoint it derives), connection
pooling and headers.  Its own urllib3 retry is switched off because the rules here need to see every
answer:

* primary rate limit (403/429 with ``x-ratelimit-remaining: 0``, or a GraphQL ``RATE_LIMITED`` error):
  wait until ``x-ratelimit-reset``; a remaining of 0 on a good answer also waits before the next call;
* secondary rate limit (403/429 with ``Retry-After`` or the "secondary rate limit" message): wait
  ``Retry-After`` (60 s when absent);
* 5xx, a dropped or refused connection, a timeout: bounded retries with exponential backoff;
* a wait longer than ``max_wait`` is not slept through in a worker: a temporary ``ConnectorError`` with
  ``retry_after`` lets the task queue retry later;
* 401 (token revoked, expired or wrong): a permanent ``ConnectorError`` at once, never retried; except
  with a GitHub App, whose installation token is minted again once and the request repeated (a token
  that expired early, e.g. by clock skew, or was revoked);
* 404 and 403-without-rate-limit are returned to the caller, who knows what is missing.

No message carries the token: errors name the request path and the status only.

GitHub App (``app_id`` + the App's private key as the secret): a JWT signed RS256 with the key
authenticates the App itself (``/app/...``); with it the installation is discovered when its id is not
configured (``GET /orgs/{org}/installation``, ``GET /repos/{owner}/{repo}/installation``, or the only
one of ``GET /app/installations``) and installation tokens are minted (``POST
/app/installations/{id}/access_tokens``, valid for an hour).  ``InstallationAuth`` mints a new token
``refresh_margin`` seconds before the current one expires; REST and GraphQL use the same token.  The
installation has its own rate limit (at least 5,000 requests an hour, more for large organizations and
Enterprise Cloud): the ``x-ratelimit-*`` headers of its answers drive the waits above, and the last
limit/remaining seen is kept in ``counts`` (``rate_limit_limit``, ``rate_limit_remaining``).
See https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import requests
from github import Auth, Github, GithubException, GithubIntegration
from github.InstallationAuthorization import InstallationAuthorization

from connectors.base import ConnectorError, ProgressCallback

DEFAULT_API_URL = "https://api.github.com"
PER_OBJECT_ERRORS = ("NOT_FOUND", "FORBIDDEN")  # one repository or pull request: the caller decides
USER_AGENT = "Sextant (self-hosted engineering metrics)"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    data: Any


class RetryableError(Exception):
    """One attempt failed in a way worth retrying (5xx, connection trouble)."""


class TokenRejectedError(Exception):
    """GitHub answered 401 to a request made with an App installation token."""


class InstallationAuth(Auth.AppInstallationAuth):
    """An App installation token, minted from the App's JWT and minted again ``margin`` before it expires
    (PyGithub's own threshold is 20 s, too close for a page that takes longer) or when GitHub rejects it."""

    def __init__(self, app_auth: Auth.AppAuth, installation_id: int, *, margin: float) -> None:
        super().__init__(app_auth, installation_id)
        self.margin = timedelta(seconds=margin)
        self.grant: InstallationAuthorization | None = None
        self.minted = 0

    @property
    def token(self) -> str:
        if self.grant is None or self.grant.expires_at - self.margin <= datetime.now(UTC):
            self.grant = self._get_installation_authorization()
            self.minted += 1
        return self.grant.token

    def invalidate(self) -> None:
        self.grant = None


def installation_discover(
    app_auth: Auth.AppAuth, *, api_url: str, org: str = "", repo: str = "", timeout: int = 30
) -> int:
    """The id of the App's installation on ``org`` or ``repo`` (owner/name), else its only installation."""
    integration = GithubIntegration(auth=app_auth, base_url=api_url, timeout=timeout, retry=None)
    try:
        if org:
            return int(integration.get_org_installation(org).id)
        if repo:
            owner, _, name = repo.partition("/")
            return int(integration.get_repo_installation(owner, name).id)
        installations = list(integration.get_installations())
    except GithubException as exc:
        where = f"organization {org}" if org else f"repository {repo}"
        if exc.status == 404:
            raise ConnectorError(f"the GitHub App {app_auth.app_id} is not installed on {where}") from None
        raise ConnectorError(
            f"GitHub answered {exc.status} while looking up the App's installation on {where}: "
            f"{_message(exc.data)} (check the App id and its private key)"
        ) from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise ConnectorError(
            f"GitHub App installation lookup failed ({type(exc).__name__})", permanent=False
        ) from None
    if len(installations) != 1:
        raise ConnectorError(
            f"the GitHub App {app_auth.app_id} has {len(installations)} installations; set installation_id"
        )
    return int(installations[0].id)


def _number(value: object) -> float | None:
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None


def _message(data: Any) -> str:
    return str(data.get("message", "")) if isinstance(data, dict) else ""


def _rate_limited_graphql(data: Any) -> bool:
    errors = (data.get("errors") if isinstance(data, dict) else None) or []
    return any(isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in errors)


class GitHubApi:
    """Requests against one GitHub (or GitHub Enterprise Server) API with the rules above."""

    def __init__(
        self,
        *,
        api_url: str = DEFAULT_API_URL,
        token: str = "",
        app_id: str = "",
        installation_id: str = "",
        installation_target: tuple[str, str] = ("", ""),
        refresh_margin: float = 300.0,
        timeout: int = 30,
        max_retries: int = 5,
        backoff: float = 1.0,
        max_wait: float = 900.0,
        progress: ProgressCallback | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``installation_target``: (org, owner/repo) whose installation is used when ``installation_id``
        is empty."""
        auth: Auth.Auth
        base_url = api_url.rstrip("/") or DEFAULT_API_URL
        self.installation: InstallationAuth | None = None
        if app_id:
            # With an App, the "token" is the App's private key (PEM): installation tokens are minted from it.
            try:
                app_auth = Auth.AppAuth(int(app_id), token)
                app_auth.create_jwt()
            except (ValueError, TypeError, jwt.PyJWTError) as exc:
                raise ConnectorError(
                    f"GitHub App {app_id}: the private key is not a PEM RSA key ({type(exc).__name__})"
                ) from None
            if installation_id:
                number = int(installation_id)
            else:
                org, repo = installation_target
                number = installation_discover(
                    app_auth, api_url=base_url, org=org, repo=repo, timeout=timeout
                )
            auth = self.installation = InstallationAuth(app_auth, number, margin=refresh_margin)
        else:
            auth = Auth.Token(token)
        self.github = Github(
            auth=auth,
            base_url=base_url,
            timeout=timeout,
            retry=None,
            user_agent=USER_AGENT,
            per_page=100,
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        self.requester = self.github.requester
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.progress = progress
        self.sleep = sleep
        self.counts: Counter[str] = Counter()
        self._not_before = 0.0  # monotonic time before which no request is sent (exhausted rate limit)

    # --- public -----------------------------------------------------------------------------------
    def graphql(
        self,
        query: str,
        variables: dict[str, Any],
        *,
        what: str,
        on_server_error: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """``data`` of a GraphQL query; errors of type NOT_FOUND stay in ``data['_errors']`` for the caller.

        ``on_server_error(variables)`` may shrink the query (e.g. halve ``first``) before a retry: GitHub
        answers 502 when a query takes too long.
        """
        body = {"query": query, "variables": variables}
        answer = self.request(
            "POST",
            self.requester.graphql_url,
            input=body,
            what=what,
            on_server_error=lambda: on_server_error(variables) if on_server_error else None,
        )
        if answer.status != 200 or not isinstance(answer.data, dict):
            raise ConnectorError(f"GitHub GraphQL {what}: answered {answer.status} {_message(answer.data)}")
        errors = answer.data.get("errors") or []
        fatal = [e for e in errors if not (isinstance(e, dict) and e.get("type") in PER_OBJECT_ERRORS)]
        if fatal:
            text = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in fatal)
            raise ConnectorError(f"GitHub GraphQL {what}: {text[:500]}")
        data = dict(answer.data.get("data") or {})
        data["_errors"] = errors
        return data

    def get(
        self, path: str, *, params: dict[str, Any] | None = None, etag: str = "", what: str = ""
    ) -> Answer:
        """A REST GET, conditional when ``etag`` is given (a 304 costs nothing against the rate limit)."""
        headers = {"If-None-Match": etag} if etag else {}
        return self.request("GET", path, params=params, headers=headers, what=what or path)

    # --- the request loop -------------------------------------------------------------------------
    def request(
        self,
        verb: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        input: Any = None,
        what: str = "",
        on_server_error: Callable[[], None] | None = None,
    ) -> Answer:
        failures = 0
        rate_waits = 0
        reminted = False
        while True:
            self._respect_exhausted_limit(what)
            try:
                answer = self._once(verb, url, params, headers, input)
            except TokenRejectedError:
                if reminted or self.installation is None:
                    raise ConnectorError(
                        "GitHub rejected the App's installation token (401) even after minting a new one: "
                        "the App was uninstalled, suspended, or its key revoked"
                    ) from None
                reminted = True
                self.installation.invalidate()
                self.counts["app_token_rejections"] += 1
                continue
            except RetryableError as exc:
                failures += 1
                if failures > self.max_retries:
                    raise ConnectorError(
                        f"GitHub {what}: {exc} (gave up after {self.max_retries} retries); the sync will be "
                        "retried",
                        permanent=False,
                    ) from None
                if on_server_error is not None:
                    on_server_error()
                self._wait(self._backoff(failures), f"retrying {what} after {exc}")
                continue
            wait = self._rate_limit_wait(answer)
            if wait is None:
                self._note_remaining(answer.headers)
                return answer
            rate_waits += 1
            if wait > self.max_wait or rate_waits > self.max_retries:
                raise ConnectorError(
                    f"GitHub rate limit on {what}: asked to wait {wait:.0f}s; the sync will resume later",
                    permanent=False,
                    retry_after=wait,
                )
            self.counts["rate_limit_waits"] += 1
            self._wait(wait, f"rate limit on {what}")

    def _once(
        self, verb: str, url: str, params: dict[str, Any] | None, headers: dict[str, str] | None, input: Any
    ) -> Answer:
        self.counts["api_requests"] += 1
        try:
            status, response_headers, body = self.requester.requestJson(
                verb, url, parameters=params, headers=dict(headers or {}), input=input
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetryableError(f"connection failed ({type(exc).__name__})") from None
        except GithubException as exc:  # raised while minting an App installation token
            status, response_headers, body = exc.status, dict(exc.headers or {}), json.dumps(exc.data)
            if status == 401:
                raise ConnectorError(
                    "GitHub rejected the App's JSON web token (401): check the App id and its private key"
                ) from None
        finally:
            if self.installation is not None:
                self.counts["app_tokens_minted"] = self.installation.minted
        lowered = {str(k).lower(): str(v) for k, v in (response_headers or {}).items()}
        if status == 304:
            self.counts["api_not_modified"] += 1
        if status >= 500:
            raise RetryableError(f"server error {status}")
        if status == 401 and self.installation is not None:
            raise TokenRejectedError
        if status == 401:
            raise ConnectorError(
                "GitHub rejected the credentials (401 Bad credentials): the token was revoked, has expired "
                "or is wrong; save a new token for this source"
            )
        try:
            data = json.loads(body) if body else None
        except ValueError:
            if status == 200:
                raise RetryableError("answer is not JSON") from None
            data = None
        return Answer(status, lowered, data)

    # --- rate limits --------------------------------------------------------------------------------
    def _rate_limit_wait(self, answer: Answer) -> float | None:
        """Seconds to wait before retrying, or None when the answer is not a rate limit."""
        headers = answer.headers
        graphql_limited = answer.status == 200 and _rate_limited_graphql(answer.data)
        if answer.status not in (403, 429) and not graphql_limited:
            return None
        message = _message(answer.data).lower()
        retry_after = _number(headers.get("retry-after"))
        if retry_after is not None:
            return max(retry_after, 0.0)
        exhausted = headers.get("x-ratelimit-remaining") == "0" or "api rate limit exceeded" in message
        if exhausted or graphql_limited:
            reset = _number(headers.get("x-ratelimit-reset"))
            return max((reset or time.time() + 60) - time.time(), 0.0) + 0.5
        if "secondary rate limit" in message or answer.status == 429:
            return 60.0
        return None  # a 403 that is about permissions, for the caller

    def _note_remaining(self, headers: dict[str, str]) -> None:
        for name in ("limit", "remaining"):
            value = _number(headers.get(f"x-ratelimit-{name}"))
            if value is not None:
                self.counts[f"rate_limit_{name}"] = int(value)
        if headers.get("x-ratelimit-remaining") == "0":
            reset = _number(headers.get("x-ratelimit-reset"))
            if reset is not None:
                self._not_before = time.monotonic() + max(reset - time.time(), 0.0) + 0.5

    def _respect_exhausted_limit(self, what: str) -> None:
        wait = self._not_before - time.monotonic()
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise ConnectorError(
                f"GitHub rate limit exhausted before {what}: resets in {wait:.0f}s; the sync resumes later",
                permanent=False,
                retry_after=wait,
            )
        self.counts["rate_limit_waits"] += 1
        self._wait(wait, "rate limit reset")

    def _backoff(self, failures: int) -> float:
        # Jitter spreads the retries of several workers; this is not cryptography.
        return min(self.backoff * 2 ** (failures - 1), 60.0) * (1 + random.random() / 10)  # noqa: S311

    def _wait(self, seconds: float, reason: str) -> None:
        """Sleep in slices, reporting progress so the run's heartbeat stays fresh during long waits."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.progress is not None:
                self.progress(f"waiting: {reason}"[:100], int(left), None)
            self.sleep(min(left, 30.0))
