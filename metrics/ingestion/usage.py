"""AI-tool usage and seats: ``AIUsageRecord`` -> ``AIUsageDay``, ``AISeatRecord`` -> ``AISeat``.

Upserts on the natural keys (tool, user_key, day) and (tool, user_key), so a re-import or a re-sync
changes nothing but what changed.  ``user_key`` is the identity's key (``login:<x>`` / ``email:<x>``;
empty for an organization total) and the row is joined to the person who owns that identity, created
when new, so usage found before the person's first PR joins them when the PR arrives.
A tool name is stored as the configured ``AITool`` spells it when one matches without regard to case
(``cursor`` -> ``Cursor``), so usage, seats and spend meet on one name.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from connectors.records import (
    AIModelUsageRecord,
    AISeatRecord,
    AIUsageRecord,
    CommitAIAttributionRecord,
    IdentityRecord,
)
from metrics.core.models import AITool
from metrics.ingestion.bulk import upsert, upsert_values
from metrics.ingestion.models import AIModelUsageDay, AISeat, AIUsageDay, CommitAIAttribution
from metrics.ingestion.people import people_resolve

USAGE_FIELDS = (
    "person",
    "active",
    "active_users",
    "suggestions",
    "acceptances",
    "lines_suggested",
    "lines_accepted",
    "chat_turns",
    "cost",
    "source",
    "lines_added",
    "lines_removed",
    "sessions",
    "requests",
    "commits",
    "pull_requests",
    "tool_accepts",
    "tool_rejects",
    "input_tokens",
    "output_tokens",
    "extra",
)
SEAT_FIELDS = ("person", "assigned_at", "last_activity_at", "plan", "cancelled_at")


def tool_names(*, names: Iterable[str]) -> dict[str, str]:
    """Each given name -> the configured AITool's spelling (case-insensitive), else the name itself."""
    configured = {name.casefold(): name for name in AITool.objects.values_list("name", flat=True)}
    return {name: configured.get(name.casefold(), name)[:50] for name in names}


def _user_key(user: IdentityRecord | None) -> str:
    return user.key[:340] if user is not None else ""


def _cost(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def ai_usage_upsert(*, records: list[AIUsageRecord], people: dict[str, int] | None = None) -> int:
    """Upsert daily usage on (tool, user_key, day); within a batch the last record of a key wins."""
    if not records:
        return 0
    names = tool_names(names={r.tool for r in records})
    latest = {(names[r.tool], _user_key(r.user), r.day): r for r in records}
    if people is None:  # else the caller resolved them (one lookup for a batch's usage and model rows)
        people = people_resolve(identities=[r.user for r in latest.values() if r.user is not None])
    rows = [
        {
            "tool": tool,
            "user_key": key,
            "person_id": people.get(key) if key else None,
            "day": day,
            "active": r.active,
            "active_users": r.active_users,
            "suggestions": r.suggestions,
            "acceptances": r.acceptances,
            "lines_suggested": r.lines_suggested,
            "lines_accepted": r.lines_accepted,
            "chat_turns": r.chat_turns,
            "cost": _cost(r.cost),
            "source": (r.source or "import")[:30],
            "lines_added": r.lines_added,
            "lines_removed": r.lines_removed,
            "sessions": r.sessions,
            "requests": r.requests,
            "commits": r.commits,
            "pull_requests": r.pull_requests,
            "tool_accepts": r.tool_accepts,
            "tool_rejects": r.tool_rejects,
            "input_tokens": r.input_tokens,
            "output_tokens": r.output_tokens,
            "extra": dict(r.extra),
        }
        for (tool, key, day), r in latest.items()
    ]
    return upsert_values(AIUsageDay, rows, unique=["tool", "user_key", "day"], update=USAGE_FIELDS)


MODEL_FIELDS = (
    "person",
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost",
    "source",
)


def ai_model_usage_upsert(*, records: list[AIModelUsageRecord], people: dict[str, int] | None = None) -> int:
    """Upsert per-model days on (tool, user_key, day, model); within a batch the last record of a key wins."""
    if not records:
        return 0
    names = tool_names(names={r.tool for r in records})
    latest = {(names[r.tool], _user_key(r.user), r.day, r.model[:100]): r for r in records}
    if people is None:  # else the caller resolved them (one lookup for a batch's usage and model rows)
        people = people_resolve(identities=[r.user for r in latest.values() if r.user is not None])
    rows = [
        {
            "tool": tool,
            "user_key": key,
            "person_id": people.get(key) if key else None,
            "day": day,
            "model": model,
            "requests": r.requests,
            "input_tokens": r.input_tokens,
            "output_tokens": r.output_tokens,
            "cache_read_tokens": r.cache_read_tokens,
            "cache_write_tokens": r.cache_write_tokens,
            "cost": None
            if r.cost is None
            else Decimal(str(r.cost)).quantize(Decimal("0.0001"), ROUND_HALF_UP),
            "source": (r.source or "import")[:30],
        }
        for (tool, key, day, model), r in latest.items()
    ]
    return upsert_values(
        AIModelUsageDay, rows, unique=["tool", "user_key", "day", "model"], update=MODEL_FIELDS
    )


ATTRIBUTION_FIELDS = (
    "repository",
    "user_key",
    "committed_at",
    "lines_added",
    "lines_deleted",
    "ai_lines_added",
    "detail",
)


def commit_attributions_upsert(*, records: list[CommitAIAttributionRecord]) -> int:
    """Upsert line-level AI attribution on (sha, source); the tool's author identity is resolved too, so
    an unmatched tool identity shows on the identities page."""
    if not records:
        return 0
    latest = {(r.sha.lower()[:64], r.source[:30]): r for r in records}
    people_resolve(identities=[r.user for r in latest.values() if r.user is not None])
    rows = [
        {
            "sha": sha,
            "source": source,
            "repository": r.repository[:300],
            "user_key": _user_key(r.user),
            "committed_at": r.committed_at,
            "lines_added": max(0, r.lines_added),
            "lines_deleted": r.lines_deleted,
            "ai_lines_added": min(max(0, r.ai_lines_added), max(0, r.lines_added)),
            "detail": dict(r.detail),
        }
        for (sha, source), r in latest.items()
    ]
    return upsert_values(CommitAIAttribution, rows, unique=["sha", "source"], update=ATTRIBUTION_FIELDS)


def ai_seats_upsert(*, records: list[AISeatRecord]) -> int:
    """Upsert seat assignments on (tool, user_key); within a batch the last record of a key wins."""
    if not records:
        return 0
    names = tool_names(names={r.tool for r in records})
    latest = {(names[r.tool], _user_key(r.user)): r for r in records}
    people = people_resolve(identities=[r.user for r in latest.values()])
    rows = [
        AISeat(
            tool=tool,
            user_key=key,
            person_id=people.get(key),
            assigned_at=r.assigned_at,
            last_activity_at=r.last_activity_at,
            plan=r.plan[:50],
            cancelled_at=r.cancelled_at,
        )
        for (tool, key), r in latest.items()
    ]
    return upsert(AISeat, rows, unique=["tool", "user_key"], update=SEAT_FIELDS)
