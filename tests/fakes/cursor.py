"""A fake Cursor Admin API and AI Code Tracking API, on ``tests/fakes/server.py`` (127.0.0.1).

Shapes from https://docs.cursor.com/account/teams/admin-api and
https://cursor.com/docs/account/teams/ai-code-tracking-api.md; Basic authentication with the API key as
the user name and an empty password (else 401 ``{"error": "Unauthorized"}``):

* ``GET /teams/members`` -> ``{"teamMembers": [{"name", "email", "role"}]}``;
* ``POST /teams/daily-usage-data`` with ``{"startDate": ms, "endDate": ms}`` (at most 90 days) ->
  ``{"data": [row...], "period": {"startDate", "endDate"}}``; a row holds ``date`` (ms), ``email``,
  ``isActive``, totalLinesAdded/Deleted, acceptedLinesAdded/Deleted, totalApplies/Accepts/Rejects,
  totalTabsShown/Accepted, composer/chat/agentRequests, cmdkUsages, subscriptionIncludedReqs, apiKeyReqs,
  usageBasedReqs, bugbotUsages, mostUsedModel, ...;
* ``POST /teams/filtered-usage-events`` with ``{startDate, endDate, page, pageSize}`` ->
  ``{"totalUsageEventsCount", "pagination": {numPages, currentPage, pageSize, hasNextPage, hasPreviousPage},
  "usageEvents": [{timestamp (ms, a string), model, kindLabel, maxMode, requestsCosts, isTokenBasedCall,
  tokenUsage: {inputTokens, outputTokens, cacheWriteTokens, cacheReadTokens, totalCents}, userEmail}],
  "period"}``;
* ``GET /analytics/ai-code/commits?startDate&endDate&page&pageSize`` (Enterprise; ``code_tracking=False``
  answers 403) -> ``{"items": [{commitHash, userId, userEmail, repoName, branchName, isPrimaryBranch,
  totalLinesAdded, totalLinesDeleted, tabLinesAdded, tabLinesDeleted, composerLinesAdded,
  composerLinesDeleted, nonAiLinesAdded, nonAiLinesDeleted, message, commitTs, createdAt}], "totalCount",
  "page", "pageSize"}``.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Any

from tests.fakes.server import FakeApiServer, FakeRequest, FakeResponse

KEY = "key_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


def ms(day: date, hour: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp() * 1000)


def usage_row(day: date, email: str, **counts: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "date": ms(day),
        "email": email,
        "isActive": True,
        "totalLinesAdded": 0,
        "totalLinesDeleted": 0,
        "acceptedLinesAdded": 0,
        "acceptedLinesDeleted": 0,
        "totalApplies": 0,
        "totalAccepts": 0,
        "totalRejects": 0,
        "totalTabsShown": 0,
        "totalTabsAccepted": 0,
        "composerRequests": 0,
        "chatRequests": 0,
        "agentRequests": 0,
        "cmdkUsages": 0,
        "subscriptionIncludedReqs": 0,
        "apiKeyReqs": 0,
        "usageBasedReqs": 0,
        "bugbotUsages": 0,
        "mostUsedModel": "claude-4-sonnet",
        "applyMostUsedExtension": "ts",
        "tabMostUsedExtension": "ts",
        "clientVersion": "1.5.5",
    }
    row.update(counts)
    return row


def event(
    day: date, hour: int, email: str, model: str, tokens: tuple[int, int, int, int], cents: float
) -> dict:
    inp, out, cache_write, cache_read = tokens
    return {
        "timestamp": str(ms(day, hour)),
        "model": model,
        "kindLabel": "Usage-based",
        "maxMode": False,
        "requestsCosts": 1,
        "isTokenBasedCall": True,
        "tokenUsage": {
            "inputTokens": inp,
            "outputTokens": out,
            "cacheWriteTokens": cache_write,
            "cacheReadTokens": cache_read,
            "totalCents": cents,
        },
        "isFreeBugbot": False,
        "userEmail": email,
    }


def commit(sha: str, day: date, email: str, repo: str, *, tab: int, composer: int, human: int) -> dict:
    return {
        "commitHash": sha,
        "userId": "user_" + email.split("@")[0],
        "userEmail": email,
        "repoName": repo,
        "branchName": "main",
        "isPrimaryBranch": True,
        "totalLinesAdded": tab + composer + human,
        "totalLinesDeleted": 3,
        "tabLinesAdded": tab,
        "tabLinesDeleted": 1,
        "composerLinesAdded": composer,
        "composerLinesDeleted": 1,
        "nonAiLinesAdded": human,
        "nonAiLinesDeleted": 1,
        "message": "change",
        "commitTs": datetime(day.year, day.month, day.day, 12, tzinfo=UTC).isoformat().replace("+00:00", "Z"),
        "createdAt": datetime(day.year, day.month, day.day, 12, 5, tzinfo=UTC)
        .isoformat()
        .replace("+00:00", "Z"),
    }


class FakeCursor:
    def __init__(self, server: FakeApiServer, key: str = KEY) -> None:
        self.server = server
        self.key = key
        self.members: list[dict[str, str]] = []
        self.usage: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.commits: list[dict[str, Any]] = []
        self.code_tracking = True
        server.route("GET", "/teams/members")(self._guarded(self._members))
        server.route("POST", "/teams/daily-usage-data")(self._guarded(self._daily))
        server.route("POST", "/teams/filtered-usage-events")(self._guarded(self._events))
        server.route("GET", "/analytics/ai-code/commits")(self._guarded(self._commits))

    @property
    def url(self) -> str:
        return self.server.url

    def usage_rows(self, start: int, end: int) -> list[dict[str, Any]]:
        """Daily usage rows between two epoch-ms moments (the benchmark generates its own)."""
        return [r for r in self.usage if start <= r["date"] <= end]

    def event_rows(self, start: int, end: int) -> list[dict[str, Any]]:
        return [e for e in self.events if start <= int(e["timestamp"]) <= end]

    def _guarded(self, handler: Any) -> Any:
        def answer(request: FakeRequest) -> FakeResponse:
            expected = "Basic " + base64.b64encode(f"{self.key}:".encode()).decode()
            if request.header("authorization") != expected:
                return FakeResponse(401, {"error": "Unauthorized"})
            return handler(request)

        return answer

    def _members(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(200, {"teamMembers": self.members})

    def _daily(self, request: FakeRequest) -> FakeResponse:
        body = request.json()
        start, end = int(body["startDate"]), int(body["endDate"])
        if end < start or end - start > 90 * 86_400_000:
            return FakeResponse(400, {"error": "Date range cannot exceed 90 days"})
        rows = self.usage_rows(start, end)
        return FakeResponse(200, {"data": rows, "period": {"startDate": start, "endDate": end}})

    def _events(self, request: FakeRequest) -> FakeResponse:
        body = request.json()
        start, end = int(body["startDate"]), int(body["endDate"])
        page, size = int(body.get("page", 1)), int(body.get("pageSize", 10))
        rows = self.event_rows(start, end)
        pages = max(1, -(-len(rows) // size))
        return FakeResponse(
            200,
            {
                "totalUsageEventsCount": len(rows),
                "pagination": {
                    "numPages": pages,
                    "currentPage": page,
                    "pageSize": size,
                    "hasNextPage": page < pages,
                    "hasPreviousPage": page > 1,
                },
                "usageEvents": rows[(page - 1) * size : page * size],
                "period": {"startDate": start, "endDate": end},
            },
        )

    def _commits(self, request: FakeRequest) -> FakeResponse:
        if not self.code_tracking:
            return FakeResponse(403, {"error": "AI code tracking is available on Enterprise plans"})
        start = date.fromisoformat(request.param("startDate") or "1970-01-01")
        end = date.fromisoformat(request.param("endDate") or "2999-01-01")
        page, size = int(request.param("page") or 1), int(request.param("pageSize") or 100)
        rows = [c for c in self.commits if start <= date.fromisoformat(c["commitTs"][:10]) <= end]
        return FakeResponse(
            200,
            {
                "items": rows[(page - 1) * size : page * size],
                "totalCount": len(rows),
                "page": page,
                "pageSize": size,
            },
        )
