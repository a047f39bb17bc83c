"""A fake GitHub API on 127.0.0.1: GraphQL (executed against ``github_schema``) plus the REST calls Sextant
makes, with GitHub's headers (``x-ratelimit-*``, ``link``, ``etag``), its error shapes and its rate limits.

The data is plain dataclasses a test builds or changes directly (``tests.fakes.github_data`` generates
realistic histories).  Faults come from the generic server (``fake.server.fault(...)``); GitHub-specific
behaviour is built in: ``exhaust_rate_limit(after=n, reset_in=s)`` (primary limit), repositories that are
``gone`` (NOT_FOUND), tokens that are revoked (401 Bad credentials), and GitHub App installation tokens.

REST for delivery (``connectors/github_delivery.py``), in the shapes of GitHub's REST reference:
"List workflow runs for a workflow" (https://docs.github.com/en/rest/actions/workflow-runs#list-workflow-runs-for-a-workflow:
``{"total_count", "workflow_runs": [{"id", "name", "head_branch", "head_sha", "event", "status",
"conclusion", "workflow_id", "run_attempt", "created_at", "updated_at", "run_started_at", "html_url"}]}``,
newest first, ``per_page``/``page`` with a ``Link`` header; 404 for an unknown workflow) and "List repository
issues" (https://docs.github.com/en/rest/issues/issues#list-repository-issues: ``labels``, ``state``,
``since`` (updated at or after), ``sort=updated``, ``direction``; pull requests appear with a
``pull_request`` key).  Runs are ``Repo.workflow_runs[file name]`` and issues ``Repo.issues``, plain dicts
made by ``workflow_run`` and ``issue`` below.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from graphql import GraphQLError, graphql_sync

from tests.fakes.github_resolvers import Root
from tests.fakes.github_schema import SCHEMA
from tests.fakes.server import FakeApiServer, FakeRequest, FakeResponse


@dataclass
class User:
    login: str
    name: str = ""
    email: str = ""
    bot: bool = False

    @property
    def rest_login(self) -> str:
        return self.login + "[bot]" if self.bot else self.login


@dataclass
class Commit:
    oid: str
    message: str
    authored: datetime
    author_name: str
    author_email: str
    user: User | None = None
    committed: datetime | None = None
    additions: int = 1
    deletions: int = 0
    parents: list[str] = field(default_factory=list)


@dataclass
class Review:
    id: int
    author: User | None
    state: str
    submitted_at: datetime | None


@dataclass
class Comment:
    id: int
    author: User | None
    created_at: datetime


@dataclass
class PullRequest:
    number: int
    title: str
    author: User | None
    created_at: datetime
    updated_at: datetime
    state: str = "OPEN"
    body: str = ""
    is_draft: bool = False
    merged_at: datetime | None = None
    closed_at: datetime | None = None
    additions: int = 10
    deletions: int = 2
    changed_files: int = 1
    head: str = "feature"
    base: str = "main"
    labels: list[str] = field(default_factory=list)
    ready_events: list[datetime] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    merge_commit: Commit | None = None


@dataclass
class Deployment:
    id: int
    environment: str
    sha: str
    created_at: datetime
    statuses: list[tuple[str, datetime]] = field(default_factory=list)


@dataclass
class Repo:
    owner: str
    name: str
    default_branch: str = "main"
    prs: dict[int, PullRequest] = field(default_factory=dict)
    deployments: list[Deployment] = field(default_factory=list)
    workflow_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    archived: bool = False
    gone: bool = False  # deleted, or the token lost access

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Team:
    slug: str
    name: str
    parent: str | None = None
    members: list[str] = field(default_factory=list)


@dataclass
class App:
    """A GitHub App installed once (on ``accounts``: org logins or owner/name, empty: everywhere).

    Installation tokens live ``lifetime`` seconds (GitHub: one hour) and are refused with 401 once
    expired; ``expire_all()`` ends the life of every token minted so far at once (a revocation, or
    the server's clock ahead of the client's).  The installation's rate limit is its own
    (``rate_limit``, counted in ``used``), apart from the personal-token limit."""

    app_id: int
    installation_id: int
    public_key_pem: str
    minted: list[str] = field(default_factory=list)
    lifetime: float = 3600.0
    accounts: tuple[str, ...] = ()
    rate_limit: int = 12500
    used: int = 0
    expires: dict[str, float] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)

    def expired(self, token: str) -> bool:
        return token in self.expires and time.time() >= self.expires[token]

    def expire_all(self) -> None:
        now = time.time()
        self.expires = {token: min(at, now) for token, at in self.expires.items()}

    def installed_on(self, account: str) -> bool:
        return not self.accounts or account.lower() in {a.lower() for a in self.accounts}


class FakeGitHub:
    """GitHub's API for the repositories, teams and tokens a test sets up."""

    def __init__(self, *, tokens: tuple[str, ...] = ("test-token",), enterprise: bool = False) -> None:
        """``enterprise``: serve as GitHub Enterprise Server: REST under /api/v3, GraphQL at /api/graphql."""
        self.server = FakeApiServer()
        self.prefix = "/api/v3" if enterprise else ""
        graphql = "/api/graphql" if enterprise else "/graphql"
        self.repos: dict[str, Repo] = {}
        self.teams: dict[str, list[Team]] = {}
        self.tokens = set(tokens)
        self.app: App | None = None
        self.operations: list[tuple[str, dict[str, Any]]] = []
        self.hooks: list[
            Callable[[str, dict[str, Any]], None]
        ] = []  # (operation, variables), before executing
        self.lock = threading.RLock()
        self.limit, self.used, self.reset_at = 5000, 0, time.time() + 3600
        self._exhaust_after: int | None = None
        self._blocked_until = 0.0
        self.server.before += [self._authenticate, self._rate_limited]
        self.server.default_headers = self._headers
        rest = self.prefix
        self.server.route("POST", graphql)(self._graphql)
        self.server.route("GET", rf"{rest}/rate_limit")(self._rate_limit)
        self.server.route("GET", rf"{rest}/orgs/(?P<org>[^/]+)/teams")(self._teams)
        self.server.route("GET", rf"{rest}/orgs/(?P<org>[^/]+)/teams/(?P<slug>[^/]+)/members")(self._members)
        self.server.route("POST", rf"{rest}/app/installations/(?P<iid>\d+)/access_tokens")(self._access_token)
        repo_path = rf"{rest}/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
        self.server.route("GET", rf"{repo_path}/actions/workflows/(?P<workflow>[^/]+)/runs")(self._runs)
        self.server.route("GET", rf"{repo_path}/issues")(self._issues)
        # GitHub App installation discovery (JWT-authenticated), issue 21
        self.server.route("GET", rf"{rest}/app/installations")(self._installations)
        self.server.route("GET", rf"{rest}/orgs/(?P<org>[^/]+)/installation")(self._org_installation)
        self.server.route("GET", rf"{rest}/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)/installation")(
            self._repo_installation
        )

    # --- set-up -----------------------------------------------------------------------------------------
    def __enter__(self) -> FakeGitHub:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        """The API base URL a client is configured with (``.../api/v3`` for Enterprise Server)."""
        return self.server.url + self.prefix

    def add_repo(self, full_name: str, **kwargs: Any) -> Repo:
        owner, _, name = full_name.partition("/")
        repo = Repo(owner, name, **kwargs)
        self.repos[full_name.lower()] = repo
        return repo

    def repo(self, full_name: str) -> Repo | None:
        repo = self.repos.get(full_name.lower())
        return None if repo is None or repo.gone else repo

    def org_repos(self, org: str) -> list[Repo]:
        return sorted(
            (r for r in self.repos.values() if r.owner.lower() == org.lower() and not r.gone),
            key=lambda r: r.name.lower(),
        )

    def org_known(self, org: str) -> bool:
        return org.lower() in self.teams or any(r.owner.lower() == org.lower() for r in self.repos.values())

    def exhaust_rate_limit(self, *, after: int, reset_in: float = 1.0) -> None:
        """Serve ``after`` more requests, then answer the primary rate limit until ``reset_in`` s later."""
        with self.lock:
            self._exhaust_after = after
            self._reset_in = reset_in

    def operation_count(self, name: str) -> int:
        return sum(1 for op, _ in self.operations if op == name)

    def hold_page(self, page: int, operation: str = "PullRequests") -> tuple[Callable[[], None], list[Any]]:
        """Hold the ``page``-th request of ``operation``: the client is then mid-sync, the pages before
        stored, a request in flight, however loaded the machine.  Returns (``release``: stop holding
        and let the held request go, idempotent; the ``after`` cursors asked so far)."""
        gate, asked = threading.Event(), []

        def hold(name: str, variables: dict[str, Any]) -> None:
            if name == operation:
                asked.append(variables.get("after"))
                if len(asked) == page:
                    gate.wait(120)

        def release() -> None:
            with suppress(ValueError):
                self.hooks.remove(hold)
            gate.set()

        self.hooks.append(hold)
        return release, asked

    # --- hooks ------------------------------------------------------------------------------------------
    def _authenticate(self, request: FakeRequest) -> FakeResponse | None:
        header = request.header("authorization") or ""
        scheme, _, credential = header.partition(" ")
        if request.path.startswith(f"{self.prefix}/app/") or request.path.endswith("/installation"):
            return None  # JWT, checked by the route
        app = self.app
        if app is not None and app.expired(credential):
            app.rejected.append(credential)
        elif scheme.lower() in ("token", "bearer") and credential in self.tokens:
            return None
        return FakeResponse(
            401,
            {
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/rest",
                "status": "401",
            },
        )

    def _rate_limited(self, request: FakeRequest) -> FakeResponse | None:
        with self.lock:
            now = time.time()
            if self._exhaust_after is not None:
                if self._exhaust_after <= 0:
                    self._exhaust_after = None
                    self._blocked_until = math.ceil(now + self._reset_in)
                else:
                    self._exhaust_after -= 1
            if now < self._blocked_until:
                return FakeResponse(
                    403,
                    {
                        "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub "
                        "Support for help, please include the request ID.",
                        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                    },
                )
            if self._blocked_until and now >= self._blocked_until:
                self._blocked_until, self.used, self.reset_at = 0.0, 0, now + 3600
        return None

    def _headers(self, request: FakeRequest, response: FakeResponse) -> dict[str, str]:
        credential = (request.header("authorization") or "").partition(" ")[2]
        app = self.app if self.app is not None and credential in self.app.expires else None
        with self.lock:
            blocked = time.time() < self._blocked_until
            if response.status != 304 and not blocked:
                self.used += 1  # conditional requests answered 304 are free, as on GitHub
                if app is not None:
                    app.used += 1  # an installation has its own limit
            limit, used = (app.rate_limit, app.used) if app is not None else (self.limit, self.used)
            remaining = 0 if blocked else max(limit - used, 0)
            reset = self._blocked_until if blocked else self.reset_at
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(int(reset)),
            "x-ratelimit-used": str(limit - remaining),
            "x-ratelimit-resource": "graphql" if request.path.endswith("/graphql") else "core",
            "x-github-media-type": "github.v3; format=json",
            "x-github-api-version-selected": "2022-11-28",
        }

    # --- GraphQL --------------------------------------------------------------------------------------------
    def _graphql(self, request: FakeRequest) -> FakeResponse:
        try:
            payload = request.json()
        except ValueError:
            return FakeResponse(400, {"message": "Problems parsing JSON"})
        query, variables = payload.get("query"), payload.get("variables") or {}
        operation = query.split("(")[0].split("{")[0].replace("query", "").strip() if query else ""
        with self.lock:
            self.operations.append((operation, variables))
        for hook in list(self.hooks):
            hook(operation, variables)
        result = graphql_sync(SCHEMA, query, root_value=Root(self), variable_values=variables)
        body: dict[str, Any] = {"data": result.data} if result.data is not None else {}
        if result.errors:
            body["errors"] = [_github_error(e) for e in result.errors]
        return FakeResponse(200, body)

    # --- REST -----------------------------------------------------------------------------------------------
    def _rate_limit(self, request: FakeRequest) -> FakeResponse:
        core = {
            "limit": self.limit,
            "remaining": self.limit - self.used,
            "reset": int(self.reset_at),
            "used": self.used,
        }
        return FakeResponse(200, {"resources": {"core": core, "graphql": core}, "rate": core})

    def _paginated(self, request: FakeRequest, items: list[Any]) -> FakeResponse:
        per_page = min(int(request.param("per_page", "30") or 30), 100)
        page = int(request.param("page", "1") or 1)
        last = max(1, math.ceil(len(items) / per_page))
        links = []
        if page < last:
            base = self.server.url + request.path
            links.append(f'<{base}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{base}?per_page={per_page}&page={last}>; rel="last"')
        headers = {"Link": ", ".join(links)} if links else {}
        return FakeResponse(200, items[(page - 1) * per_page : page * per_page], headers)

    def _teams(self, request: FakeRequest, org: str) -> FakeResponse:
        if not self.org_known(org):
            return FakeResponse(404, {"message": "Not Found"})
        teams = self.teams.get(org.lower(), [])
        by_slug = {t.slug: t for t in teams}
        items = [
            {
                "id": i + 1,
                "node_id": f"T_{t.slug}",
                "slug": t.slug,
                "name": t.name,
                "privacy": "closed",
                "parent": ({"slug": t.parent, "name": by_slug[t.parent].name} if t.parent else None),
            }
            for i, t in enumerate(teams)
        ]
        return self._paginated(request, items)

    def _members(self, request: FakeRequest, org: str, slug: str) -> FakeResponse:
        team = next((t for t in self.teams.get(org.lower(), []) if t.slug == slug), None)
        if team is None:
            return FakeResponse(404, {"message": "Not Found"})
        items = [
            {"login": login, "id": i + 1, "type": "User", "site_admin": False}
            for i, login in enumerate(team.members)
        ]
        return self._paginated(request, items)

    def _runs(self, request: FakeRequest, owner: str, name: str, workflow: str) -> FakeResponse:
        repo = self.repo(f"{owner}/{name}")
        runs = None if repo is None else repo.workflow_runs.get(workflow)
        if runs is None:
            return FakeResponse(
                404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            )
        newest_first = sorted(runs, key=lambda r: (r["created_at"], r["id"]), reverse=True)
        page = self._paginated(request, newest_first)
        page.body = {"total_count": len(runs), "workflow_runs": page.body}
        return page

    def _issues(self, request: FakeRequest, owner: str, name: str) -> FakeResponse:
        repo = self.repo(f"{owner}/{name}")
        if repo is None:
            return FakeResponse(
                404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            )
        wanted = [w for w in (request.param("labels") or "").split(",") if w]
        state, since = request.param("state", "open"), request.param("since")
        chosen = [
            i
            for i in repo.issues
            if all(w in [lb["name"] for lb in i["labels"]] for w in wanted)
            and (state == "all" or i["state"] == state)
            and (since is None or _when(i["updated_at"]) >= _when(since))
        ]
        key = "updated_at" if request.param("sort") == "updated" else "created_at"
        chosen.sort(
            key=lambda i: (_when(i[key]), i["number"]), reverse=request.param("direction", "desc") == "desc"
        )
        return self._paginated(request, chosen)

    def _access_token(self, request: FakeRequest, iid: str) -> FakeResponse:
        app = self.app
        if app is None or not self._app_jwt_valid(request):
            return FakeResponse(401, {"message": "A JSON web token could not be decoded"})
        if int(iid) != app.installation_id:
            return FakeResponse(404, {"message": "Not Found"})
        token = f"ghs_installation{len(app.minted) + 1}"
        app.minted.append(token)
        self.tokens.add(token)
        until = datetime.now(UTC) + timedelta(seconds=app.lifetime)
        app.expires[token] = until.timestamp()
        expires = until.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return FakeResponse(
            201,
            {
                "token": token,
                "expires_at": expires,
                "permissions": {"pull_requests": "read"},
                "repository_selection": "all",
            },
        )

    # --- GitHub App installations (issue 21) --------------------------------------------------------------
    # https://docs.github.com/en/rest/apps/apps#list-installations-for-the-authenticated-app and
    # #get-an-organization-installation-for-the-authenticated-app, #get-a-repository-installation-...:
    # JWT-authenticated (RS256, iss = the App id, exp at most 10 minutes after iat), an installation object.
    def _app_jwt_valid(self, request: FakeRequest) -> bool:
        app = self.app
        scheme, _, bearer = (request.header("authorization") or "").partition(" ")
        if app is None or scheme.lower() != "bearer":
            return False
        try:
            claims = jwt.decode(
                bearer, app.public_key_pem, algorithms=["RS256"], options={"require": ["iat", "exp", "iss"]}
            )
        except jwt.PyJWTError:
            return False
        return str(claims["iss"]) == str(app.app_id) and int(claims["exp"]) - int(claims["iat"]) <= 600

    def _installation(self, account: str) -> dict[str, Any]:
        app = self.app
        assert app is not None
        rest = self.server.url + self.prefix
        return {
            "id": app.installation_id,
            "account": {"login": account, "id": 1, "type": "Organization"},
            "access_tokens_url": f"{rest}/app/installations/{app.installation_id}/access_tokens",
            "repositories_url": f"{rest}/installation/repositories",
            "app_id": app.app_id,
            "target_id": 1,
            "target_type": "Organization",
            "permissions": {"pull_requests": "read", "metadata": "read", "members": "read"},
            "events": [],
            "repository_selection": "all",
            "created_at": "2026-01-05T10:00:00Z",
            "updated_at": "2026-01-05T10:00:00Z",
            "suspended_at": None,
        }

    def _app_lookup(self, request: FakeRequest, account: str, owner: str) -> FakeResponse:
        if not self._app_jwt_valid(request):
            return FakeResponse(401, {"message": "A JSON web token could not be decoded"})
        assert self.app is not None
        if not (self.app.installed_on(account) or self.app.installed_on(owner)):
            return FakeResponse(404, {"message": "Not Found"})
        return FakeResponse(200, self._installation(owner))

    def _installations(self, request: FakeRequest) -> FakeResponse:
        if not self._app_jwt_valid(request):
            return FakeResponse(401, {"message": "A JSON web token could not be decoded"})
        assert self.app is not None
        accounts = self.app.accounts or ("acme",)
        return FakeResponse(200, [self._installation(accounts[0].partition("/")[0])])

    def _org_installation(self, request: FakeRequest, org: str) -> FakeResponse:
        return self._app_lookup(request, org, org)

    def _repo_installation(self, request: FakeRequest, owner: str, name: str) -> FakeResponse:
        return self._app_lookup(request, f"{owner}/{name}", owner)


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def workflow_run(
    run_id: int,
    sha: str,
    created: str,
    *,
    conclusion: str | None = "success",
    updated: str | None = None,
    branch: str = "main",
    started: str | None = None,
    repo: str = "acme/api",
) -> dict[str, Any]:
    """A run in the shape of "List workflow runs for a workflow"; ``conclusion`` None: still running."""
    return {
        "id": run_id,
        "name": "Deploy",
        "node_id": f"WFR_{run_id}",
        "head_branch": branch,
        "head_sha": sha,
        "path": ".github/workflows/deploy.yml",
        "run_number": run_id % 1000,
        "event": "push",
        "status": "completed" if conclusion else "in_progress",
        "conclusion": conclusion,
        "workflow_id": 161335,
        "run_attempt": 1,
        "created_at": created,
        "updated_at": updated or created,
        "run_started_at": started or created,
        "html_url": f"https://github.test/{repo}/actions/runs/{run_id}",
    }


def issue(
    number: int,
    created: str,
    *,
    labels: tuple[str, ...] = ("incident",),
    closed: str | None = None,
    updated: str | None = None,
    title: str = "",
    pull_request: bool = False,
    repo: str = "acme/api",
) -> dict[str, Any]:
    """An issue in the shape of "List repository issues"."""
    item: dict[str, Any] = {
        "id": 9000 + number,
        "number": number,
        "title": title or f"Outage {number}",
        "state": "closed" if closed else "open",
        "state_reason": "completed" if closed else None,
        "labels": [{"id": 100 + k, "name": name, "color": "d73a4a"} for k, name in enumerate(labels)],
        "user": {"login": "dev01", "type": "User"},
        "created_at": created,
        "updated_at": updated or closed or created,
        "closed_at": closed,
        "html_url": f"https://github.test/{repo}/issues/{number}",
    }
    if pull_request:
        item["pull_request"] = {"url": f"https://api.github.test/repos/{repo}/pulls/{number}"}
    return item


def _github_error(error: GraphQLError) -> dict[str, Any]:
    """GitHub puts the error type (NOT_FOUND, ...) at the top level of each error."""
    formatted = dict(error.formatted)
    extensions = formatted.pop("extensions", None) or {}
    if "type" in extensions:
        formatted["type"] = extensions["type"]
    return formatted
