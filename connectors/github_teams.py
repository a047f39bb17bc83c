"""Organization teams and their members through REST with ETags (unchanged lists answer 304, free).

Each list page's ETag and items are kept in the checkpoint, so a re-read of unchanged teams costs only
304s, and a member who left a team since the last read gets an ``end`` on the membership.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from connectors.base import ConnectorError
from connectors.github_client import GitHubApi
from connectors.records import IdentityRecord, TeamMembershipRecord

NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class UnreadableError(Exception):
    """A list the token may not read (403) or that is gone (404)."""


def next_link(header: str | None) -> str | None:
    match = NEXT_LINK.search(header or "")
    return match.group(1) if match else None


def _team(item: dict[str, Any]) -> dict[str, Any]:
    parent = item.get("parent") or {}
    return {
        "slug": str(item["slug"]),
        "name": str(item.get("name") or item["slug"]),
        "parent": str(parent.get("name") or ""),
    }


def _member(item: dict[str, Any]) -> dict[str, Any]:
    return {"login": str(item["login"])}


class TeamReader:
    """Reads the teams of ``org``; ``lists`` are the cached pages of the last read (from the checkpoint)."""

    def __init__(self, api: GitHubApi, org: str, lists: dict[str, Any]) -> None:
        self.api = api
        self.org = org
        self.old = lists
        self.lists: dict[str, Any] = {}

    def memberships(self, *, now: datetime) -> tuple[list[TeamMembershipRecord], str]:
        """Membership records of the teams whose member list changed, and a problem text (or "")."""
        try:
            teams, teams_changed = self._list(f"/orgs/{self.org}/teams", "teams", _team)
        except UnreadableError as exc:
            return [], f"teams of {self.org}: not read ({exc}); the token needs the read:org scope"
        records: list[TeamMembershipRecord] = []
        for team in teams:
            key = f"members:{team['slug']}"
            previous = {m["login"] for page in self.old.get(key, {}).get("pages", []) for m in page["items"]}
            try:
                members, changed = self._list(f"/orgs/{self.org}/teams/{team['slug']}/members", key, _member)
            except UnreadableError:
                continue  # a secret team the token cannot see: nothing to map
            if not (changed or teams_changed):
                continue
            current = {m["login"] for m in members}
            for login in sorted(current):
                records.append(
                    TeamMembershipRecord(
                        team=team["name"],
                        identities=(IdentityRecord(login=login),),
                        parent_team=team["parent"],
                    )
                )
            for login in sorted(previous - current):
                records.append(
                    TeamMembershipRecord(
                        team=team["name"],
                        identities=(IdentityRecord(login=login),),
                        parent_team=team["parent"],
                        end=now,
                    )
                )
        return records, ""

    def _list(
        self, path: str, key: str, slim: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], bool]:
        """All items of a paginated list, each page asked conditionally; (items, changed since last read)."""
        old_pages = self.old.get(key, {}).get("pages", [])
        pages: list[dict[str, Any]] = []
        url: str | None = path
        params: dict[str, Any] | None = {"per_page": 100}
        changed = False
        while url:
            old = old_pages[len(pages)] if len(pages) < len(old_pages) else None
            answer = self.api.get(url, params=params, etag=old["etag"] if old else "", what=path)
            if answer.status == 304 and old is not None:
                items, following = old["items"], old["next"]
            elif answer.status == 200 and isinstance(answer.data, list):
                items, following = [slim(x) for x in answer.data], next_link(answer.headers.get("link"))
                changed = True
            elif answer.status in (403, 404):
                raise UnreadableError(f"{answer.status} on {path}")
            else:
                raise ConnectorError(f"GitHub answered {answer.status} on {path}", permanent=False)
            etag = answer.headers.get("etag") or (old or {}).get("etag", "")
            pages.append({"etag": etag, "items": items, "next": following})
            url, params = following, None
        changed = changed or len(pages) != len(old_pages)
        self.lists[key] = {"pages": pages}
        return [item for page in pages for item in page["items"]], changed
