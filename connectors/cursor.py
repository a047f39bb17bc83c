"""Cursor usage of one team, from the Cursor Admin API and the AI Code Tracking API.

Documented at https://docs.cursor.com/account/teams/admin-api and
https://cursor.com/docs/account/teams/ai-code-tracking-api.md: base ``https://api.cursor.com``, Basic
authentication with the API key as the user name and an empty password.

What a run reads, in windows of ``window_days`` (default 7) from the checkpoint's ``next_day``:

1. ``GET /teams/members`` (once): ``{"teamMembers": [{name, email, role}]}`` -> one ``AISeatRecord`` each;
2. ``POST /teams/daily-usage-data`` ``{"startDate": ms, "endDate": ms}`` -> ``{"data": [...]}``, one row per
   user and day (``date`` in epoch ms): ``AIUsageRecord`` with ``lines_added``/``lines_removed`` =
   acceptedLinesAdded/acceptedLinesDeleted (lines written by accepted AI edits), ``suggestions`` /
   ``acceptances`` = totalTabsShown/totalTabsAccepted, ``requests`` = chat + composer + agent requests,
   ``chat_turns`` = chatRequests, ``tool_accepts``/``tool_rejects`` = totalAccepts/totalRejects, and the
   rest (all lines added, applies, cmd-K, usage-based requests ...) in ``extra``;
3. ``POST /teams/filtered-usage-events`` ``{startDate, endDate, page, pageSize}`` -> ``usageEvents`` (model,
   ``tokenUsage`` with ``totalCents``, ``userEmail``, ``timestamp`` in ms) and ``pagination.hasNextPage``:
   added up per user, day and model into ``AIModelUsageRecord``; a user-day's cost is the sum of its events;
4. ``GET /analytics/ai-code/commits?startDate&endDate&page&pageSize`` (Enterprise; ``items`` and
   ``totalCount``): one ``CommitAIAttributionRecord`` per commit (AI lines = tab + composer).  A 401/403/404
   here means the team has no code tracking: noted once as a problem, and the run goes on.

Each window is stored whole with ``checkpoint = {"next_day": ...}`` (a user-day's events may span pages);
the window that holds today is read again by the next run (its numbers still grow).
Options: ``api_url``, ``since`` (first day, default 30 days ago), ``window_days``, ``page_size`` (events
and commits, default 500), ``code_tracking`` (default true), ``max_retries``, ``max_wait_seconds``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from connectors.api_urls import api_url_check
from connectors.base import Connector, ConnectorError, ProgressCallback, SourceConfig, malformed_answers
from connectors.records import (
    AIModelUsageRecord,
    AISeatRecord,
    AIUsageRecord,
    CommitAIAttributionRecord,
    IdentityRecord,
    Record,
)
from connectors.vendor_http import VendorClient, VendorError

TOOL = "Cursor"
SOURCE = "cursor-api"
ATTRIBUTION_SOURCE = "cursor"
DEFAULT_API_URL = "https://api.cursor.com"
EXTRA_FIELDS = (
    "totalLinesAdded",
    "totalLinesDeleted",
    "totalApplies",
    "composerRequests",
    "agentRequests",
    "cmdkUsages",
    "subscriptionIncludedReqs",
    "apiKeyReqs",
    "usageBasedReqs",
    "bugbotUsages",
)


def _today() -> date:
    return datetime.now(UTC).date()


def _ms(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp() * 1000)


def _day_of_ms(value: Any) -> date:
    return _day_number(int(value) // 86_400_000)


@lru_cache(maxsize=4096)
def _day_number(days: int) -> date:
    """The UTC day ``days`` after 1970-01-01 (cached: a run's hundreds of thousands of events share few)."""
    return datetime.fromtimestamp(days * 86_400, tz=UTC).date()


def _n(row: dict[str, Any], key: str) -> int:
    value = row.get(key)  # decoded JSON: int, float, bool, str, None, list or dict
    if type(value) is int:
        return value
    if value is None:
        return 0
    if type(value) is not float:
        raise TypeError(f"{key} is {value!r}, not a number")
    return int(value)


def _moment(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or str(value).isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def usage_record(row: dict[str, Any], cost: float | None) -> AIUsageRecord | None:
    email = str(row.get("email") or "").strip()
    if not email:
        return None
    return AIUsageRecord(
        tool=TOOL,
        day=_day_of_ms(row["date"]),
        user=IdentityRecord(email=email),
        active=bool(row.get("isActive", True)),
        suggestions=_n(row, "totalTabsShown"),
        acceptances=_n(row, "totalTabsAccepted"),
        lines_accepted=_n(row, "acceptedLinesAdded"),
        lines_added=_n(row, "acceptedLinesAdded"),
        lines_removed=_n(row, "acceptedLinesDeleted"),
        chat_turns=_n(row, "chatRequests"),
        requests=_n(row, "chatRequests") + _n(row, "composerRequests") + _n(row, "agentRequests"),
        tool_accepts=_n(row, "totalAccepts"),
        tool_rejects=_n(row, "totalRejects"),
        cost=cost,
        extra=tuple((key, float(_n(row, key))) for key in EXTRA_FIELDS if key in row),
        source=SOURCE,
    )


def attribution_record(item: dict[str, Any]) -> CommitAIAttributionRecord:
    tab, composer = _n(item, "tabLinesAdded"), _n(item, "composerLinesAdded")
    email = str(item.get("userEmail") or "").strip()
    return CommitAIAttributionRecord(
        sha=str(item["commitHash"]),
        source=ATTRIBUTION_SOURCE,
        lines_added=_n(item, "totalLinesAdded"),
        lines_deleted=_n(item, "totalLinesDeleted"),
        ai_lines_added=tab + composer,
        repository=str(item.get("repoName") or ""),
        user=IdentityRecord(email=email) if email else None,
        committed_at=_moment(item.get("commitTs")),
        detail=(
            ("tab_lines_added", tab),
            ("composer_lines_added", composer),
            ("non_ai_lines_added", _n(item, "nonAiLinesAdded")),
            ("tab_lines_deleted", _n(item, "tabLinesDeleted")),
            ("composer_lines_deleted", _n(item, "composerLinesDeleted")),
            ("non_ai_lines_deleted", _n(item, "nonAiLinesDeleted")),
        ),
    )


class CursorConnector(Connector):
    kind = "cursor"

    def __init__(self, config: SourceConfig, progress: ProgressCallback | None = None) -> None:
        super().__init__(config, progress)
        options = config.options
        if not config.secret:
            raise ConnectorError(f"Cursor source {config.name!r}: needs an Admin API key")
        api_url = api_url_check(str(options.get("api_url") or DEFAULT_API_URL))
        since = options.get("since")
        try:
            self.since = date.fromisoformat(str(since)) if since else _today() - timedelta(days=30)
        except ValueError:
            raise ConnectorError(
                f"Cursor source {config.name!r}: since {since!r} is not YYYY-MM-DD"
            ) from None
        self.window = max(1, min(int(options.get("window_days", 7)), 30))
        self.page_size = max(1, min(int(options.get("page_size", 500)), 1000))
        self.code_tracking = bool(options.get("code_tracking", True))
        self.client = VendorClient(
            vendor="Cursor",
            base_url=api_url,
            headers={"Accept": "application/json", "User-Agent": "Sextant/cursor-usage"},
            auth=(config.secret, ""),
            max_retries=int(options.get("max_retries", 5)),
            max_wait=float(options.get("max_wait_seconds", 60)),
        )

    @property
    def counts(self) -> dict[str, int]:
        return {"api_requests": self.client.requests}

    def records(self) -> Iterator[Record]:
        for page in self.pages():
            yield from page

    def check(self) -> None:
        """One request: the team's members (the key must be an admin key of the team)."""
        self.client.call("GET", "/teams/members")

    def pages(self) -> Iterator[list[Record]]:
        yield list(malformed_answers("Cursor", self._members()))
        start = (
            date.fromisoformat(self.checkpoint["next_day"]) if self.checkpoint.get("next_day") else self.since
        )
        today = _today()
        while start <= today:
            end = min(start + timedelta(days=self.window), today + timedelta(days=1))  # exclusive
            batch = list(malformed_answers("Cursor", self._window(start, end)))
            self.checkpoint["next_day"] = min(end, today).isoformat()
            self.progress("Cursor usage days", (end - self.since).days, (today - self.since).days + 1)
            yield batch
            start = end

    def _members(self) -> Iterator[Record]:
        answer = self.client.call("GET", "/teams/members")
        members = answer["teamMembers"] if isinstance(answer, dict) else answer
        for member in members:
            email = str(member.get("email") or "").strip()
            if email:
                user = IdentityRecord(email=email, name=str(member.get("name") or ""))
                yield AISeatRecord(tool=TOOL, user=user, plan=str(member.get("role") or ""))

    def _window(self, start: date, end: date) -> Iterator[Record]:
        span = {"startDate": _ms(start), "endDate": _ms(end) - 1}
        models, costs = self._events(span)
        daily = self.client.call("POST", "/teams/daily-usage-data", body=span)
        for row in daily["data"]:
            key = (str(row.get("email") or "").strip().lower(), _day_of_ms(row["date"]))
            record = usage_record(row, costs.get(key))
            if record is not None:
                yield record
        users: dict[str, IdentityRecord] = {}
        for (email, day, model), (requests, tokens_in, tokens_out, read, write, cents) in sorted(
            models.items()
        ):
            user = users.get(email)
            if user is None:
                user = users[email] = IdentityRecord(email=email)
            yield AIModelUsageRecord(
                tool=TOOL,
                day=day,
                model=model,
                user=user,
                requests=int(requests),
                input_tokens=int(tokens_in),
                output_tokens=int(tokens_out),
                cache_read_tokens=int(read),
                cache_write_tokens=int(write),
                cost=round(cents / 100, 6),
                source=SOURCE,
            )
        if self.code_tracking:
            yield from self._commits(start, end)

    def _events(
        self, span: dict[str, int]
    ) -> tuple[dict[tuple[str, date, str], list[float]], dict[tuple[str, date], float]]:
        """Per (e-mail, day, model): [requests, input, output, cache read, cache write, cents]; and the
        cost of each (e-mail, day) in dollars."""
        models: dict[tuple[str, date, str], list[float]] = {}
        cents_of: dict[tuple[str, date], float] = {}
        page = 1
        while True:
            answer = self.client.call(
                "POST",
                "/teams/filtered-usage-events",
                body={**span, "page": page, "pageSize": self.page_size},
            )
            for event in answer["usageEvents"]:
                email = str(event.get("userEmail") or "").strip().lower()
                if not email:
                    continue
                day = _day_of_ms(event["timestamp"])
                usage = event.get("tokenUsage") or {}
                key = (email, day, str(event.get("model") or ""))
                totals = models.get(key)
                if totals is None:
                    totals = models[key] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
                totals[0] += float(event.get("requestsCosts") or 1)
                totals[1] += _n(usage, "inputTokens")
                totals[2] += _n(usage, "outputTokens")
                totals[3] += _n(usage, "cacheReadTokens")
                totals[4] += _n(usage, "cacheWriteTokens")
                cents = float(usage.get("totalCents") or 0)
                totals[5] += cents
                cents_of[(email, day)] = cents_of.get((email, day), 0.0) + cents
            if not answer["pagination"]["hasNextPage"]:
                break
            page += 1
        return models, {key: round(cents / 100, 6) for key, cents in cents_of.items()}

    def _commits(self, start: date, end: date) -> Iterator[Record]:
        page = 1
        while True:
            params = {
                "startDate": start.isoformat(),
                "endDate": (end - timedelta(days=1)).isoformat(),
                "page": page,
                "pageSize": self.page_size,
            }
            try:
                answer = self.client.call("GET", "/analytics/ai-code/commits", params=params)
            except VendorError as exc:
                if exc.status in (401, 403, 404):
                    self.code_tracking = False
                    self.problems.append(f"Cursor AI code tracking not available (Enterprise only): {exc}")
                    return
                raise
            items = answer["items"]
            for item in items:
                yield attribution_record(item)
            if not items or page * self.page_size >= int(answer.get("totalCount") or 0):
                return
            page += 1
