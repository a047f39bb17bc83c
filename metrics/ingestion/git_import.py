"""Importing a local git repository: connector -> records_ingest -> snapshots, tracked as a SyncRun."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from connectors.base import ConnectorError, ProgressCallback, SourceConfig
from connectors.local_git import LocalGitConnector
from connectors.records import RepositoryRecord
from metrics.core.models import Repository, Team
from metrics.ingestion.models import PullRequest, SyncRun
from metrics.ingestion.recompute import recompute_request
from metrics.ingestion.services import records_ingest
from metrics.ingestion.teams import team_find


class UnknownTeamError(ConnectorError):
    pass


def git_import(
    *, path: Path, name: str = "", team: str = "", branch: str = "", progress: ProgressCallback | None = None
) -> dict[str, int]:
    """Import (or re-import) one repository; returns counts for the closing summary, with
    ``dates_discarded`` (commit dates stored as unknown) and ``dates_example`` (the first of them).

    Nothing is stored when the path is not a repository or the team is unknown; the records of one
    import are stored in one transaction.
    """
    team_obj: Team | None = None
    if team:
        team_obj = team_find(name=team)
        if team_obj is None:
            raise UnknownTeamError(
                f"unknown team {team!r}: create it first with `manage.py import_teams FILE.csv`"
            )
    connector = LocalGitConnector(
        SourceConfig(
            kind="git", name=name or str(path), location=str(path), options={"name": name, "branch": branch}
        ),
        progress=progress,
    )
    connector.check()
    run = SyncRun.objects.create(kind="git", source=str(path))
    try:
        records = list(connector.records())
        repo_name = next(r.full_name for r in records if isinstance(r, RepositoryRecord))
        if progress:
            progress("storing", 0, None)
        summary = records_ingest(records=records)
        with transaction.atomic():
            if team_obj is not None:
                Repository.objects.filter(full_name=repo_name).update(team=team_obj)
        if progress:
            progress("computing metrics", 0, None)
        recompute_request(reason=f"import_git {repo_name}")
    except Exception as exc:
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncRun.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    repo = Repository.objects.get(full_name=repo_name)
    prs = PullRequest.objects.filter(repository=repo)
    counts = {
        "commits": repo.commits.count(),
        "commits_new": summary.counts.get("commits_new", 0),
        "prs": prs.count(),
        "prs_merged": prs.filter(state="merged").count(),
        "prs_new": summary.counts.get("prs_new", 0),
        "reverts": summary.counts.get("reverts", 0),
        "ai_assisted_prs": summary.counts.get("ai_assisted_prs", 0),
        # Forged or broken commit dates are stored as unknown (connectors.timebounds); say how many.
        "dates_discarded": connector.discarded_dates,
    }
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRun.Status.SUCCEEDED, counts=counts, finished_at=timezone.now(), source=repo_name
    )
    return {"repository": repo_name, **counts, "dates_example": connector.discarded_example}  # type: ignore[dict-item]
