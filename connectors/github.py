"""GitHub (github.com or GitHub Enterprise Server) through PyGithub's requester, GraphQL first.

Options (``SourceConfig.options``); the token (or, with ``app_id``, the GitHub App's private key) is
``SourceConfig.secret``:

| option | meaning |
|---|---|
| ``org`` / ``repos`` | an organization (its repositories, teams and members) or a list of ``owner/name`` |
| ``api_url`` | default ``$GITHUB_API_URL``, else ``https://api.github.com``; GHES: ``https://HOST/api/v3`` |
| ``app_id``, ``installation_id`` | a GitHub App installation instead of a token (no id: looked up) |
| ``app_token_refresh_seconds`` | mint a new App token this long before the current one expires (300) |
| ``production_environments`` | deployment environments that are production (default production, prod, live) |
| ``production_workflows`` | Actions workflows (file names or ids) whose runs are production deployments |
| ``workflow_environment``, ``workflow_branch`` | their environment name (default production), branch filter |
| ``incident_label`` | issues carrying this label are incidents (``connectors.github_delivery``) |
| ``page_size`` | pull requests per GraphQL request (default 100; halved while GitHub answers 5xx) |
| ``teams_interval_minutes`` | how often teams and members are re-read (default 360; conditional requests) |
| ``max_retries``, ``backoff_seconds``, ``max_wait_seconds`` | see ``connectors.github_client`` |
| ``checkpoint``, ``only_repositories`` | set by the sync service (``metrics.ingestion.sync``) |

Cost: one ``Freshness`` request per 100 repositories says which repositories changed since their
bookmarks; each changed repository costs one request per 100 updated pull requests (ordered by
``UPDATED_AT`` descending, stopping at the bookmark) plus one for new production deployments.  Teams use
REST with ETags, so unchanged lists come back as 304 (free against the rate limit).

Checkpoint (``self.checkpoint``, replaced after each page, before the page's records are yielded)::

    {"repos": {"owner/name": {
        "prs": {"bookmark": ts, "cursor": c, "top": ts},
        "deployments": {"bookmark": ts, "seen": ts, "cursor": c, "top": ts, "top_seen": ts}}},
     "teams": {"synced_at": ts, "lists": {key: {"pages": [{"etag", "items", "next"}]}}}}

``bookmark`` is the newest ``updatedAt`` a finished pass started from; ``cursor``/``top`` describe the pass
in progress, so a killed run resumes after the last stored page.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors import github_queries as q
from connectors.api_urls import api_url_check
from connectors.base import Connector, ConnectorError, ProgressCallback, SourceConfig, malformed_answers
from connectors.github_client import DEFAULT_API_URL, GitHubApi
from connectors.github_delivery import RepositoryGone, incident_pages, workflow_pages
from connectors.github_records import (
    deployment_record,
    has_review_or_comment_by_others,
    pull_request_records,
    ts,
)
from connectors.github_teams import TeamReader
from connectors.records import Record, RepositoryRecord

PRODUCTION_ENVIRONMENTS = ["production", "Production", "prod", "live"]
DEPLOYMENT_REREAD = timedelta(days=1)  # deployments this recent are read again: their status may change
NAMED_BATCH = 50


class RepositoryGoneError(Exception):
    """The repository was deleted, renamed or made inaccessible."""


@dataclass(frozen=True)
class RepoInfo:
    full_name: str
    url: str
    default_branch: str
    pr_fresh: str | None  # updatedAt of the most recently updated pull request
    deploy_fresh: str | None  # latest creation or status change of the newest production deployment

    @property
    def record(self) -> RepositoryRecord:
        return RepositoryRecord(
            full_name=self.full_name, host="github", default_branch=self.default_branch, url=self.url
        )


def _repo_info(node: dict[str, Any]) -> RepoInfo:
    prs = (node.get("pullRequests") or {}).get("nodes") or []
    deployments = (node.get("deployments") or {}).get("nodes") or []
    deploy_fresh = None
    if deployments:
        newest = deployments[0]
        moments = [newest.get("createdAt"), (newest.get("latestStatus") or {}).get("createdAt")]
        deploy_fresh = max((m for m in moments if m), key=_moment)
    return RepoInfo(
        full_name=str(node["nameWithOwner"]),
        url=str(node.get("url") or ""),
        default_branch=str((node.get("defaultBranchRef") or {}).get("name") or "main"),
        pr_fresh=prs[0]["updatedAt"] if prs else None,
        deploy_fresh=deploy_fresh,
    )


def _moment(value: str | None) -> datetime:
    return ts(value) or datetime.min.replace(tzinfo=UTC)


def _newer(fresh: str | None, bookmark: str | None) -> bool:
    """True when something changed after the bookmark (always, when there is no bookmark yet)."""
    if fresh is None:
        return False
    return bookmark is None or _moment(fresh) > _moment(bookmark)


class GitHubConnector(Connector):
    kind = "github"

    def __init__(self, config: SourceConfig, progress: ProgressCallback | None = None) -> None:
        super().__init__(config, progress)
        options = config.options
        self.org = str(options.get("org") or "")
        self.repos = [str(r) for r in options.get("repos") or []]
        if bool(self.org) == bool(self.repos):
            raise ConnectorError(f"GitHub source {config.name!r}: set either 'org' or 'repos' (owner/name)")
        self.only = [str(r) for r in options.get("only_repositories") or []]
        self.environments = list(options.get("production_environments") or PRODUCTION_ENVIRONMENTS)
        self.page_size = int(options.get("page_size") or 100)
        self.workflows = [str(w) for w in options.get("production_workflows") or []]
        self.workflow_environment = str(options.get("workflow_environment") or "production")
        self.workflow_branch = str(options.get("workflow_branch") or "")
        self.incident_label = str(options.get("incident_label") or "")
        self.teams_interval = timedelta(minutes=float(options.get("teams_interval_minutes", 360)))
        self.api = GitHubApi(
            api_url=api_url_check(
                str(options.get("api_url") or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL)
            ),
            token=config.secret,
            app_id=str(options.get("app_id") or ""),
            installation_id=str(options.get("installation_id") or ""),
            installation_target=(self.org, (self.repos or [""])[0]),
            refresh_margin=float(options.get("app_token_refresh_seconds", 300)),
            max_retries=int(options.get("max_retries", 5)),
            backoff=float(options.get("backoff_seconds", 1.0)),
            max_wait=float(options.get("max_wait_seconds", 900)),
            progress=self.progress,
        )

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.api.counts)

    def check(self) -> None:
        answer = self.api.get("/rate_limit", what="rate limit")
        if answer.status != 200:
            raise ConnectorError(f"GitHub answered {answer.status} for /rate_limit; is api_url right?")

    def records(self) -> Iterator[Record]:
        for page in self.pages():
            yield from page

    def pages(self) -> Iterator[list[Record]]:
        """Lists of records, ``self.checkpoint`` already covering each list when it is yielded."""
        return malformed_answers("GitHub", self._pages())

    def _pages(self) -> Iterator[list[Record]]:
        for repo in self._repositories():
            try:
                yield from self._pull_request_pass(repo)
                yield from self._deployment_pass(repo)
                yield from self._delivery_passes(repo)
            except (RepositoryGoneError, RepositoryGone) as exc:
                self.problems.append(f"{repo.full_name}: skipped, {exc}")
        if self.org and not self.only:
            yield from self._teams()

    # --- which repositories, and which changed --------------------------------------------------------
    def _repositories(self) -> Iterator[RepoInfo]:
        names = self.only or self.repos
        if self.org and not self.only:
            yield from self._organization_repositories()
            return
        for start in range(0, len(names), NAMED_BATCH):
            batch = names[start : start + NAMED_BATCH]
            variables: dict[str, Any] = {"environments": self.environments}
            for i, full_name in enumerate(batch):
                variables[f"o{i}"], _, variables[f"n{i}"] = full_name.partition("/")
            data = self.api.graphql(q.named_repositories_query(len(batch)), variables, what="repositories")
            for i, full_name in enumerate(batch):
                node = data.get(f"r{i}")
                if node is None:
                    self.problems.append(f"{full_name}: skipped, not found or not accessible with this token")
                else:
                    yield _repo_info(node)

    def _organization_repositories(self) -> Iterator[RepoInfo]:
        after = None
        while True:
            variables = {"org": self.org, "after": after, "environments": self.environments}
            what = f"repositories of {self.org}"
            data = self.api.graphql(q.ORGANIZATION_REPOSITORIES, variables, what=what)
            organization = data.get("organization")
            if organization is None:
                raise ConnectorError(
                    f"GitHub organization {self.org!r} does not exist or the token cannot see it"
                )
            connection = organization["repositories"]
            for node in connection["nodes"]:
                yield _repo_info(node)
            if not connection["pageInfo"]["hasNextPage"]:
                return
            after = connection["pageInfo"]["endCursor"]

    # --- checkpoint helpers ------------------------------------------------------------------------------
    def _state(self, full_name: str, part: str) -> dict[str, Any]:
        return dict(self.checkpoint.get("repos", {}).get(full_name, {}).get(part, {}))

    def _save(self, full_name: str, part: str, state: dict[str, Any]) -> None:
        checkpoint = copy.deepcopy(self.checkpoint)
        checkpoint.setdefault("repos", {}).setdefault(full_name, {})[part] = state
        self.checkpoint = checkpoint

    def _repository_page(
        self, query: str, variables: dict[str, Any], field: str, *, what: str, **options: Any
    ) -> dict[str, Any]:
        """One page of a repository's connection ``field``; a repository gone from view is an error."""
        data = self.api.graphql(query, variables, what=what, **options)
        if data.get("repository") is None:
            raise RepositoryGoneError("deleted or no longer accessible with this token")
        return dict(data["repository"][field])

    # --- pull requests ----------------------------------------------------------------------------------
    def _pull_request_pass(self, repo: RepoInfo) -> Iterator[list[Record]]:
        state = self._state(repo.full_name, "prs")
        if not state.get("cursor") and not _newer(repo.pr_fresh, state.get("bookmark")):
            return
        bookmark = ts(state.get("bookmark"))
        owner, _, name = repo.full_name.partition("/")
        variables: dict[str, Any] = {"owner": owner, "name": name, "first": self.page_size}
        done_count = 0
        while True:
            variables["after"] = state.get("cursor")
            connection = self._repository_page(
                q.PULL_REQUESTS,
                variables,
                "pullRequests",
                what=f"pull requests of {repo.full_name}",
                on_server_error=_halve_first,
            )
            nodes = connection["nodes"]
            if state.get("top") is None:
                state["top"] = nodes[0]["updatedAt"] if nodes else state.get("bookmark")
            fresh = [n for n in nodes if bookmark is None or (ts(n["updatedAt"]) or bookmark) >= bookmark]
            records: list[Record] = [repo.record]
            for node in fresh:
                self._complete(node, repo.full_name)
                records.extend(pull_request_records(repo.full_name, node, default_branch=repo.default_branch))
            state, finished = _next_state(
                state, connection, len(fresh) < len(nodes), done={"bookmark": state["top"]}
            )
            self._save(repo.full_name, "prs", state)
            done_count += len(fresh)
            self.progress(f"{repo.full_name}: pull requests", done_count, connection.get("totalCount"))
            yield records
            if finished:
                return

    def _complete(self, node: dict[str, Any], full_name: str) -> None:
        """Fetch the commits, reviews and comments beyond the first page of a large pull request."""
        while True:
            wanted = {
                "commits": _has_more(node, "commits"),
                "reviews": _has_more(node, "reviews"),
                "comments": _has_more(node, "comments") and not has_review_or_comment_by_others(node),
            }
            if not any(wanted.values()):
                return
            variables: dict[str, Any] = {"id": node["id"], **wanted}
            for part in wanted:
                variables[f"{part}After"] = node[part]["pageInfo"]["endCursor"]
            data = self.api.graphql(
                q.PULL_REQUEST_REST, variables, what=f"pull request {full_name}#{node['number']}"
            )
            rest = data.get("node")
            if rest is None:
                raise RepositoryGoneError(f"pull request #{node['number']} disappeared")
            for part, asked in wanted.items():
                if asked:
                    node[part]["nodes"].extend(rest[part]["nodes"])
                    node[part]["pageInfo"] = rest[part]["pageInfo"]
                else:
                    node[part]["pageInfo"] = {"hasNextPage": False, "endCursor": None}

    # --- deployments ------------------------------------------------------------------------------------
    def _deployment_pass(self, repo: RepoInfo) -> Iterator[list[Record]]:
        state = self._state(repo.full_name, "deployments")
        if not state.get("cursor") and not _newer(repo.deploy_fresh, state.get("seen")):
            return
        oldest = ts(state.get("bookmark"))
        owner, _, name = repo.full_name.partition("/")
        state.setdefault("top_seen", repo.deploy_fresh)
        while True:
            variables = {
                "owner": owner,
                "name": name,
                "after": state.get("cursor"),
                "environments": self.environments,
            }
            connection = self._repository_page(
                q.DEPLOYMENTS, variables, "deployments", what=f"deployments of {repo.full_name}"
            )
            nodes = connection["nodes"]
            if state.get("top") is None:
                state["top"] = nodes[0]["createdAt"] if nodes else state.get("bookmark")
            limit = oldest - DEPLOYMENT_REREAD if oldest else None
            keep = [n for n in nodes if limit is None or (ts(n["createdAt"]) or limit) >= limit]
            records: list[Record] = [repo.record]
            records += [r for r in (deployment_record(repo.full_name, n) for n in keep) if r is not None]
            state, finished = _next_state(
                state,
                connection,
                len(keep) < len(nodes),
                done={"bookmark": state["top"], "seen": state["top_seen"]},
            )
            self._save(repo.full_name, "deployments", state)
            yield records
            if finished:
                return

    # --- production workflow runs and incident issues (REST, connectors.github_delivery) ------------------
    def _delivery_passes(self, repo: RepoInfo) -> Iterator[list[Record]]:
        name = repo.full_name
        for workflow in self.workflows:
            part = f"runs:{workflow}"
            try:
                yield from workflow_pages(
                    self.api,
                    name,
                    workflow,
                    self._state(name, part),
                    lambda state, part=part: self._save(name, part, state),  # type: ignore[misc]
                    environment=self.workflow_environment,
                    branch=self.workflow_branch,
                    per_page=min(self.page_size, 100),
                )
            except RepositoryGone as exc:  # this workflow only: the repository's other passes go on
                self.problems.append(f"{name}: production workflow not read ({exc})")
        if self.incident_label:
            yield from incident_pages(
                self.api,
                name,
                self.incident_label,
                self._state(name, "incidents"),
                lambda state: self._save(name, "incidents", state),
                per_page=min(self.page_size, 100),
            )

    # --- teams ----------------------------------------------------------------------------------------------
    def _teams(self) -> Iterator[list[Record]]:
        state = copy.deepcopy(self.checkpoint.get("teams", {}))
        synced = ts(state.get("synced_at"))
        now = datetime.now(UTC)
        if synced is not None and now - synced < self.teams_interval:
            return
        reader = TeamReader(self.api, self.org, state.get("lists", {}))
        records, problem = reader.memberships(now=now)
        if problem:
            self.problems.append(problem)
            return
        checkpoint = copy.deepcopy(self.checkpoint)
        checkpoint["teams"] = {"synced_at": now.isoformat(), "lists": reader.lists}
        self.checkpoint = checkpoint
        self.progress(f"{self.org}: teams", len(records), len(records))
        yield list(records)


def _has_more(node: dict[str, Any], part: str) -> bool:
    return bool(((node.get(part) or {}).get("pageInfo") or {}).get("hasNextPage"))


def _next_state(
    state: dict[str, Any], connection: dict[str, Any], reached_old: bool, *, done: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """The checkpoint after a newest-first page: ``done`` once the pass reached what it had already read
    (or the last page), else the cursor of the next page."""
    if reached_old or not connection["pageInfo"]["hasNextPage"]:
        return done, True
    return {**state, "cursor": connection["pageInfo"]["endCursor"]}, False


def _halve_first(variables: dict[str, Any]) -> None:
    variables["first"] = max(10, int(variables["first"]) // 2)
