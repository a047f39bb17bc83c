"""The GitHub connector's delivery passes over REST (through ``GitHubApi``, so PyGithub's requester, the
rate-limit rules and the retries are the same as for everything else it reads):

* **production workflow runs** (option ``production_workflows``: workflow file names or ids, e.g.
  ``deploy.yml``): ``GET /repos/{owner}/{repo}/actions/workflows/{workflow}/runs``, newest first, page by
  page until the runs are older than the bookmark.  No ``created``/``branch`` filter is sent: with one,
  GitHub returns at most 1,000 runs.  Each run is a production ``DeploymentRecord`` (source
  ``github_actions``, environment ``workflow_environment``, default ``production``), created at
  ``run_started_at``, finished at ``updated_at`` once ``completed``; its status is the run's conclusion
  (``success``, ``failure`` for failure/timed_out/startup_failure, else the conclusion as GitHub spells
  it) or ``in_progress``.  ``workflow_branch`` (optional) keeps only runs of that branch or tag.
* **incident issues** (option ``incident_label``): ``GET /repos/{owner}/{repo}/issues?labels=...&state=all
  &sort=created&direction=asc&since=...`` (``since``: updated at or after; creation order, which an update
  during the pass cannot reshuffle); pull requests carrying the label are skipped.  Each issue is an
  ``IncidentRecord`` (source ``github_issues``, external id ``owner/repo#number``) started when opened,
  resolved when closed; its severity is a label such as ``sev1``, ``severity: high`` or ``P1``.

The first page of each list is asked with the ``ETag`` of the last pass (``If-None-Match``): an unchanged
list is a 304, which costs nothing against the rate limit, so a re-sync with nothing new is free.

Checkpoints (in the GitHub connector's ``repos[full_name]``): ``"runs:<workflow>"``: ``{"since"}`` between
runs, ``{"since", "page", "top", "open"}`` during one (the next run starts at the oldest run still in
progress, else the newest read); ``"incidents"``: ``{"since", "page", "top", "started"}`` during a pass,
``{"since": the newest update read, or the pass's start if earlier}`` between runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from connectors.base import ConnectorError
from connectors.github_client import GitHubApi
from connectors.records import DeploymentRecord, IncidentRecord, Record
from connectors.timebounds import believable

FAILED = {"failure", "timed_out", "startup_failure"}
SEVERITY_LABEL = re.compile(r"(?i)^(?:sev(?:erity)?\b[\s:/_-]*\S+|sev\d|p[0-5])$")
PER_PAGE = 100
CLOCK_MARGIN = timedelta(minutes=10)  # this host's clock against GitHub's


def _ts(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return believable(datetime.fromisoformat(value.replace("Z", "+00:00")))


def _earliest(*values: str | None) -> str | None:
    present = [v for v in values if v and _ts(v) is not None]
    return min(present, key=lambda v: _ts(v) or datetime.min.replace(tzinfo=UTC)) if present else None


def _latest(*values: str | None) -> str | None:
    present = [v for v in values if v and _ts(v) is not None]
    return max(present, key=lambda v: _ts(v) or datetime.min.replace(tzinfo=UTC)) if present else None


def run_record(repository: str, run: dict[str, Any], environment: str) -> DeploymentRecord | None:
    created = _ts(run.get("run_started_at")) or _ts(run["created_at"])
    if created is None:
        return None
    completed = run.get("status") == "completed"
    conclusion = str(run.get("conclusion") or "")
    if not completed:
        status = "in_progress"
    elif conclusion in FAILED:
        status = "failure"
    else:
        status = conclusion or "unknown"
    return DeploymentRecord(
        repository=repository,
        external_id=f"github-actions:{run['id']}",
        environment=environment,
        sha=str(run.get("head_sha") or ""),
        status=status,
        created_at=created,
        finished_at=_ts(run.get("updated_at")) if completed else None,
        is_production=True,
        source="github_actions",
        url=str(run.get("html_url") or ""),
    )


def severity_of(labels: list[str]) -> str:
    return next((label for label in labels if SEVERITY_LABEL.match(label.strip())), "")


def issue_record(repository: str, issue: dict[str, Any]) -> IncidentRecord | None:
    started = _ts(issue["created_at"])
    if started is None:
        return None
    labels = [
        str(label["name"]) if isinstance(label, dict) else str(label) for label in issue.get("labels") or []
    ]
    return IncidentRecord(
        source="github_issues",
        external_id=f"{repository}#{issue['number']}",
        started_at=started,
        title=str(issue.get("title") or ""),
        resolved_at=_ts(issue.get("closed_at")) if issue.get("state") == "closed" else None,
        severity=severity_of(labels),
        repository=repository,
        url=str(issue.get("html_url") or ""),
    )


def _has_next(headers: dict[str, str]) -> bool:
    return 'rel="next"' in headers.get("link", "")


class RepositoryGone(Exception):
    """The repository answered 404 (deleted or no longer visible)."""


def _checked(answer_status: int, data: Any, what: str) -> None:
    if answer_status == 404:
        raise RepositoryGone(f"{what}: 404 Not Found")
    if answer_status != 200:
        message = data.get("message", "") if isinstance(data, dict) else ""
        raise ConnectorError(f"GitHub answered {answer_status} {message} for {what}".strip())


def workflow_pages(
    api: GitHubApi,
    repository: str,
    workflow: str,
    state: dict[str, Any],
    save: Callable[[dict[str, Any]], None],
    *,
    environment: str = "production",
    branch: str = "",
    per_page: int = PER_PAGE,
) -> Iterator[list[Record]]:
    """Pages of production deployments from one workflow's runs (see the module docstring)."""
    since = _ts(state.get("since"))
    page = int(state.get("page") or 1)
    path = f"/repos/{repository}/actions/workflows/{quote(workflow, safe='')}/runs"
    what = f"runs of workflow {workflow} in {repository}"
    while True:
        etag = str(state.get("etag") or "") if page == 1 else ""
        answer = api.get(path, params={"per_page": per_page, "page": page}, etag=etag, what=what)
        if answer.status == 304:
            return  # the list is as the last pass left it (a conditional request is free)
        _checked(answer.status, answer.data, what)
        if page == 1:
            state["first_etag"] = answer.headers.get("etag", "")
        runs = list(answer.data["workflow_runs"])
        keep = [r for r in runs if since is None or (_ts(r["created_at"]) or since) >= since]
        records: list[Record] = []
        for run in keep:
            if not branch or run.get("head_branch") == branch:
                record = run_record(repository, run, environment)
                if record is not None:
                    records.append(record)
            created = str(run["created_at"])
            state["top"] = _latest(state.get("top"), created)
            if run.get("status") != "completed":
                state["open"] = _earliest(state.get("open"), created)
        if len(keep) < len(runs) or not _has_next(answer.headers) or not runs:
            following: dict[str, Any] = {
                "since": _earliest(state.get("open"), state.get("top")) or state.get("since"),
                "etag": state.get("first_etag", ""),
            }
        else:
            page += 1
            following = {**state, "page": page}
        save(following)
        yield records
        if "page" not in following:
            return
        state = following


def incident_pages(
    api: GitHubApi,
    repository: str,
    label: str,
    state: dict[str, Any],
    save: Callable[[dict[str, Any]], None],
    *,
    per_page: int = PER_PAGE,
) -> Iterator[list[Record]]:
    """Pages of incidents from the issues carrying ``label`` (see the module docstring)."""
    if not state.get("started"):
        started = datetime.now(UTC) - CLOCK_MARGIN
        state = {
            "since": state.get("since"),
            "etag": state.get("etag", ""),
            "page": 1,
            "top": None,
            "started": started.isoformat(),
        }
    params: dict[str, Any] = {"labels": label, "state": "all", "sort": "created", "direction": "asc"}
    if state.get("since"):
        params["since"] = state["since"]
    what = f"issues labelled {label!r} in {repository}"
    while True:
        first = int(state["page"]) == 1
        query = {**params, "per_page": per_page, "page": int(state["page"])}
        etag = str(state.get("etag") or "") if first else ""
        answer = api.get(f"/repos/{repository}/issues", params=query, etag=etag, what=what)
        if answer.status == 304:
            save({"since": state.get("since"), "etag": etag})  # nothing changed (a free request)
            return
        _checked(answer.status, answer.data, what)
        if first:
            state["first_etag"] = answer.headers.get("etag", "")
        issues = list(answer.data)
        records: list[Record] = []
        for issue in issues:
            state["top"] = _latest(state.get("top"), str(issue["updated_at"]))
            if "pull_request" in issue:
                continue
            record = issue_record(repository, issue)
            if record is not None:
                records.append(record)
        if issues and _has_next(answer.headers):
            state = {**state, "page": int(state["page"]) + 1}
            save(state)
            yield records
            continue
        # Issues updated after the pass began may have joined the list behind the cursor: start there.
        top = state.get("top")
        since = _earliest(top, state["started"]) if top else state.get("since")
        save({"since": since, "etag": state.get("first_etag", "") if since == state.get("since") else ""})
        yield records
        return
