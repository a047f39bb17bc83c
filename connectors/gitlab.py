"""GitLab (gitlab.com or self-managed) through python-gitlab: merge requests with their commits,
approvals and notes, group members as teams, and deployments.

Options (``SourceConfig.options``):

| option | meaning |
|---|---|
| ``api_url`` | base URL of the instance, default ``https://gitlab.com`` (``/api/v4`` is added) |
| ``group`` | a group path (``acme``, ``acme/platform``): its projects (subgroups included), its members |
| ``project`` / ``projects`` | one project path or a list of them, instead of a group |
| ``checkpoint`` | the bookmark the last run left (``self.checkpoint`` after a run), see below |
| ``only_repositories`` | read only these project paths (a webhook's update); members are not read |
| ``max_retries`` | retries of a 429, 5xx or dropped connection per request (default 5, backoff 0.1s x 2^n) |
| ``max_wait_seconds`` | longest ``Retry-After`` slept through (default 60); longer: a temporary error |
| ``incidents`` | also read each project's incidents (issues of type ``incident``) as ``IncidentRecord`` |

The token (``SourceConfig.secret``) needs ``read_api``.

Incremental: ``checkpoint = {"projects": {"<path>": {"mrs": <updated_at>, "mrs_seen": [ids read at that
time], "deployments": ..., "deployments_seen": [...], "incidents": ..., "incidents_seen": [...]}}}``.
Merge requests, deployments and incidents (``/issues?issue_type=incident&scope=all``) are listed
``order_by=updated_at&sort=asc&updated_after=<bookmark - 1s>`` (a margin whether the server treats the
bound as inclusive or not); items older than the bookmark, or at it and already read, are skipped, so
a re-sync with nothing changed costs one list request per project and kind.  The bookmark moves after
each merge request's records have all been yielded: a caller that stores ``self.checkpoint`` after
committing what it consumed resumes after a crash with nothing lost and nothing read twice but the
merge request it was in (upserts make that harmless).

Errors: a project that is gone or not visible (404/403) is added to ``self.problems`` and the sync goes
on; 401 is a permanent ``ConnectorError`` (no retries); 5xx, 429 and dropped connections are retried by
python-gitlab and, if they outlast the retries, end the run as a temporary ``ConnectorError``.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from connectors.api_urls import api_url_check
from connectors.base import Connector, ConnectorError, ProgressCallback, SourceConfig, malformed_answers
from connectors.gitlab_client import DEFAULT_API_URL, GitLabApi, NotFound, encoded, timestamp
from connectors.gitlab_mrs import (
    MergeRequestDetails,
    approval_noted,
    commit_record,
    is_bot,
    pull_request_record,
    review_records,
)
from connectors.records import (
    DeploymentRecord,
    IdentityRecord,
    IncidentRecord,
    Record,
    RepositoryRecord,
    TeamMembershipRecord,
)

PRODUCTION_NAMES = {"production", "prod"}
DEPLOYMENT_STATUS = {
    "success": "success",
    "failed": "failure",
    "canceled": "cancelled",
    "running": "in_progress",
    "created": "pending",
    "blocked": "waiting",
    "skipped": "skipped",
}


def _project_paths(options: dict[str, Any]) -> list[str]:
    value = options.get("projects") or options.get("project") or []
    paths = [value] if isinstance(value, str) else list(value)
    return [str(path).strip("/") for path in paths if str(path).strip("/")]


def _since(bookmark: dict[str, Any], key: str) -> str | None:
    """``updated_after`` for a bookmark: a second earlier, so no item on the boundary is ever missed."""
    when = timestamp(bookmark.get(key))
    return (when - timedelta(seconds=1)).isoformat() if when is not None else None


def _fresh(items: Iterator[dict[str, Any]], bookmark: dict[str, Any], key: str) -> Iterator[dict[str, Any]]:
    """The items not read yet: updated after the bookmark, or at it and not among those read at it."""
    mark = timestamp(bookmark.get(key))
    seen = set(bookmark.get(f"{key}_seen") or ())
    for item in items:
        when = timestamp(item.get("updated_at"))
        if mark is not None and when is not None and (when < mark or (when == mark and item["id"] in seen)):
            continue
        yield item


def _advance(bookmark: dict[str, Any], key: str, item: dict[str, Any]) -> None:
    """Move the bookmark to an item whose records have all been yielded (items come oldest first)."""
    when = timestamp(item.get("updated_at"))
    if when is None:
        return
    if when == timestamp(bookmark.get(key)):
        bookmark[f"{key}_seen"] = [*bookmark.get(f"{key}_seen", []), item["id"]]
    else:
        bookmark[key], bookmark[f"{key}_seen"] = item["updated_at"], [item["id"]]


class GitLabConnector(Connector):
    kind = "gitlab"

    def __init__(self, config: SourceConfig, progress: ProgressCallback | None = None) -> None:
        super().__init__(config, progress)
        options = config.options
        self.group = str(options.get("group") or "").strip("/")
        self.projects = _project_paths(options)
        if not self.group and not self.projects:
            raise ConnectorError(f"GitLab source {config.name!r}: set a 'group' or a 'project' to read")
        self.api = GitLabApi(
            api_url=api_url_check(str(options.get("api_url") or DEFAULT_API_URL)),
            token=config.secret,
            max_retries=int(options.get("max_retries", 5)),
            max_wait=float(options.get("max_wait_seconds", 60)),
        )
        self.only = {str(path).strip("/") for path in options.get("only_repositories") or ()}
        self.incidents = bool(options.get("incidents"))

    @property
    def counts(self) -> dict[str, int]:
        return {"api_requests": self.api.requests}

    def check(self) -> None:
        try:
            self.api.get("/user")
        except NotFound as exc:
            raise ConnectorError(f"GitLab answered {exc} for the current user; is api_url right?") from None

    def records(self) -> Iterator[Record]:
        return malformed_answers("GitLab", self._records())

    def _records(self) -> Iterator[Record]:
        if self.group:
            group = self._group(self.group)
            if not self.only:
                yield from self._memberships(group)
            projects: Iterator[dict[str, Any]] = self.api.pages(
                f"/groups/{group['id']}/projects",
                include_subgroups=True,
                archived=False,
                order_by="id",
                sort="asc",
            )
        else:
            projects = self._listed_projects()
        for project in projects:
            if self.only and project["path_with_namespace"] not in self.only:
                continue
            try:
                yield from self._project_records(project)
            except NotFound as exc:
                self.problems.append(f"project {project['path_with_namespace']} skipped: {exc}")

    def _group(self, path: str) -> dict[str, Any]:
        try:
            return self.api.get(f"/groups/{encoded(path)}")
        except NotFound:
            raise ConnectorError(f"GitLab group {path!r} does not exist or the token cannot see it") from None

    def _listed_projects(self) -> Iterator[dict[str, Any]]:
        wanted = [path for path in self.projects if not self.only or path in self.only]
        for path in wanted:
            try:
                yield self.api.get(f"/projects/{encoded(path)}")
            except NotFound as exc:
                self.problems.append(f"project {path} skipped: {exc}")
        if wanted and len(self.problems) == len(wanted):
            raise ConnectorError(
                f"GitLab source {self.config.name!r}: no project could be read: " + "; ".join(self.problems)
            )

    def _memberships(self, top: dict[str, Any]) -> Iterator[TeamMembershipRecord]:
        """Direct members of the group and of each subgroup: the group is the team, its parent the parent."""
        groups = [top, *self.api.pages(f"/groups/{top['id']}/descendant_groups", order_by="id", sort="asc")]
        names = {group["id"]: str(group["name"]) for group in groups}
        for group in groups:
            parent = "" if group is top else names.get(group.get("parent_id"), "")
            for member in self.api.pages(f"/groups/{group['id']}/members"):
                if is_bot(member) or member.get("state", "active") != "active":
                    continue
                who = IdentityRecord(name=str(member.get("name") or ""), login=str(member["username"]))
                yield TeamMembershipRecord(
                    team=str(group["name"]), identities=(who,), person_name=who.name, parent_team=parent
                )

    def _project_records(self, project: dict[str, Any]) -> Iterator[Record]:
        name = str(project["path_with_namespace"])
        bookmark = self.checkpoint.setdefault("projects", {}).setdefault(name, {})
        params: dict[str, Any] = {"state": "all", "order_by": "updated_at", "sort": "asc"}
        if since := _since(bookmark, "mrs"):
            params["updated_after"] = since
        listed = self.api.pages(f"/projects/{project['id']}/merge_requests", **params)
        # The first page is read before anything is yielded: a project deleted since it was listed
        # leaves no trace but the problem it is recorded as.
        first = next(listed, None)
        yield RepositoryRecord(
            full_name=name,
            host="gitlab",
            default_branch=str(project.get("default_branch") or "main"),
            url=str(project.get("web_url") or ""),
        )
        mrs = itertools.chain([first] if first is not None else [], listed)
        yield from self._merge_requests(project, mrs, bookmark)
        yield from self._deployments(project, bookmark)
        if self.incidents:
            yield from self._incidents(project, bookmark)

    def _merge_requests(
        self, project: dict[str, Any], listed: Iterator[dict[str, Any]], bookmark: dict[str, Any]
    ) -> Iterator[Record]:
        name, base = str(project["path_with_namespace"]), f"/projects/{project['id']}/merge_requests"
        default_branch = project.get("default_branch")
        for done, mr in enumerate(_fresh(listed, bookmark, "mrs"), start=1):
            details = self._details(f"{base}/{mr['iid']}")
            landed = mr.get("state") == "merged" and mr.get("target_branch") == default_branch
            for commit in details.commits:
                # Squashed MRs land one new commit; their own commits stay off the default branch.
                yield commit_record(name, commit, landed=landed and not mr.get("squash"))
            yield pull_request_record(name, mr, details)
            yield from review_records(name, mr, details)
            _advance(bookmark, "mrs", mr)
            self.progress(f"{name}: merge requests", done, None)

    def _details(self, base: str) -> MergeRequestDetails:
        details = MergeRequestDetails(
            commits=list(self.api.pages(f"{base}/commits")),
            notes=list(self.api.pages(f"{base}/notes", order_by="created_at", sort="asc")),
        )
        # Every approval leaves a system note, so /approvals is asked only when there is one (it adds who
        # still approves and, since GitLab 16.x, approved_at).  Where it is switched off or missing from
        # the edition, the notes alone tell who approved when.
        if approval_noted(details.notes):
            with contextlib.suppress(NotFound):
                details.approvals = self.api.get(f"{base}/approvals")
        try:
            details.diffs = list(self.api.pages(f"{base}/diffs"))
        except NotFound:
            details.diffs = None  # GitLab before 15.7 has no /diffs: size stays unknown
        return details

    def _deployments(self, project: dict[str, Any], bookmark: dict[str, Any]) -> Iterator[DeploymentRecord]:
        name, base = str(project["path_with_namespace"]), f"/projects/{project['id']}"
        params: dict[str, Any] = {"order_by": "updated_at", "sort": "asc"}
        if since := _since(bookmark, "deployments"):
            params["updated_after"] = since
        tiers: dict[str, str] | None = None
        try:
            listed = self.api.pages(f"{base}/deployments", **params)
            for deployment in _fresh(listed, bookmark, "deployments"):
                if tiers is None:  # only projects that deploy pay for the environments list
                    environments = self.api.pages(f"{base}/environments")
                    tiers = {str(e["name"]): str(e.get("tier") or "") for e in environments}
                record = _deployment_record(name, deployment, tiers)
                if record is not None:
                    yield record
                _advance(bookmark, "deployments", deployment)
        except NotFound:
            return  # deployments switched off for this project (403): nothing to read

    def _incidents(self, project: dict[str, Any], bookmark: dict[str, Any]) -> Iterator[IncidentRecord]:
        name = str(project["path_with_namespace"])
        params: dict[str, Any] = {
            "issue_type": "incident",
            "scope": "all",
            "order_by": "updated_at",
            "sort": "asc",
        }
        if since := _since(bookmark, "incidents"):
            params["updated_after"] = since
        try:
            for issue in _fresh(
                self.api.pages(f"/projects/{project['id']}/issues", **params), bookmark, "incidents"
            ):
                record = _incident_record(name, issue)
                _advance(
                    bookmark, "incidents", issue
                )  # one record an issue: the bookmark covers it as it goes
                if record is not None:
                    yield record
        except NotFound:
            return  # issues switched off for this project: no incidents to read


def _incident_record(repository: str, issue: dict[str, Any]) -> IncidentRecord | None:
    """A GitLab incident: started when opened, resolved when closed; severity GitLab's own (``CRITICAL``..
    ``LOW``; ``UNKNOWN`` is none), else a ``severity::`` scoped label."""
    started = timestamp(issue.get("created_at"))
    if started is None:
        return None
    severity = str(issue.get("severity") or "")
    if severity.upper() == "UNKNOWN":
        severity = ""
    if not severity:
        labels = [str(label) for label in issue.get("labels") or []]
        severity = next((lb.split("::", 1)[1] for lb in labels if lb.lower().startswith("severity::")), "")
    return IncidentRecord(
        source="gitlab",
        external_id=str(issue["id"]),
        started_at=started,
        title=str(issue.get("title") or ""),
        resolved_at=timestamp(issue.get("closed_at")) if issue.get("state") == "closed" else None,
        severity=severity,
        repository=repository,
        url=str(issue.get("web_url") or ""),
    )


def _deployment_record(
    repository: str, deployment: dict[str, Any], tiers: dict[str, str]
) -> DeploymentRecord | None:
    environment = deployment.get("environment") or {}
    env_name = str(environment.get("name") or "")
    created = timestamp(deployment.get("created_at"))
    if created is None:
        return None
    tier = str(environment.get("tier") or tiers.get(env_name, ""))
    status = DEPLOYMENT_STATUS.get(str(deployment.get("status")), str(deployment.get("status") or ""))
    deployable = deployment.get("deployable") or {}
    finished = timestamp(deployment.get("finished_at") or deployable.get("finished_at"))
    if finished is None and status == "success":
        finished = timestamp(deployment.get("updated_at"))
    return DeploymentRecord(
        repository=repository,
        external_id=str(deployment["id"]),
        environment=env_name,
        sha=str(deployment.get("sha") or ""),
        status=status,
        created_at=created,
        finished_at=finished,
        is_production=env_name.lower() in PRODUCTION_NAMES or tier == "production",
        source="gitlab",
        url=str(deployable.get("web_url") or ""),
    )
