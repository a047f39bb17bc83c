"""A fake GitLab REST v4 API for connector tests, served by ``tests/fakes/server.py`` on 127.0.0.1:
real HTTP, real python-gitlab on the other end.

Responses follow GitLab's documented shapes and headers: offset pagination with ``X-Page``,
``X-Per-Page``, ``X-Next-Page``, ``X-Prev-Page``, ``X-Total``, ``X-Total-Pages`` and a ``Link`` header;
``PRIVATE-TOKEN`` authentication (401 ``{"message": "401 Unauthorized"}``); 404 ``{"message": "404
Project Not Found"}``.  Faults (429 with ``Retry-After``, 5xx, dropped connections) are injected with
the server's ``fault()``; every request is in its log.

Incidents: ``GET /projects/:id/issues`` with ``issue_type=incident``, ``scope``, ``updated_after``,
``order_by=updated_at&sort=asc``, in the shape of GitLab's Issues API
(https://docs.gitlab.com/api/issues/#list-project-issues: ``id``, ``iid``, ``project_id``, ``title``,
``state`` opened/closed, ``created_at``, ``updated_at``, ``closed_at``, ``labels``, ``issue_type``,
``severity`` (``UNKNOWN``, ``LOW``, ``MEDIUM``, ``HIGH``, ``CRITICAL``), ``web_url``).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlencode

from tests.fakes.server import FakeApiServer, FakeRequest, FakeResponse, LoggedRequest


def fast(server: FakeApiServer) -> FakeApiServer:
    """Answers go out as headers then body in two writes; accepted sockets inherit TCP_NODELAY from the
    listening one (Linux), which spares every request Nagle's 40 ms wait for a delayed ACK."""
    assert server._httpd is not None, "start the server first"
    server._httpd.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return server


def full_path(entry: LoggedRequest) -> str:
    query = urlencode([(k, v) for k, values in entry.query.items() for v in values])
    return f"{entry.path}?{query}" if query else entry.path


def requests_to(server: FakeApiServer, pattern: str) -> list[LoggedRequest]:
    """Logged requests whose path and query (``/a/b?x=1``) contain ``pattern`` (a regular expression)."""
    with server.lock:
        return [entry for entry in server.requests if re.search(pattern, full_path(entry))]


def json_answer(data: object, status: int = 200, headers: dict[str, str] | None = None) -> FakeResponse:
    return FakeResponse(status, data, {"Content-Type": "application/json", **(headers or {})})


@dataclass
class FakeProject:
    id: int
    path: str
    default_branch: str = "main"
    merge_requests: list[dict[str, Any]] = field(default_factory=list)
    commits: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    approvals: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # approved_by entries
    diffs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    environments: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False  # listed by its group, but every project URL answers 404 (gone mid-sync)
    legacy: bool = False  # an old or Free instance: /approvals and /diffs answer 404

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path_with_namespace": self.path,
            "path": self.path.rsplit("/", 1)[-1],
            "name": self.path.rsplit("/", 1)[-1],
            "default_branch": self.default_branch,
            "web_url": f"https://gitlab.example.com/{self.path}",
            "archived": False,
        }


class FakeGitLab:
    """GitLab REST v4 under ``/api/v4`` holding groups, members and projects built by the test."""

    def __init__(self, server: FakeApiServer, token: str = "glpat-test-token") -> None:  # noqa: S107
        self.server = server
        self.token = token
        self.max_per_page = 100
        self.groups: list[dict[str, Any]] = []  # {"id", "name", "full_path", "parent_id"}
        self.members: dict[int, list[dict[str, Any]]] = {}
        self.projects: list[FakeProject] = []
        server.route("GET", r"/api/v4/(?P<rest>.*)")(self._answer)

    @property
    def url(self) -> str:
        return self.server.url

    def fail(
        self,
        path: str,
        status: int = 0,
        headers: dict[str, str] | None = None,
        times: int = 1,
        first_page: bool = False,
    ) -> None:
        """The next ``times`` GETs of ``path`` (a regular expression for the whole path) get ``status``
        (0: the connection is dropped); ``first_page``: only requests without a ``page`` parameter."""
        self.server.fault(
            "GET",
            path,
            status=status or 503,
            headers=headers,
            drop=status == 0,
            times=times,
            when=(lambda request: request.param("page") is None) if first_page else None,
        )

    def requests_to(self, pattern: str) -> list[LoggedRequest]:
        return requests_to(self.server, pattern)

    def _paginated(self, items: list[dict[str, Any]], request: FakeRequest) -> FakeResponse:
        query = {key: values[-1] for key, values in request.query.items()}
        per_page = min(int(query.get("per_page", 20)), self.max_per_page)
        page = max(int(query.get("page", 1)), 1)
        pages = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]

        def link(number: int) -> str:
            return f"{self.url}{request.path}?{urlencode({**query, 'page': number, 'per_page': per_page})}"

        links = [f'<{link(page + 1)}>; rel="next"'] if page < pages else []
        links += [f'<{link(page - 1)}>; rel="prev"'] if page > 1 else []
        links += [f'<{link(1)}>; rel="first"', f'<{link(pages)}>; rel="last"']
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total": str(len(items)),
            "X-Total-Pages": str(pages),
            "X-Next-Page": str(page + 1) if page < pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
            "Link": ", ".join(links),
        }
        return json_answer(chunk, headers=headers)

    def _answer(self, request: FakeRequest, rest: str) -> FakeResponse:
        if request.header("PRIVATE-TOKEN") != self.token:
            return json_answer({"message": "401 Unauthorized"}, 401)
        parts = [unquote(part) for part in rest.split("/")]
        if parts[:1] == ["user"]:
            return json_answer({"id": 1, "username": "sextant-reader"})
        if parts[:1] == ["groups"] and len(parts) >= 2:
            return self._group_answer(parts[1], parts[2:], request)
        if parts[:1] == ["projects"] and len(parts) >= 2:
            project = self._project(parts[1])
            if project is None:
                return json_answer({"message": "404 Project Not Found"}, 404)
            return self._project_answer(project, parts[2:], request)
        return json_answer({"error": "404 Not Found"}, 404)

    def _group(self, key: str) -> dict[str, Any] | None:
        return next((g for g in self.groups if key in (str(g["id"]), g["full_path"])), None)

    def _group_answer(self, key: str, rest: list[str], request: FakeRequest) -> FakeResponse:
        group = self._group(key)
        if group is None:
            return json_answer({"message": "404 Group Not Found"}, 404)
        if not rest:
            return json_answer(group)
        if rest == ["descendant_groups"]:
            below = [g for g in self.groups if g["full_path"].startswith(group["full_path"] + "/")]
            return self._paginated(below, request)
        if rest == ["members"]:
            return self._paginated(self.members.get(group["id"], []), request)
        if rest == ["projects"]:
            inside = [p.as_json() for p in self.projects if p.path.startswith(group["full_path"] + "/")]
            return self._paginated(sorted(inside, key=lambda p: p["id"]), request)
        return json_answer({"error": "404 Not Found"}, 404)

    def _project(self, key: str) -> FakeProject | None:
        return next((p for p in self.projects if key in (str(p.id), p.path) and not p.deleted), None)

    def _project_answer(self, project: FakeProject, rest: list[str], request: FakeRequest) -> FakeResponse:
        if not rest:
            return json_answer(project.as_json())
        if rest == ["merge_requests"]:
            return self._paginated(_updated(project.merge_requests, request), request)
        if rest == ["deployments"]:
            return self._paginated(_updated(project.deployments, request), request)
        if rest == ["environments"]:
            return self._paginated(project.environments, request)
        if rest == ["issues"]:
            kind = request.param("issue_type")
            chosen = [i for i in project.issues if kind is None or i["issue_type"] == kind]
            return self._paginated(_updated(chosen, request), request)
        if len(rest) == 3 and rest[0] == "merge_requests":
            iid = int(rest[1])
            if not any(mr["iid"] == iid for mr in project.merge_requests):
                return json_answer({"message": "404 Not found"}, 404)
            if project.legacy and rest[2] in ("approvals", "diffs"):
                return json_answer({"error": "404 Not Found"}, 404)
            if rest[2] == "approvals":
                return json_answer(
                    {
                        "iid": iid,
                        "approved": bool(project.approvals.get(iid)),
                        "approved_by": project.approvals.get(iid, []),
                    }
                )
            table = {"commits": project.commits, "notes": project.notes, "diffs": project.diffs}.get(rest[2])
            if table is not None:
                return self._paginated(table.get(iid, []), request)
        return json_answer({"error": "404 Not Found"}, 404)


def _updated(items: list[dict[str, Any]], request: FakeRequest) -> list[dict[str, Any]]:
    """``updated_after`` (inclusive, as GitLab documents it) and ``order_by=updated_at&sort=asc``."""

    def when(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))

    since = request.param("updated_after")
    chosen = [item for item in items if since is None or when(item["updated_at"]) >= when(since)]
    if request.param("order_by") == "updated_at":
        chosen.sort(
            key=lambda item: (when(item["updated_at"]), item["id"]), reverse=request.param("sort") == "desc"
        )
    return chosen


# --- A small organization in GitLab's shapes, for exact expectations ---------------------------------

M1 = "1a2b3c4d" + "0" * 32  # merge commit of acme/api!1; its revert MR's branch is revert-1a2b3c4d
M2 = "2b" * 20
S5 = "5c" * 20


def user(username: str, uid: int, name: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "id": uid,
        "username": username,
        "name": name or username.title(),
        "state": "active",
        "web_url": f"https://gitlab.example.com/{username}",
        **extra,
    }


ALICE, BOB, CAROL, DAVE = user("alice", 1), user("bob", 2), user("carol", 3), user("dave", 4)
BOT = user("project_11_bot_0a1b2c", 90, "api bot", bot=True)


def mr(
    iid: int, title: str, author: dict[str, Any], state: str, created: str, updated: str, **extra: Any
) -> dict[str, Any]:
    return {
        "id": 1000 + iid,
        "iid": iid,
        "project_id": 11,
        "title": title,
        "description": "",
        "state": state,
        "author": author,
        "created_at": created,
        "updated_at": updated,
        "merged_at": None,
        "closed_at": None,
        "source_branch": f"branch-{iid}",
        "target_branch": "main",
        "labels": [],
        "draft": False,
        "squash": False,
        "merge_commit_sha": None,
        "squash_commit_sha": None,
        "sha": f"{iid:x}" * 40,
        "web_url": f"https://gitlab.example.com/acme/api/-/merge_requests/{iid}",
        **extra,
    }


def commit(
    sha: str,
    authored: str,
    message: str,
    name: str = "Alice",
    email: str = "alice@example.com",
) -> dict[str, Any]:
    return {
        "id": sha,
        "short_id": sha[:8],
        "title": message.split("\n", 1)[0],
        "message": message,
        "author_name": name,
        "author_email": email,
        "authored_date": authored,
        "committer_name": name,
        "committer_email": email,
        "committed_date": authored,
        "created_at": authored,
        "parent_ids": [],
    }


def note(nid: int, author: dict[str, Any], created: str, body: str, system: bool = False) -> dict[str, Any]:
    return {
        "id": nid,
        "body": body,
        "author": author,
        "created_at": created,
        "updated_at": created,
        "system": system,
        "noteable_type": "MergeRequest",
    }


def deployment(
    did: int,
    env: str,
    status: str,
    sha: str,
    created: str,
    updated: str,
    tier: str | None = None,
    finished: str | None = None,
) -> dict[str, Any]:
    environment: dict[str, Any] = {"id": did * 10, "name": env}
    if tier is not None:
        environment["tier"] = tier
    return {
        "id": did,
        "iid": did - 100,
        "ref": "main",
        "sha": sha,
        "status": status,
        "created_at": created,
        "updated_at": updated,
        "environment": environment,
        "deployable": {"id": did * 7, "status": status, "finished_at": finished},
    }


def incident_issue(
    iid: int,
    created: str,
    *,
    closed: str | None = None,
    updated: str | None = None,
    severity: str = "UNKNOWN",
    labels: tuple[str, ...] = (),
    issue_type: str = "incident",
    project: str = "acme/api",
    project_id: int = 11,
) -> dict[str, Any]:
    """An issue (an incident unless ``issue_type`` says otherwise) as the Issues API lists it."""
    return {
        "id": 5000 + project_id * 100 + iid,
        "iid": iid,
        "project_id": project_id,
        "title": f"Incident {iid}",
        "description": "",
        "state": "closed" if closed else "opened",
        "created_at": created,
        "updated_at": updated or closed or created,
        "closed_at": closed,
        "labels": list(labels),
        "issue_type": issue_type,
        "type": issue_type.upper(),
        "severity": severity,
        "author": ALICE,
        "web_url": f"https://gitlab.example.com/{project}/-/issues/{iid}",
    }


def _api_project() -> FakeProject:
    project = FakeProject(id=11, path="acme/api")
    project.merge_requests = [
        mr(
            1,
            "Add login",
            ALICE,
            "merged",
            "2024-05-01T09:00:00.000Z",
            "2024-05-02T10:00:00.000Z",
            merged_at="2024-05-01T16:00:00.000Z",
            merge_commit_sha=M1,
            source_branch="feature/login",
            labels=["backend", "security"],
            description="Login form and session handling.",
        ),
        mr(
            2,
            'Revert "Add login"',
            CAROL,
            "merged",
            "2024-05-03T09:00:00.000Z",
            "2024-05-03T11:00:00.000Z",
            merged_at="2024-05-03T11:00:00.000Z",
            merge_commit_sha=M2,
            source_branch="revert-1a2b3c4d",
            description=f"This reverts merge request !1\n\nThis reverts commit {M1}",
        ),
        mr(
            3,
            "Draft: cache lookups",
            BOB,
            "opened",
            "2024-05-04T09:00:00.000Z",
            "2024-05-04T09:00:00.000Z",
            draft=True,
            source_branch="copilot/cache",
        ),
        mr(
            4,
            "Drop legacy table",
            DAVE,
            "closed",
            "2024-05-05T09:00:00.000Z",
            "2024-05-06T09:00:00.000Z",
            closed_at="2024-05-06T09:00:00.000Z",
        ),
        mr(
            5,
            "Fix typo",
            ALICE,
            "merged",
            "2024-05-07T08:00:00.000Z",
            "2024-05-07T10:00:00.000Z",
            merged_at="2024-05-07T10:00:00.000Z",
            squash=True,
            squash_commit_sha=S5,
        ),
    ]
    project.commits = {
        1: [
            commit("c11" + "0" * 37, "2024-04-30T15:00:00.000+02:00", "Add login form\n"),
            commit(
                "c12" + "0" * 37,
                "2024-05-01T08:30:00.000Z",
                "Wire login\n\nCo-authored-by: Claude <noreply@anthropic.com>\n",
            ),
        ],
        2: [
            commit(
                "c21" + "0" * 37,
                "2024-05-03T08:55:00.000Z",
                f'Revert "Add login"\n\nThis reverts commit {M1}.\n',
                "Carol",
                "carol@example.com",
            )
        ],
        3: [
            commit("c31" + "0" * 37, "2024-05-04T08:00:00.000Z", "Cache lookups\n", "Bob", "bob@example.com")
        ],
        4: [],
        5: [commit("c51" + "0" * 37, "2024-05-07T09:00:00.000Z", "Fix typo\n")],
    }
    project.notes = {
        1: [
            note(1, ALICE, "2024-05-01T09:10:00.000Z", "Ready for a look"),
            note(2, BOT, "2024-05-01T09:20:00.000Z", "Pipeline passed"),
            note(3, ALICE, "2024-05-01T09:30:00.000Z", "requested review from @bob", system=True),
            note(4, BOB, "2024-05-01T10:30:00.000Z", "One nit: rename the helper"),
            note(5, CAROL, "2024-05-01T11:00:00.000Z", "+1"),
            note(6, BOB, "2024-05-01T14:00:00.000Z", "approved this merge request", system=True),
            note(7, BOB, "2024-05-01T14:05:00.000Z", "Thanks!"),
        ],
        2: [
            note(
                11, CAROL, "2024-05-03T09:30:00.000Z", "marked this merge request as **ready**", system=True
            ),
            note(12, ALICE, "2024-05-03T10:45:00.000Z", "approved this merge request", system=True),
        ],
    }
    # !1 from a GitLab that gives approved_at; !2 from one that does not (the system note's time is used).
    project.approvals = {1: [{"user": BOB, "approved_at": "2024-05-01T14:00:00.000Z"}], 2: [{"user": ALICE}]}
    project.diffs = {
        1: [
            {
                "old_path": "app/login.py",
                "new_path": "app/login.py",
                "diff": "@@ -1,2 +1,3 @@\n line\n-old\n+new\n+more\n",
            },
            {
                "old_path": "app/session.py",
                "new_path": "app/session.py",
                "new_file": True,
                "diff": "@@ -0,0 +1,2 @@\n+x = 1\n+y = 2\n",
            },
        ],
        2: [
            {
                "old_path": "app/login.py",
                "new_path": "app/login.py",
                "diff": "@@ -1,3 +1,2 @@\n line\n-new\n-more\n+old\n",
            }
        ],
        3: [
            {
                "old_path": "app/cache.py",
                "new_path": "app/cache.py",
                "new_file": True,
                "diff": "@@ -0,0 +1,3 @@\n+a\n+b\n+c\n",
            }
        ],
        5: [{"old_path": "README.md", "new_path": "README.md", "diff": "@@ -1 +1 @@\n-teh\n+the\n"}],
    }
    project.environments = [
        {"id": 1010, "name": "production", "tier": "production"},
        {"id": 1020, "name": "staging", "tier": "staging"},
        {"id": 1030, "name": "live", "tier": "production"},
    ]
    project.deployments = [
        deployment(
            101,
            "production",
            "success",
            M1,
            "2024-05-01T17:00:00.000Z",
            "2024-05-01T17:05:00.000Z",
            tier="production",
            finished="2024-05-01T17:04:00.000Z",
        ),
        deployment(
            102,
            "staging",
            "failed",
            M1,
            "2024-05-01T16:30:00.000Z",
            "2024-05-01T16:40:00.000Z",
            tier="staging",
        ),
        deployment(103, "live", "running", M2, "2024-05-03T12:00:00.000Z", "2024-05-03T12:01:00.000Z"),
    ]
    return project


def _infra_project() -> FakeProject:
    project = FakeProject(id=12, path="acme/platform/infra", legacy=True)
    project.merge_requests = [
        {
            **mr(
                1,
                "Terraform bump",
                BOB,
                "merged",
                "2024-05-02T08:00:00.000Z",
                "2024-05-02T12:00:00.000Z",
                merged_at="2024-05-02T12:00:00.000Z",
                merge_commit_sha="9f" * 20,
            ),
            "id": 2001,
            "project_id": 12,
        },
    ]
    project.commits = {
        1: [commit("d11" + "0" * 37, "2024-05-02T07:00:00.000Z", "Bump provider\n", "Bob", "bob@example.com")]
    }
    project.notes = {
        1: [note(21, CAROL, "2024-05-02T10:00:00.000Z", "approved this merge request", system=True)]
    }
    return project


def acme(server: FakeApiServer) -> FakeGitLab:
    """Group ``acme`` (members alice, a bot, blocked dave) with subgroup ``acme/platform`` (bob, carol);
    projects ``acme/api`` (5 MRs, 3 deployments), ``acme/platform/infra`` (an old GitLab: no /approvals,
    no /diffs) and ``acme/gone`` (listed by the group, deleted before its merge requests are read)."""
    fake = FakeGitLab(server)
    fake.groups = [
        {"id": 1, "name": "Acme", "full_path": "acme", "parent_id": None},
        {"id": 2, "name": "Platform", "full_path": "acme/platform", "parent_id": 1},
    ]
    fake.members = {
        1: [
            {**ALICE, "access_level": 50},
            {**BOT, "access_level": 30},
            {**DAVE, "state": "blocked", "access_level": 30},
        ],
        2: [{**BOB, "access_level": 30}, {**CAROL, "access_level": 40}],
    }
    fake.projects = [_api_project(), _infra_project(), FakeProject(id=13, path="acme/gone", deleted=True)]
    return fake
