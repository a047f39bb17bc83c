"""AI-tool usage and seats: ``AIUsageRecord`` -> ``AIUsageDay``, ``AISeatRecord`` -> ``AISeat``.

Upserts on the natural keys (tool, user_key, day) and (tool, user_key), so a re-import or a re-sync
changes nothing but what changed.  ``user_key`` is the identity's key (``login:<x>`` / ``email:<x>``;
empty for an organization total) and the row is joined to the person who owns that identity, created
when new, so usage found before the person's first PR joins them when the PR arrives.
A tool name is stored as the configured ``AITool`` spells it when one matches without regard to case
(``cursor`` -> ``Cursor``), so usage, seats and spend meet on one name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from operator import itemgetter
from typing import Any

from connectors.records import (
    AIModelUsageRecord,
    AISeatRecord,
    AIUsageRecord,
    CommitAIAttributionRecord,
    IdentityRecord,
)
from metrics.core.models import AITool
from metrics.ingestion.bulk import upsert, upsert_rows, upsert_values
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


@lru_cache(maxsize=4096)
def _cents(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@lru_cache(maxsize=4096)
def _hundredths_of_cents(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _people(
    records: list[AIUsageRecord] | list[AIModelUsageRecord], people: dict[str, int] | None
) -> dict[str, int]:
    if people is not None:  # the caller resolved them (one lookup for a batch's usage and model rows)
        return people
    return people_resolve(identities=[r.user for r in records if r.user is not None])


def _keyed(records: list[AIUsageRecord] | list[AIModelUsageRecord]) -> Iterable[tuple[str, str, object]]:
    """(tool as given, user_key, record) of each record; one ``key`` computation per identity object (found
    by ``id``, which costs no hashing of its fields: the list holds the records, so no id is reused)."""
    keys: dict[int, str] = {}
    for r in records:
        user = r.user
        key = keys.get(id(user))
        if key is None:
            key = keys[id(user)] = _user_key(user)
        yield r.tool, key, r


def _latest(
    records: list[Any], people: dict[str, int] | None, rest: Callable[[Any], tuple[Any, ...]]
) -> tuple[dict[tuple[Any, ...], Any], dict[str, int]]:
    """The last record of each key (tool's stored name, user_key, *rest) in a batch, and the people of the
    batch's identities (resolved here unless the caller did)."""
    names = tool_names(names={r.tool for r in records})
    latest = {(names[tool], key, *rest(r)): r for tool, key, r in _keyed(records)}
    return latest, _people(list(latest.values()), people)


USAGE_COLUMNS = (
    "tool",
    "user_key",
    "day",
    *(f"{name}_id" if name == "person" else name for name in USAGE_FIELDS),
)


def ai_usage_upsert(*, records: list[AIUsageRecord], people: dict[str, int] | None = None) -> int:
    """Upsert daily usage on (tool, user_key, day); within a batch the last record of a key wins.  Rows are
    written in key order (neighbouring index entries: far fewer pages touched in a large batch)."""
    if not records:
        return 0
    latest, people = _latest(records, people, lambda r: (r.day,))
    rows = [
        (
            tool,
            key,
            day,
            people.get(key) if key else None,
            r.active,
            r.active_users,
            r.suggestions,
            r.acceptances,
            r.lines_suggested,
            r.lines_accepted,
            r.chat_turns,
            None if r.cost is None else _cents(r.cost),
            (r.source or "import")[:30],
            r.lines_added,
            r.lines_removed,
            r.sessions,
            r.requests,
            r.commits,
            r.pull_requests,
            r.tool_accepts,
            r.tool_rejects,
            r.input_tokens,
            r.output_tokens,
            dict(r.extra),
        )
        for (tool, key, day), r in sorted(latest.items(), key=itemgetter(0))
    ]
    return upsert_rows(
        AIUsageDay, USAGE_COLUMNS, rows, unique=["tool", "user_key", "day"], update=USAGE_FIELDS
    )


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
MODEL_COLUMNS = (
    "tool",
    "user_key",
    "day",
    "model",
    "person_id",
    *MODEL_FIELDS[1:],
)


def ai_model_usage_upsert(*, records: list[AIModelUsageRecord], people: dict[str, int] | None = None) -> int:
    """Upsert per-model days on (tool, user_key, day, model); within a batch the last record of a key wins."""
    if not records:
        return 0
    latest, people = _latest(records, people, lambda r: (r.day, r.model[:100]))
    rows = [
        (
            tool,
            key,
            day,
            model,
            people.get(key) if key else None,
            r.requests,
            r.input_tokens,
            r.output_tokens,
            r.cache_read_tokens,
            r.cache_write_tokens,
            None if r.cost is None else _hundredths_of_cents(r.cost),
            (r.source or "import")[:30],
        )
        for (tool, key, day, model), r in sorted(latest.items(), key=itemgetter(0))
    ]
    return upsert_rows(
        AIModelUsageDay,
        MODEL_COLUMNS,
        rows,
        unique=["tool", "user_key", "day", "model"],
        update=MODEL_FIELDS,
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
