"""A fake Anthropic Admin API serving the Claude Code usage report, on ``tests/fakes/server.py`` (127.0.0.1).

Shapes from the API reference (https://platform.claude.com/docs/en/api/admin/usage_report, "Get Claude Code
Usage Report"): ``GET /v1/organizations/usage_report/claude_code?starting_at=YYYY-MM-DD&limit=N&page=C``
answers ``{"data": [record...], "has_more": bool, "next_page": cursor|null}``; each record has ``date``,
``actor`` (``user_actor`` with ``email_address`` or ``api_actor`` with ``api_key_name``),
``organization_id``, ``customer_type``, ``terminal_type``, ``core_metrics`` (num_sessions,
lines_of_code{added, removed}, commits_by_claude_code, pull_requests_by_claude_code), ``tool_actions``
({edit_tool, multi_edit_tool, write_tool, notebook_edit_tool}: {accepted, rejected}) and ``model_breakdown``
([{model, tokens{input, output, cache_read, cache_creation}, estimated_cost{currency, amount (cents)}}]).
``limit`` defaults to 20, at most 1000; ``next_page`` is an opaque cursor.  Authentication: ``x-api-key``
with an admin key and an ``anthropic-version`` header, else 401 ``authentication_error``.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

from tests.fakes.server import FakeApiServer, FakeRequest, FakeResponse

PATH = "/v1/organizations/usage_report/claude_code"
KEY = "sk-ant-admin01-test-key-000"
TOOLS = ("edit_tool", "multi_edit_tool", "write_tool", "notebook_edit_tool")


def record(
    day: date,
    email: str | None,
    *,
    sessions: int,
    added: int,
    removed: int,
    commits: int = 0,
    prs: int = 0,
    accepted: int = 0,
    rejected: int = 0,
    models: tuple[tuple[str, int, int, int, int, float], ...] = (),
    terminal: str = "vscode",
    api_key: str = "",
) -> dict[str, Any]:
    """One documented record; ``models``: (model, input, output, cache_read, cache_creation, cents)."""
    actor = (
        {"type": "api_actor", "api_key_name": api_key}
        if api_key
        else {"type": "user_actor", "email_address": email}
    )
    return {
        "date": day.isoformat(),
        "actor": actor,
        "organization_id": "dc9f6c26-b22c-4831-8d01-0446bada88f1",
        "customer_type": "api",
        "terminal_type": terminal,
        "core_metrics": {
            "num_sessions": sessions,
            "lines_of_code": {"added": added, "removed": removed},
            "commits_by_claude_code": commits,
            "pull_requests_by_claude_code": prs,
        },
        "tool_actions": {
            "edit_tool": {"accepted": accepted, "rejected": rejected},
            "multi_edit_tool": {"accepted": 0, "rejected": 0},
            "write_tool": {"accepted": 1 if accepted else 0, "rejected": 0},
            "notebook_edit_tool": {"accepted": 0, "rejected": 0},
        },
        "model_breakdown": [
            {
                "model": name,
                "tokens": {"input": i, "output": o, "cache_read": cr, "cache_creation": cc},
                "estimated_cost": {"currency": "USD", "amount": cents},
            }
            for name, i, o, cr, cc, cents in models
        ],
    }


class FakeAnthropic:
    def __init__(self, server: FakeApiServer, key: str = KEY) -> None:
        self.server = server
        self.key = key
        self.days: dict[str, list[dict[str, Any]]] = {}
        server.route("GET", PATH)(self._report)

    @property
    def url(self) -> str:
        return self.server.url

    def rows_of(self, day: str) -> list[dict[str, Any]]:
        """The records of one day (the benchmark replaces this with generated ones)."""
        return self.days.get(day, [])

    def add(self, *records: dict[str, Any]) -> None:
        for item in records:
            self.days.setdefault(item["date"], []).append(item)

    def _report(self, request: FakeRequest) -> FakeResponse:
        if request.header("x-api-key") != self.key or not request.header("anthropic-version"):
            error = {"type": "authentication_error", "message": "invalid x-api-key"}
            return FakeResponse(401, {"type": "error", "error": error})
        day = request.param("starting_at") or ""
        try:
            date.fromisoformat(day)
        except ValueError:
            error = {"type": "invalid_request_error", "message": "starting_at: expected YYYY-MM-DD"}
            return FakeResponse(400, {"type": "error", "error": error})
        limit = int(request.param("limit") or 20)
        if not 1 <= limit <= 1000:
            error = {"type": "invalid_request_error", "message": "limit: must be between 1 and 1000"}
            return FakeResponse(400, {"type": "error", "error": error})
        cursor = request.param("page")
        offset = int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor else 0
        rows = self.rows_of(day)
        page = rows[offset : offset + limit]
        more = offset + limit < len(rows)
        next_page = base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if more else None
        return FakeResponse(200, {"data": page, "has_more": more, "next_page": next_page})
