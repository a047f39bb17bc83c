"""Jira incidents: issues of chosen types (and, optionally, priorities) in chosen projects, from Jira Cloud
(``GET /rest/api/3/search/jql``, ``nextPageToken``) or Jira Data Center / Server (``GET /rest/api/2/search``,
``startAt``).

Options (``SourceConfig.options``); the secret is a Cloud API token (with ``email``: HTTP Basic
``email:token``) or a Data Center personal access token (``Authorization: Bearer <PAT>``):

| option | meaning |
|---|---|
| ``api_url`` | the site, e.g. ``https://acme.atlassian.net`` or ``https://jira.acme.internal`` |
| ``flavor`` | ``cloud`` (default) or ``datacenter`` |
| ``email`` | the Atlassian account of a Cloud API token (Cloud only) |
| ``projects`` | project keys to read (``OPS``, ``PLAT``); required |
| ``issue_types`` | issue types that are incidents (default ``Incident``) |
| ``priorities`` | only these priorities (default: all) |
| ``days`` | how far back the first sync reads (default 180) |
| ``page_size`` | issues per request (default 100) |
| ``max_retries``, ``backoff_seconds``, ``max_wait_seconds`` | see ``connectors.http_json`` |

The JQL is built here from those settings, never from free text: project keys must look like keys, and
every type, priority and date is a quoted JQL string with ``"`` and ``\\`` escaped, so no setting can
change the query's structure.  It reads ``updated >= "<checkpoint - 1 day>"`` ordered by ``created ASC,
key ASC``: an immutable order, so an issue updated while the pass pages through it can join the result
but never shift another out of it (with ``ORDER BY updated`` it would move to the end and push the next
issue past the cursor).  JQL dates are in the reading user's time zone: the day of overlap covers any
offset and any issue updated during the pass; upserts make the overlap harmless.  The checkpoint after each
page: ``{"since", "cursor", "top"}`` while a pass runs (a killed run resumes at the stored cursor),
``{"since": newest updated}`` between runs.

Each issue becomes an ``IncidentRecord``: external id its key, started at ``created``, resolved at
``resolutiondate``, severity its priority name, service its project key.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.api_urls import api_url_check
from connectors.base import ConnectorError, ProgressCallback, SourceConfig
from connectors.incident_tools import IncidentConnector, iso, moment, start_of_first_sync
from connectors.records import IncidentRecord, Record

FLAVORS = ("cloud", "datacenter")
PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,254}$")
FIELDS = "summary,created,updated,resolutiondate,priority,issuetype,project,status"
OVERLAP = timedelta(days=1)


def jql_string(value: str) -> str:
    """``value`` as a quoted JQL string: backslashes and double quotes escaped, line breaks refused."""
    if any(c in value for c in "\r\n\t") or not value.strip():
        raise ConnectorError(f"{value!r} cannot be used in a Jira query (empty or with a line break)")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_jql(*, projects: list[str], issue_types: list[str], priorities: list[str], since: datetime) -> str:
    """The incident query for these settings (see the module docstring)."""
    for key in projects:
        if not PROJECT_KEY.match(key):
            raise ConnectorError(f"Jira project key {key[:40]!r} is not a project key (A-Z, 0-9, _)")
    clauses = [
        f"project in ({', '.join(jql_string(p) for p in projects)})",
        f"issuetype in ({', '.join(jql_string(t) for t in issue_types)})",
    ]
    if priorities:
        clauses.append(f"priority in ({', '.join(jql_string(p) for p in priorities)})")
    clauses.append(f"updated >= {jql_string(since.astimezone(UTC).strftime('%Y-%m-%d %H:%M'))}")
    return " AND ".join(clauses) + " ORDER BY created ASC, key ASC"


def issue_record(issue: dict[str, Any], site: str) -> IncidentRecord | None:
    fields = issue["fields"]
    started = moment(fields["created"])
    if started is None:
        return None
    priority = fields.get("priority") or {}
    project = fields.get("project") or {}
    key = str(issue["key"])
    return IncidentRecord(
        source="jira",
        external_id=key,
        started_at=started,
        title=str(fields.get("summary") or ""),
        resolved_at=moment(fields.get("resolutiondate")),
        severity=str(priority.get("name") or ""),
        service=str(project.get("key") or key.split("-")[0]),
        url=f"{site.rstrip('/')}/browse/{key}",
    )


def _list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    return [str(v).strip() for v in value or [] if str(v).strip()]


class JiraConnector(IncidentConnector):
    kind = "jira"
    vendor = "Jira"

    def __init__(self, config: SourceConfig, progress: ProgressCallback | None = None) -> None:
        super().__init__(config, progress)
        options = config.options
        name = config.name
        self.flavor = str(options.get("flavor") or "cloud")
        if self.flavor not in FLAVORS:
            raise ConnectorError(
                f"Jira source {name!r}: flavor must be cloud or datacenter, not {self.flavor!r}"
            )
        self.site = api_url_check(str(options.get("api_url") or ""))
        self.projects = _list(options.get("projects"))
        if not self.projects:
            raise ConnectorError(f"Jira source {name!r}: set the project keys to read")
        self.issue_types = _list(options.get("issue_types")) or ["Incident"]
        self.priorities = _list(options.get("priorities"))
        if not config.secret:
            raise ConnectorError(f"Jira source {name!r} has no token")
        email = str(options.get("email") or "")
        if self.flavor == "cloud":
            if not email:
                raise ConnectorError(f"Jira Cloud source {name!r}: set the email of the API token's account")
            basic = base64.b64encode(f"{email}:{config.secret}".encode()).decode()
            auth = f"Basic {basic}"
        else:
            auth = f"Bearer {config.secret}"
        secrets = (config.secret, auth.partition(" ")[2])
        self.api = self.json_api(base_url=self.site, headers={"Authorization": auth}, secrets=secrets)

    def check(self) -> None:
        self.api.get("/rest/api/3/myself" if self.flavor == "cloud" else "/rest/api/2/myself")

    def _pages(self) -> Iterator[list[Record]]:
        state = copy.deepcopy(self.checkpoint)
        if "cursor" not in state:
            stored = moment(state.get("since"))
            since = (
                stored - OVERLAP if stored else start_of_first_sync(self.config.options, datetime.now(UTC))
            )
            state = {"since": iso(since), "cursor": None, "top": state.get("since")}
        jql = build_jql(
            projects=self.projects,
            issue_types=self.issue_types,
            priorities=self.priorities,
            since=moment(state["since"]) or datetime.now(UTC),
        )
        while True:
            issues, cursor = self._page(jql, state["cursor"])
            records: list[Record] = [r for r in (issue_record(i, self.site) for i in issues) if r is not None]
            for issue in issues:
                updated, top = moment(issue["fields"].get("updated")), moment(state["top"])
                if updated is not None and (top is None or updated > top):
                    state["top"] = iso(updated)
            self.counted("Jira incidents", issues)
            if cursor is None:
                self.checkpoint = {"since": state["top"]} if state["top"] else {}
                yield records
                return
            state = {**state, "cursor": cursor}
            self.checkpoint = copy.deepcopy(state)
            yield records

    def _page(self, jql: str, cursor: Any) -> tuple[list[dict[str, Any]], Any]:
        """One page of issues and the cursor of the next (None after the last)."""
        if self.flavor == "cloud":
            params: dict[str, Any] = {"jql": jql, "maxResults": self.page_size, "fields": FIELDS}
            if cursor:
                params["nextPageToken"] = cursor
            data = self.api.get("/rest/api/3/search/jql", params)
            issues = list(data["issues"])
            token = data.get("nextPageToken")
            last = bool(data.get("isLast", not token)) or not token
            return issues, None if last else str(token)
        start = int(cursor or 0)
        params = {"jql": jql, "startAt": start, "maxResults": self.page_size, "fields": FIELDS}
        data = self.api.get("/rest/api/2/search", params)
        issues = list(data["issues"])
        following = start + len(issues)
        done = not issues or following >= int(data.get("total", following))
        return issues, None if done else following
