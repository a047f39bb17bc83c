"""Claude Code usage of one Anthropic organization, from the Admin API's Claude Code usage report.

``GET /v1/organizations/usage_report/claude_code`` (Claude Code Analytics API; reference:
https://platform.claude.com/docs/en/api/admin/usage_report) with an Admin API key (``sk-ant-admin...``) in
``x-api-key`` and ``anthropic-version: 2023-06-01``.  ``starting_at`` is one UTC day (YYYY-MM-DD); each
record is one actor's activity on that day; pages of ``limit`` (max 1000) follow ``next_page`` while
``has_more``.

Options: ``api_url`` (default ``https://api.anthropic.com``), ``since`` (first day on a first run; default
30 days ago), ``page_size`` (default 1000), ``max_retries``, ``max_wait_seconds``; ``checkpoint``.

A run reads every day after the checkpoint's ``last_day`` through today; a day is stored whole (one page of
records, the checkpoint in the same transaction), because one actor may have several records a day
(terminal types, customer types) that add up to one ``AIUsageDay``.  Today is read but not checkpointed:
its numbers still grow, and the next run reads it again (the upsert replaces them).

Mapping of a record: ``sessions`` = core_metrics.num_sessions, ``lines_added``/``lines_removed`` =
core_metrics.lines_of_code, ``commits`` = commits_by_claude_code, ``pull_requests`` =
pull_requests_by_claude_code, ``tool_accepts``/``tool_rejects`` = the sums over tool_actions (each tool's
own counts in ``extra``), tokens and ``cost`` = the sums over model_breakdown (estimated_cost.amount is in
cents), one ``AIModelUsageRecord`` per model.  An API-key actor is kept as the login ``api-key/<name>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.api_urls import api_url_check
from connectors.base import Connector, ConnectorError, ProgressCallback, SourceConfig, malformed_answers
from connectors.records import AIModelUsageRecord, AIUsageRecord, IdentityRecord, Record
from connectors.vendor_http import VendorClient

TOOL = "Claude Code"
SOURCE = "claude-code-api"
PATH = "/v1/organizations/usage_report/claude_code"
DEFAULT_API_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
TOKEN_KEYS = ("input", "output", "cache_read", "cache_creation")  # a model's tokens, in _Day's order


def _today() -> date:
    return datetime.now(UTC).date()


def actor_identity(actor: dict[str, Any]) -> IdentityRecord:
    if actor["type"] == "user_actor":
        return IdentityRecord(email=str(actor["email_address"]).strip())
    return IdentityRecord(login=f"api-key/{actor['api_key_name']}", name=f"API key {actor['api_key_name']}")


def _n(value: Any) -> int:
    kind = type(value)
    if kind is int:
        return value
    if value is None:
        return 0
    if kind is not float:
        raise TypeError(f"expected a number, got {value!r}")
    return int(value)


class _Day:
    """One actor's records of one day, added up (plain lists: this runs for every record)."""

    __slots__ = ("core", "models", "tools")

    def __init__(self) -> None:
        self.core = [0, 0, 0, 0, 0]  # sessions, commits, pull requests, lines added, lines removed
        self.tools: dict[str, list[int]] = {}  # tool -> [accepted, rejected]
        self.models: dict[
            str, list[float]
        ] = {}  # model -> [input, output, cache read, cache creation, cents]

    def add(self, row: dict[str, Any]) -> None:
        # ``v if type(v) is int else _n(v)``: _n's answer without a call for the usual integer.
        core, counts = row["core_metrics"], self.core
        lines = core["lines_of_code"]
        for i, v in enumerate(
            (
                core["num_sessions"],
                core["commits_by_claude_code"],
                core["pull_requests_by_claude_code"],
                lines["added"],
                lines["removed"],
            )
        ):
            counts[i] += v if type(v) is int else _n(v)
        tools = self.tools
        for tool, actions in (row.get("tool_actions") or {}).items():
            totals = tools.get(tool)
            if totals is None:
                totals = tools[tool] = [0, 0]
            accepted, rejected = actions.get("accepted"), actions.get("rejected")
            totals[0] += accepted if type(accepted) is int else _n(accepted)
            totals[1] += rejected if type(rejected) is int else _n(rejected)
        models = self.models
        for item in row.get("model_breakdown") or []:
            tokens, name = item["tokens"], str(item["model"])
            model = models.get(name)
            if model is None:
                model = models[name] = [0.0, 0.0, 0.0, 0.0, 0.0]
            for i, key in enumerate(TOKEN_KEYS):
                v = tokens.get(key)
                model[i] += v if type(v) is int else _n(v)
            model[4] += float(item["estimated_cost"]["amount"])

    def records(self, day: date, user: IdentityRecord) -> list[Record]:
        extra: list[tuple[str, float]] = []
        accepts = rejects = 0
        for tool, (a, r) in self.tools.items():
            extra.append((f"{tool}.accepted", float(a)))
            extra.append((f"{tool}.rejected", float(r)))
            accepts += a
            rejects += r
        extra.sort()
        models = list(self.models.values())
        sessions, commits, prs, added, removed = self.core
        usage = AIUsageRecord(
            tool=TOOL,
            day=day,
            user=user,
            active=True,
            sessions=sessions,
            lines_added=added,
            lines_removed=removed,
            lines_accepted=added,
            commits=commits,
            pull_requests=prs,
            tool_accepts=accepts,
            tool_rejects=rejects,
            input_tokens=int(sum(m[0] for m in models)),
            output_tokens=int(sum(m[1] for m in models)),
            cost=round(sum(m[4] for m in models) / 100, 6),
            extra=tuple(extra),
            source=SOURCE,
        )
        if not models:
            return [usage]
        return [
            usage,
            *(
                AIModelUsageRecord(
                    tool=TOOL,
                    day=day,
                    model=name,
                    user=user,
                    input_tokens=int(m[0]),
                    output_tokens=int(m[1]),
                    cache_read_tokens=int(m[2]),
                    cache_write_tokens=int(m[3]),
                    cost=round(m[4] / 100, 6),
                    source=SOURCE,
                )
                for name, m in sorted(self.models.items())
            ),
        ]


class ClaudeCodeConnector(Connector):
    kind = "claude_code"

    def __init__(self, config: SourceConfig, progress: ProgressCallback | None = None) -> None:
        super().__init__(config, progress)
        options = config.options
        if not config.secret:
            raise ConnectorError(
                f"Claude Code source {config.name!r}: needs an Admin API key (sk-ant-admin...)"
            )
        api_url = api_url_check(str(options.get("api_url") or DEFAULT_API_URL))
        self.page_size = max(1, min(int(options.get("page_size", 1000)), 1000))
        since = options.get("since")
        try:
            self.since = date.fromisoformat(str(since)) if since else _today() - timedelta(days=30)
        except ValueError:
            raise ConnectorError(
                f"Claude Code source {config.name!r}: since {since!r} is not YYYY-MM-DD"
            ) from None
        self.client = VendorClient(
            vendor="Anthropic",
            base_url=api_url,
            headers={
                "x-api-key": config.secret,
                "anthropic-version": ANTHROPIC_VERSION,
                "User-Agent": "Sextant/claude-code-usage",
            },
            max_retries=int(options.get("max_retries", 5)),
            max_wait=float(options.get("max_wait_seconds", 60)),
        )

    @property
    def counts(self) -> dict[str, int]:
        return {"api_requests": self.client.requests}

    def check(self) -> None:
        """One request: yesterday's first record (the key must be an Admin API key)."""
        day = (_today() - timedelta(days=1)).isoformat()
        self.client.call("GET", PATH, params={"starting_at": day, "limit": 1})

    def records(self) -> Iterator[Record]:
        for page in self.pages():
            yield from page

    def pages(self) -> Iterator[list[Record]]:
        last = self.checkpoint.get("last_day")
        day = date.fromisoformat(last) + timedelta(days=1) if last else self.since
        today = _today()
        while day <= today:
            batch = list(malformed_answers("Anthropic", self._day(day)))
            if day < today:
                self.checkpoint["last_day"] = day.isoformat()
            self.progress(
                "Claude Code usage days", (day - self.since).days + 1, (today - self.since).days + 1
            )
            yield batch
            day += timedelta(days=1)

    def _day(self, day: date) -> Iterator[Record]:
        actors: dict[str, tuple[IdentityRecord, _Day]] = {}
        page: str | None = None
        while True:
            params: dict[str, Any] = {"starting_at": day.isoformat(), "limit": self.page_size}
            if page:
                params["page"] = page
            answer = self.client.call("GET", PATH, params=params)
            for row in answer["data"]:
                user = actor_identity(row["actor"])
                actors.setdefault(user.key, (user, _Day()))[1].add(row)
            if not answer.get("has_more"):
                break
            page = answer.get("next_page")
            if not page:
                raise KeyError("next_page")
        for _key, (user, totals) in sorted(actors.items()):
            yield from totals.records(day, user)
