"""A fake Jira on 127.0.0.1 (``tests/fakes/server.py``): Cloud's enhanced search
``GET /rest/api/3/search/jql`` and Data Center's ``GET /rest/api/2/search``, plus ``/myself``.

Shapes as documented by Atlassian: Jira Cloud platform REST API v3 "Search for issues using JQL enhanced
search (GET)" (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/: ``jql``,
``nextPageToken``, ``maxResults``, ``fields``; answers ``{"issues": [...], "nextPageToken", "isLast"}``, the
token absent on the last page, as JRACLOUD-92184 reports) and Jira Data Center REST API v2 "Search"
(https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/search: ``startAt``, ``maxResults``,
answers ``{"startAt", "maxResults", "total", "issues"}``).  An issue is ``{"id", "key", "self", "fields":
{"summary", "created", "updated", "resolutiondate", "priority": {"name"}, "issuetype": {"name"},
"project": {"key"}, "status": {"name"}}}`` with Jira's ``2024-05-01T09:30:00.000+0000`` timestamps.
Authentication: Cloud ``Basic base64(email:api_token)``, Data Center ``Bearer <PAT>``; else 401
``{"errorMessages": ["You are not authenticated..."]}``.

The JQL is *parsed*, not pattern-matched: clauses ``field in ("a", "b")`` and ``updated >= "yyyy-MM-dd
HH:mm"`` joined by ``AND``, then ``ORDER BY <created|updated> ASC, key ASC``; quoted strings honour
``\\"`` and ``\\\\``.  Anything else is a 400 ``{"errorMessages": ["Error in the JQL Query: ..."]}``, so a
setting that broke out of its quotes would fail loudly here.  Faults come from ``server.fault``.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

from tests.fakes.server import FakeApiServer, FakeRequest, FakeResponse

EMAIL = "sextant@acme.test"
TOKEN = "ATATT3xFfGF0-jira-test-token"
PAT = "NjM4-jira-dc-test-pat-4417"
TOKEN_RE = re.compile(r'"((?:[^"\\]|\\.)*)"|(>=|[(),=])|([A-Za-z_][\w.]*)|(\S)')


class JqlError(ValueError):
    pass


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def parse_jql(jql: str) -> tuple[list[tuple[str, str, list[str]]], list[str]]:  # noqa: C901
    """(clauses (field, operator, values), order-by terms) of the JQL subset Sextant sends."""
    tokens: list[tuple[str, str]] = []
    for quoted, punct, word, other in TOKEN_RE.findall(jql):
        if other:
            raise JqlError(f"unexpected character {other!r}")
        if quoted or (not punct and not word):
            tokens.append(("str", re.sub(r"\\(.)", r"\1", quoted)))
        else:
            tokens.append(("punct", punct) if punct else ("word", word))
    clauses: list[tuple[str, str, list[str]]] = []
    i = 0

    def take(kind: str, value: str | None = None) -> str:
        nonlocal i
        if i >= len(tokens) or tokens[i][0] != kind or (value is not None and tokens[i][1].upper() != value):
            got = tokens[i][1] if i < len(tokens) else "end of query"
            raise JqlError(f"expected {value or kind} but got {got!r}")
        i += 1
        return tokens[i - 1][1]

    while True:
        field = take("word").lower()
        if i < len(tokens) and tokens[i] == ("word", "in"):
            take("word")
            take("punct", "(")
            values = [take("str")]
            while tokens[i] == ("punct", ","):
                take("punct")
                values.append(take("str"))
            take("punct", ")")
            clauses.append((field, "in", values))
        else:
            take("punct", ">=")
            clauses.append((field, ">=", [take("str")]))
        if i < len(tokens) and tokens[i][0] == "word" and tokens[i][1].upper() == "AND":
            take("word")
            continue
        break
    order: list[str] = []
    if i < len(tokens):
        take("word", "ORDER")
        take("word", "BY")
        while True:
            order.append(take("word") + " " + take("word").upper())
            if i < len(tokens) and tokens[i] == ("punct", ","):
                take("punct")
                continue
            break
    if i != len(tokens):
        raise JqlError(f"unexpected {tokens[i][1]!r}")
    return clauses, order


def stamp(value: str) -> str:
    """``2024-05-01T09:30:00Z`` in Jira's spelling, ``2024-05-01T09:30:00.000+0000``."""
    return when(value.replace("Z", "+00:00")).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def issue(
    key: str,
    created: str,
    *,
    updated: str | None = None,
    resolved: str | None = None,
    priority: str = "High",
    issue_type: str = "Incident",
    summary: str = "",
) -> dict[str, Any]:
    number = int(key.split("-")[1])
    return {
        "id": str(10000 + number),
        "key": key,
        "self": f"https://acme.atlassian.net/rest/api/3/issue/{10000 + number}",
        "fields": {
            "summary": summary or f"Outage {key}",
            "created": stamp(created),
            "updated": stamp(updated or resolved or created),
            "resolutiondate": stamp(resolved) if resolved else None,
            "priority": {"name": priority, "id": "2"},
            "issuetype": {"name": issue_type, "id": "10004"},
            "project": {"key": key.split("-")[0], "name": key.split("-")[0].title()},
            "status": {"name": "Done" if resolved else "Open"},
        },
    }


class FakeJira:
    def __init__(
        self, server: FakeApiServer, *, email: str = EMAIL, token: str = TOKEN, pat: str = PAT
    ) -> None:
        self.server = server
        self.basic = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.bearer = f"Bearer {pat}"
        self.issues: list[dict[str, Any]] = []
        self.queries: list[str] = []
        server.route("GET", r"/rest/api/3/search/jql")(self._guard(self.basic, self._cloud))
        server.route("GET", r"/rest/api/2/search")(self._guard(self.bearer, self._datacenter))
        server.route("GET", r"/rest/api/3/myself")(self._guard(self.basic, self._myself))
        server.route("GET", r"/rest/api/2/myself")(self._guard(self.bearer, self._myself))

    @property
    def url(self) -> str:
        return self.server.url

    def _guard(self, expected: str, handler: Any) -> Any:
        def answer(request: FakeRequest) -> FakeResponse:
            if request.header("authorization") != expected:
                message = "You are not authenticated. Authentication required to perform this operation."
                return FakeResponse(401, {"errorMessages": [message], "errors": {}})
            return handler(request)

        return answer

    def _myself(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(200, {"accountId": "5b10a2844c20165700ede21g", "displayName": "Sextant"})

    def _matching(self, request: FakeRequest) -> list[dict[str, Any]] | FakeResponse:
        jql = request.param("jql") or ""
        self.queries.append(jql)
        try:
            clauses, order = parse_jql(jql)
        except JqlError as exc:
            return FakeResponse(400, {"errorMessages": [f"Error in the JQL Query: {exc}"], "errors": {}})
        chosen = []
        for item in self.issues:
            fields = item["fields"]
            values = {
                "project": fields["project"]["key"],
                "issuetype": fields["issuetype"]["name"],
                "priority": fields["priority"]["name"],
            }
            keep = True
            for field, operator, wanted in clauses:
                if operator == "in":
                    keep &= values.get(field) in wanted
                elif field == "updated":
                    keep &= when(fields["updated"]) >= datetime.strptime(wanted[0], "%Y-%m-%d %H:%M").replace(
                        tzinfo=UTC
                    )
                else:
                    return FakeResponse(
                        400, {"errorMessages": [f"Field '{field}' is not supported"], "errors": {}}
                    )
            if keep:
                chosen.append(item)
        if len(order) == 2 and order[0] in ("created ASC", "updated ASC") and order[1] == "key ASC":
            field = order[0].split()[0]
            chosen.sort(key=lambda it: (when(it["fields"][field]), int(it["key"].split("-")[1]), it["key"]))
        elif order:
            return FakeResponse(400, {"errorMessages": [f"Order {order} is not supported"], "errors": {}})
        return chosen

    def _cloud(self, request: FakeRequest) -> FakeResponse:
        chosen = self._matching(request)
        if isinstance(chosen, FakeResponse):
            return chosen
        size = min(int(request.param("maxResults", "50") or 50), 100)
        token = request.param("nextPageToken")
        start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("o:")) if token else 0
        page = chosen[start : start + size]
        body: dict[str, Any] = {"issues": page, "isLast": start + len(page) >= len(chosen)}
        if not body["isLast"]:
            body["nextPageToken"] = base64.urlsafe_b64encode(f"o:{start + len(page)}".encode()).decode()
        return FakeResponse(200, body)

    def _datacenter(self, request: FakeRequest) -> FakeResponse:
        chosen = self._matching(request)
        if isinstance(chosen, FakeResponse):
            return chosen
        size = min(int(request.param("maxResults", "50") or 50), 100)
        start = int(request.param("startAt", "0") or 0)
        page = chosen[start : start + size]
        return FakeResponse(200, {"startAt": start, "maxResults": size, "total": len(chosen), "issues": page})
