"""GitHub Copilot usage payloads as Sextant records: pure functions over the API's JSON (no network).

Three shapes (samples in ``../shared/data/copilot``):

* the usage metrics **report files** behind ``download_links`` (``organization-1-day``,
  ``organization-28-day``, ``users-1-day``, ``users-28-day``, ``user-teams-1-day``): NDJSON, one row per
  line, or one JSON document holding the rows under ``day_totals``; both are read;
* the older ``GET /orgs/{org}/copilot/metrics`` list of daily objects (completions and chat per editor,
  model and language), kept for installations and histories that still have it;
* ``GET /orgs/{org}/copilot/billing/seats`` seat assignments.

Field mapping of a report row to ``AIUsageRecord``: ``suggestions`` = code_generation_activity_count,
``acceptances`` = code_acceptance_activity_count, ``lines_suggested`` = loc_suggested_to_add_sum,
``lines_accepted`` = loc_added_sum, ``chat_turns`` = user_initiated_interaction_count; organization rows
carry ``active_users`` = daily_active_users.  A user row is ``active`` when it shows any interaction,
generation, acceptance or any ``used_*`` feature flag.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from connectors import timebounds
from connectors.base import ConnectorError
from connectors.records import AISeatRecord, AIUsageRecord, IdentityRecord, TeamMembershipRecord

TOOL = "GitHub Copilot"
REPORTS_SOURCE = "copilot-reports"
LEGACY_SOURCE = "copilot-metrics"


def report_rows(text: str, where: str) -> list[dict[str, Any]]:
    """The rows of a report file: NDJSON (a row, or a ``day_totals`` document, per line) or one JSON
    document; ``where`` names the file in errors (never with its signed query string)."""
    try:
        return _rows(json.loads(text))
    except RecursionError:
        raise ConnectorError(f"Copilot report {where}: JSON nested too deeply", permanent=False) from None
    except ValueError:  # not one document (JSONDecodeError): NDJSON, read line by line below
        pass
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows += _rows(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ConnectorError(
                f"Copilot report {where}, line {number}: not JSON ({exc.msg})", permanent=False
            ) from None
        except (RecursionError, ValueError):
            raise ConnectorError(
                f"Copilot report {where}, line {number}: JSON nested too deeply or a number too long",
                permanent=False,
            ) from None
    return rows


def _rows(document: object) -> list[dict[str, Any]]:
    if isinstance(document, dict) and isinstance(document.get("day_totals"), list):
        return [row for row in document["day_totals"] if isinstance(row, dict)]
    if isinstance(document, list):
        return [row for row in document if isinstance(row, dict)]
    return [document] if isinstance(document, dict) else []


def _int(row: dict[str, Any], key: str) -> int | None:
    value = row.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _day(row: dict[str, Any], key: str = "day") -> date:
    try:
        day = date.fromisoformat(str(row[key]))
    except (KeyError, ValueError):
        raise ConnectorError(
            f"Copilot report row without a valid {key!r}: {str(row)[:120]}", permanent=False
        ) from None
    why = timebounds.out_of_range(datetime.combine(day, datetime.min.time(), tzinfo=UTC))
    if why is not None:  # year 9999 would be stored, then stop every recompute
        raise ConnectorError(f"Copilot report row with an impossible {key!r}: {why}", permanent=False)
    return day


def _counts(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "suggestions": _int(row, "code_generation_activity_count"),
        "acceptances": _int(row, "code_acceptance_activity_count"),
        "lines_suggested": _int(row, "loc_suggested_to_add_sum"),
        "lines_accepted": _int(row, "loc_added_sum"),
        "chat_turns": _int(row, "user_initiated_interaction_count"),
    }


def _pull_requests(row: dict[str, Any]) -> dict[str, Any]:
    """The report's ``pull_requests`` object (PRs created, reviewed and merged, by Copilot and in all, and
    the median minutes to merge where the report has them): PRs created by Copilot as ``pull_requests``,
    every number in ``extra`` as ``pr.<field>``, and the lines added/deleted sums."""
    found = row.get("pull_requests")
    prs: dict[str, Any] = found if isinstance(found, dict) else {}
    extra = tuple(
        sorted(
            (f"pr.{key}", float(value))
            for key, value in prs.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        )
    )
    return {
        "pull_requests": _int(prs, "total_created_by_copilot"),
        "lines_added": _int(row, "loc_added_sum"),
        "lines_removed": _int(row, "loc_deleted_sum"),
        "extra": extra,
    }


def organization_usage(row: dict[str, Any]) -> AIUsageRecord:
    active_users = _int(row, "daily_active_users")
    return AIUsageRecord(
        tool=TOOL,
        day=_day(row),
        user=None,
        active=bool(active_users),
        active_users=active_users,
        source=REPORTS_SOURCE,
        **_counts(row),
        **_pull_requests(row),
    )


def user_usage(row: dict[str, Any]) -> AIUsageRecord | None:
    login = str(row.get("user_login") or "").strip()
    if not login:
        return None
    counts = _counts(row)
    used = any(value is True for key, value in row.items() if key.startswith("used_"))
    active = used or any(counts[key] for key in ("suggestions", "acceptances", "chat_turns"))
    return AIUsageRecord(
        tool=TOOL,
        day=_day(row),
        user=IdentityRecord(login=login),
        active=active,
        source=REPORTS_SOURCE,
        **counts,
        **_pull_requests(row),
    )


def team_memberships(rows: Iterable[dict[str, Any]]) -> list[TeamMembershipRecord]:
    """``user-teams-1-day`` rows (user_login, team slug): one membership per (team, user)."""
    found: dict[tuple[str, str], TeamMembershipRecord] = {}
    for row in rows:
        login, team = str(row.get("user_login") or ""), str(row.get("team_name") or row.get("slug") or "")
        if login and team:
            found.setdefault(
                (team, login.lower()),
                TeamMembershipRecord(team=team, identities=(IdentityRecord(login=login),)),
            )
    return list(found.values())


def _sum(items: Iterable[dict[str, Any]], key: str) -> int:
    return sum(int(item.get(key) or 0) for item in items)


def legacy_usage(day: dict[str, Any]) -> AIUsageRecord:
    """One day of the older ``/copilot/metrics``: totals over editors, models and languages."""
    completions = day.get("copilot_ide_code_completions") or {}
    languages = [
        language
        for editor in completions.get("editors") or []
        for model in editor.get("models") or []
        for language in model.get("languages") or []
    ]
    ide_chat, dotcom_chat = day.get("copilot_ide_chat") or {}, day.get("copilot_dotcom_chat") or {}
    chats = [model for editor in ide_chat.get("editors") or [] for model in editor.get("models") or []]
    chats += list(dotcom_chat.get("models") or [])
    active_users = _int(day, "total_active_users")
    return AIUsageRecord(
        tool=TOOL,
        day=_day(day, "date"),
        user=None,
        active=bool(active_users),
        active_users=active_users,
        suggestions=_sum(languages, "total_code_suggestions"),
        acceptances=_sum(languages, "total_code_acceptances"),
        lines_suggested=_sum(languages, "total_code_lines_suggested"),
        lines_accepted=_sum(languages, "total_code_lines_accepted"),
        chat_turns=_sum(chats, "total_chats"),
        source=LEGACY_SOURCE,
    )


def _timestamp(value: object) -> datetime | None:
    """A seat's moment; one that cannot be true (before 1970, after 2999) is unknown.  A cancellation
    may lie ahead (pending), so the range is that of planned dates."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:  # pending_cancellation_date is a date: the seat ends at its start (UTC)
            moment = datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return None if timebounds.out_of_range(moment, planned=True) else moment


def seat(item: dict[str, Any]) -> AISeatRecord | None:
    assignee = item.get("assignee") or {}
    login = str(assignee.get("login") or "")
    if not login or assignee.get("type", "User") != "User":
        return None
    return AISeatRecord(
        tool=TOOL,
        user=IdentityRecord(login=login),
        assigned_at=_timestamp(item.get("created_at")),
        last_activity_at=_timestamp(item.get("last_activity_at")),
        plan=str(item.get("plan_type") or ""),
        cancelled_at=_timestamp(item.get("pending_cancellation_date")),
    )
