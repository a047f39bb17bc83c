"""Framework-free, frozen records that connectors yield and ingestion services upsert.

Every datetime is timezone-aware.  Connectors keep the original UTC offset (author local
time means something); the ingestion layer stores UTC plus the offset in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """How a person appears in one source: any of e-mail, host login, display name."""

    name: str = ""
    email: str = ""
    login: str = ""

    @property
    def key(self) -> str:
        """The natural key used to find the same identity again (e-mail, else login, else name)."""
        if self.email:
            return "email:" + self.email.strip().lower()
        if self.login:
            return "login:" + self.login.strip().lower()
        return "name:" + self.name.strip().lower()


@dataclass(frozen=True, slots=True)
class RepositoryRecord:
    full_name: str
    host: str = "git"
    default_branch: str = "main"
    url: str = ""


@dataclass(frozen=True, slots=True)
class CommitRecord:
    repository: str
    sha: str
    parents: tuple[str, ...]
    author: IdentityRecord
    committer: IdentityRecord
    authored_at: datetime | None
    committed_at: datetime | None
    message: str
    additions: int = 0
    deletions: int = 0
    changed_files: int = 0
    on_default_branch: bool = False

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0].strip()


@dataclass(frozen=True, slots=True)
class PullRequestRecord:
    repository: str
    number: int
    title: str
    author: IdentityRecord | None
    state: str  # open | closed | merged
    created_at: datetime | None = None
    ready_at: datetime | None = None
    first_commit_at: datetime | None = None
    first_review_at: datetime | None = None
    approved_at: datetime | None = None
    merged_at: datetime | None = None
    closed_at: datetime | None = None
    updated_at: datetime | None = None
    is_draft: bool = False
    additions: int | None = None
    deletions: int | None = None
    changed_files: int | None = None
    commits_count: int | None = None
    head_branch: str = ""
    base_branch: str = ""
    merge_sha: str = ""
    body: str = ""
    labels: tuple[str, ...] = ()
    commit_shas: tuple[str, ...] = ()
    merge_style: str = ""  # merge | squash | gitlab | api | file
    reverts_number: int | None = None  # explicit link from a file or API
    ai_tool: str = ""  # explicit tool from a file or API


# The moments of a pull request's life, in order: ``PullRequestRecord`` fields and ``PullRequest`` columns.
PR_TIMES = (
    "created_at",
    "ready_at",
    "first_commit_at",
    "first_review_at",
    "approved_at",
    "merged_at",
    "closed_at",
)
# What a pull request's record says of its size and branches: fields and columns of the same names.
PR_SHAPE = (
    "additions",
    "deletions",
    "changed_files",
    "commits_count",
    "head_branch",
    "base_branch",
    "merge_sha",
    "merge_style",
)


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    repository: str
    pr_number: int
    reviewer: IdentityRecord
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED
    submitted_at: datetime
    external_id: str = ""


@dataclass(frozen=True, slots=True)
class TeamMembershipRecord:
    """One person in one team for a span of time (end None = still a member)."""

    team: str
    identities: tuple[IdentityRecord, ...]
    person_name: str = ""
    parent_team: str = ""
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    repository: str
    external_id: str
    environment: str
    sha: str
    status: str  # success | failure | error | in_progress | ...
    created_at: datetime
    finished_at: datetime | None = None
    is_production: bool = False
    source: str = ""  # github_deployments | github_actions | gitlab | webhook | file | ...
    url: str = ""


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """A production incident from an incident tool or tracker (PagerDuty, Opsgenie, issues, Jira, ...).

    ``deployment_id`` / ``sha`` name the causing deployment or commit where the source says; otherwise the
    incident is linked to the last production deployment of its service or repository before it started.
    """

    source: str  # pagerduty | opsgenie | github_issues | gitlab | jira | webhook | file
    external_id: str
    started_at: datetime
    title: str = ""
    resolved_at: datetime | None = None
    severity: str = ""
    service: str = ""  # the tool's service or project name (mapped to repositories in settings)
    repository: str = ""  # owner/name where the source knows it
    deployment_id: str = ""
    sha: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class AIUsageRecord:
    """One user's use of one AI tool on one day; ``user`` None means an organization-wide total."""

    tool: str
    day: date
    user: IdentityRecord | None = None
    active: bool = True
    active_users: int | None = None
    suggestions: int | None = None
    acceptances: int | None = None
    lines_suggested: int | None = None
    lines_accepted: int | None = None
    chat_turns: int | None = None
    cost: float | None = None
    source: str = ""
    # Agentic tools' telemetry (issue 17); None where the source does not say.
    lines_added: int | None = None
    lines_removed: int | None = None
    sessions: int | None = None
    requests: int | None = None
    commits: int | None = None
    pull_requests: int | None = None
    tool_accepts: int | None = None
    tool_rejects: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    extra: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class AIModelUsageRecord:
    """One user's tokens, requests and cost with one model of one AI tool on one day."""

    tool: str
    day: date
    model: str
    user: IdentityRecord | None = None
    requests: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost: float | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class CommitAIAttributionRecord:
    """How many of a commit's added lines were written with AI, as one source saw it."""

    sha: str
    source: str
    lines_added: int
    ai_lines_added: int
    lines_deleted: int | None = None
    repository: str = ""
    user: IdentityRecord | None = None
    committed_at: datetime | None = None
    detail: tuple[tuple[str, int | str], ...] = ()


@dataclass(frozen=True, slots=True)
class AISeatRecord:
    tool: str
    user: IdentityRecord
    assigned_at: datetime | None = None
    last_activity_at: datetime | None = None
    plan: str = ""
    cancelled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SurveyResponseRecord:
    """Answers to the built-in question set, from a survey tool's export."""

    external_id: str
    respondent: IdentityRecord | None
    submitted_at: datetime
    team: str = ""
    overall_satisfaction: int | None = None
    ease_of_shipping: int | None = None
    ai_hours_saved_per_week: float | None = None
    ai_tool: str = ""
    ai_frequency: str = ""
    free_text: str = ""


Record = (
    RepositoryRecord
    | CommitRecord
    | PullRequestRecord
    | ReviewRecord
    | TeamMembershipRecord
    | DeploymentRecord
    | IncidentRecord
    | AIUsageRecord
    | AIModelUsageRecord
    | CommitAIAttributionRecord
    | AISeatRecord
    | SurveyResponseRecord
)
