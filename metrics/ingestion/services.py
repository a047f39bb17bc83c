"""Ingestion services: connector records -> idempotent upserts on natural keys.

``records_ingest`` is the one entry point every connector run goes through: it stores a batch
of records inside one transaction (nothing half-written) and re-derives what depends on them
(AI evidence, bot flags, reverts).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction

from connectors.records import (
    PR_SHAPE,
    PR_TIMES,
    AIModelUsageRecord,
    AISeatRecord,
    AIUsageRecord,
    CommitAIAttributionRecord,
    CommitRecord,
    DeploymentRecord,
    IncidentRecord,
    PullRequestRecord,
    Record,
    RepositoryRecord,
    ReviewRecord,
    TeamMembershipRecord,
)
from metrics.analytics import ai_detection
from metrics.core.memory import fewer_collections
from metrics.core.models import Repository
from metrics.ingestion.bulk import upsert
from metrics.ingestion.delivery import incidents_link, incidents_upsert
from metrics.ingestion.derive import repository_derive
from metrics.ingestion.models import AIEvidence, Commit, Deployment, PullRequest, Review
from metrics.ingestion.people import people_resolve
from metrics.ingestion.teams import memberships_upsert
from metrics.ingestion.usage import (
    ai_model_usage_upsert,
    ai_seats_upsert,
    ai_usage_upsert,
    commit_attributions_upsert,
)

CHUNK = 500

PR_FIELDS = (
    "title",
    "body",
    "reverts_number",
    "state",
    "is_draft",
    *PR_TIMES,
    *PR_SHAPE,
    "labels",
    "updated_at",
    "author_id",
)


@dataclass
class IngestSummary:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    repository_ids: set[int] = field(default_factory=set)  # the repositories the batch touched

    def add(self, key: str, n: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _offset_minutes(value: datetime | None) -> int | None:
    offset = value.utcoffset() if value is not None else None
    return int(offset.total_seconds() // 60) if offset is not None else None


def repository_upsert(*, record: RepositoryRecord) -> Repository:
    repo, _ = Repository.objects.update_or_create(
        full_name=record.full_name,
        defaults={"host": record.host, "default_branch": record.default_branch, "url": record.url},
    )
    return repo


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def commit_ids(*, repository: Repository, shas: Iterable[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in _chunks(list(shas)):
        ids.update(Commit.objects.filter(repository=repository, sha__in=chunk).values_list("sha", "id"))
    return ids


def commits_upsert(*, repository: Repository, records: list[CommitRecord]) -> int:
    """Insert commits not yet stored (commits are immutable); returns how many were new."""
    existing = commit_ids(repository=repository, shas=[r.sha for r in records])
    fresh = [r for r in records if r.sha not in existing]
    people = people_resolve(identities=[r.author for r in fresh])
    rows = [
        Commit(
            repository=repository,
            sha=r.sha,
            author_id=people.get(r.author.key),
            authored_at=_utc(r.authored_at),
            author_tz_offset=_offset_minutes(r.authored_at),
            committed_at=_utc(r.committed_at),
            message=r.message,
            is_merge=r.is_merge,
            additions=r.additions,
            deletions=r.deletions,
            changed_files=r.changed_files,
            on_default_branch=r.on_default_branch,
        )
        for r in fresh
    ]
    upsert(Commit, rows, unique=["repository", "sha"])
    # Reachability from the default branch can change (a PR branch merged since the last import).
    landed = [r.sha for r in records if r.on_default_branch and r.sha in existing]
    for chunk in _chunks(landed):
        Commit.objects.filter(repository=repository, sha__in=chunk, on_default_branch=False).update(
            on_default_branch=True
        )
    ids = commit_ids(repository=repository, shas=[r.sha for r in fresh])
    evidence = [
        AIEvidence(commit_id=ids[r.sha], tool=e.tool, kind=e.kind, matched_text=e.matched_text)
        for r in fresh
        for e in ai_detection.commit_evidence(r.message, r.author.name, r.author.email)
    ]
    upsert(AIEvidence, evidence)
    return len(fresh)


def _pr_row(repository: Repository, r: PullRequestRecord, author_id: int | None) -> PullRequest:
    return PullRequest(
        repository=repository,
        number=r.number,
        title=r.title,
        body=r.body,
        reverts_number=r.reverts_number,
        author_id=author_id,
        state=r.state,
        is_draft=r.is_draft,
        created_at=_utc(r.created_at),
        ready_at=_utc(r.ready_at),
        first_commit_at=_utc(r.first_commit_at),
        first_review_at=_utc(r.first_review_at),
        approved_at=_utc(r.approved_at),
        merged_at=_utc(r.merged_at),
        closed_at=_utc(r.closed_at),
        additions=r.additions,
        deletions=r.deletions,
        changed_files=r.changed_files,
        commits_count=r.commits_count,
        head_branch=r.head_branch[:300],
        base_branch=r.base_branch[:300],
        merge_sha=r.merge_sha,
        merge_style=r.merge_style,
        labels=list(r.labels),
        updated_at=_utc(r.updated_at),
    )


def pull_requests_upsert(*, repository: Repository, records: list[PullRequestRecord]) -> tuple[int, int]:
    """Upsert PRs on (repository, number) with their commit links; returns (new, updated)."""
    by_number = {r.number: r for r in records}  # one PR per number: the last record wins
    records = list(by_number.values())
    existing = set(_pr_ids(repository, by_number))
    people = people_resolve(identities=[r.author for r in records])
    rows = [_pr_row(repository, r, people.get(r.author.key) if r.author else None) for r in records]
    upsert(
        PullRequest, rows, unique=["repository", "number"], update=[f.removesuffix("_id") for f in PR_FIELDS]
    )
    ids = _pr_ids(repository, by_number)
    _pr_commits_replace(repository, {ids[r.number]: r.commit_shas for r in records if r.commit_shas})
    _pr_evidence_replace(repository, [(ids[r.number], r) for r in records])
    new = sum(1 for r in records if r.number not in existing)
    return new, len(records) - new


def _pr_ids(repository: Repository, numbers: Iterable[int]) -> dict[int, int]:
    """PR number -> id for the given numbers only: a page of a sync reads its own PRs, never the whole
    repository's (which made a first sync of a large repository quadratic)."""
    ids: dict[int, int] = {}
    for chunk in _chunks(sorted(set(numbers))):
        ids.update(
            PullRequest.objects.filter(repository=repository, number__in=chunk).values_list("number", "id")
        )
    return ids


def _pr_commits_replace(repository: Repository, links: dict[int, tuple[str, ...]]) -> None:
    through = PullRequest.commits.through
    sha_ids = commit_ids(repository=repository, shas={s for shas in links.values() for s in shas})
    for chunk in _chunks(list(links)):
        through.objects.filter(pullrequest_id__in=chunk).delete()
    rows = [
        through(pullrequest_id=pr_id, commit_id=sha_ids[sha])
        for pr_id, shas in links.items()
        for sha in dict.fromkeys(shas)
        if sha in sha_ids
    ]
    upsert(through, rows, unique=["pullrequest", "commit"])


def _pr_evidence_replace(repository: Repository, items: list[tuple[int, PullRequestRecord]]) -> None:
    for chunk in _chunks([pr_id for pr_id, _ in items]):
        AIEvidence.objects.filter(pull_request_id__in=chunk).delete()
    rows = []
    for pr_id, r in items:
        author = r.author
        found = ai_detection.pull_request_evidence(
            r.head_branch,
            r.labels,
            author.name if author else "",
            author.email if author else "",
            author.login if author else "",
            body=r.body,
        )
        if r.ai_tool:
            found.append(ai_detection.Evidence(r.ai_tool, "explicit", r.ai_tool))
        rows += [
            AIEvidence(pull_request_id=pr_id, tool=e.tool, kind=e.kind, matched_text=e.matched_text)
            for e in found
        ]
    upsert(AIEvidence, rows)


def reviews_upsert(*, repository: Repository, records: list[ReviewRecord]) -> int:
    pr_ids = _pr_ids(repository, (r.pr_number for r in records))
    people = people_resolve(identities=[r.reviewer for r in records])
    rows = [
        Review(
            pull_request_id=pr_ids[r.pr_number],
            reviewer_id=people.get(r.reviewer.key),
            state=r.state,
            submitted_at=_utc(r.submitted_at),
            external_id=r.external_id or f"{r.reviewer.key}@{r.submitted_at.isoformat()}",
        )
        for r in records
        if r.pr_number in pr_ids
    ]
    Review.objects.bulk_create(
        rows,
        batch_size=CHUNK,
        update_conflicts=True,
        unique_fields=["pull_request", "external_id"],
        update_fields=["reviewer", "state", "submitted_at"],
    )
    return len(rows)


DEPLOYMENT_FIELDS = (
    "environment",
    "is_production",
    "sha",
    "status",
    "created_at",
    "finished_at",
    "source",
    "url",
    "updated_at",
)


def deployments_upsert(*, repository: Repository, records: list[DeploymentRecord]) -> int:
    """Upsert deployments on (repository, external_id); a later status of the same deployment wins."""
    by_id = {r.external_id: r for r in records}
    rows = [
        Deployment(
            repository=repository,
            external_id=r.external_id[:100],
            environment=r.environment[:100],
            is_production=r.is_production,
            sha=r.sha[:64],
            status=r.status[:20],
            created_at=_utc(r.created_at),
            finished_at=_utc(r.finished_at),
            source=r.source[:40],
            url=r.url[:500],
        )
        for r in by_id.values()
    ]
    upsert(Deployment, rows, unique=["repository", "external_id"], update=DEPLOYMENT_FIELDS)
    return len(rows)


def records_ingest(
    *, records: Iterable[Record], default_repository: str = "", derive: bool = True
) -> IngestSummary:
    """Store a batch of records atomically and re-derive evidence and reverts of touched repositories.

    Derivation reads the whole repository, so a caller that stores many batches of one repository (a
    sync's pages) passes ``derive=False`` and calls ``repositories_derive`` once at the end: deriving per
    page made a first sync quadratic."""
    summary = IngestSummary()
    grouped: dict[type, list] = defaultdict(list)
    for record in records:
        grouped[type(record)].append(record)
    with fewer_collections(), transaction.atomic():
        repos = {r.full_name: repository_upsert(record=r) for r in grouped[RepositoryRecord]}

        def repo(name: str) -> Repository:
            name = name or default_repository
            if name not in repos:
                repos[name] = repository_upsert(record=RepositoryRecord(full_name=name))
            return repos[name]

        for name, items in _by_repo(grouped[CommitRecord]).items():
            summary.add("commits_new", commits_upsert(repository=repo(name), records=items))
        for name, items in _by_repo(grouped[PullRequestRecord]).items():
            new, updated = pull_requests_upsert(repository=repo(name), records=items)
            summary.add("prs_new", new)
            summary.add("prs_updated", updated)
        for name, items in _by_repo(grouped[ReviewRecord]).items():
            summary.add("reviews", reviews_upsert(repository=repo(name), records=items))
        for name, items in _by_repo(grouped[DeploymentRecord]).items():
            summary.add("deployments", deployments_upsert(repository=repo(name), records=items))
        _incidents_into(summary, grouped, repo)
        if grouped[TeamMembershipRecord]:
            summary.add("memberships", memberships_upsert(records=grouped[TeamMembershipRecord]))
        _ai_records_upsert(summary, grouped)
        summary.repository_ids.update(r.pk for r in repos.values())
        if derive:
            _derive_into(summary, repos.values())
    return summary


def _incidents_into(
    summary: IngestSummary, grouped: dict[type, list], repo: Callable[[str], Repository]
) -> None:
    """Store the batch's incidents, and re-link them and the incidents of the repositories whose
    deployments the batch stored (a deployment stored after its incident links it)."""
    incident_ids: list[int] = []
    if grouped[IncidentRecord]:
        incident_ids = incidents_upsert(records=grouped[IncidentRecord], repository=repo)
        summary.add("incidents", len(incident_ids))
    if grouped[DeploymentRecord] or incident_ids:
        touched = {repo(r.repository).pk for r in grouped[DeploymentRecord]}
        incidents_link(repository_ids=touched, incident_ids=incident_ids)


def _ai_records_upsert(summary: IngestSummary, grouped: dict[type, list]) -> None:
    """AI-tool usage, seats, per-model days and line attribution (no repository needed)."""
    usage, models = grouped[AIUsageRecord], grouped[AIModelUsageRecord]
    people = people_resolve(identities=[r.user for r in (*usage, *models) if r.user is not None])
    if usage or grouped[AISeatRecord]:
        summary.add("ai_usage_days", ai_usage_upsert(records=usage, people=people))
        summary.add("ai_seats", ai_seats_upsert(records=grouped[AISeatRecord]))
    if models:
        summary.add("ai_model_days", ai_model_usage_upsert(records=models, people=people))
    if grouped[CommitAIAttributionRecord]:
        attributions = grouped[CommitAIAttributionRecord]
        summary.add("ai_attributions", commit_attributions_upsert(records=attributions))


def _derive_into(summary: IngestSummary, repositories: Iterable[Repository]) -> None:
    for repository in repositories:
        for key, value in repository_derive(repository=repository).items():
            summary.add(key, value)


def repositories_derive(
    *,
    repository_ids: Iterable[int],
    pr_ids: Collection[int] | None = None,
    changed: set[int] | None = None,
) -> IngestSummary:
    """Re-derive bot flags, AI classification and reverts of these repositories, in one transaction; the
    AI classification of ``pr_ids`` only, when given (``derive.repository_derive``); ``changed`` receives
    the ids of the PRs whose derived columns changed."""
    summary = IngestSummary()
    with transaction.atomic():
        for repository in Repository.objects.filter(pk__in=sorted(set(repository_ids))).order_by("pk"):
            counts = repository_derive(repository=repository, pr_ids=pr_ids, changed=changed)
            for key, value in counts.items():
                summary.add(key, value)
    return summary


def _by_repo(items: list) -> dict[str, list]:
    grouped: dict[str, list] = defaultdict(list)
    for item in items:
        grouped[item.repository].append(item)
    return grouped
