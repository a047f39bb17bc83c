"""The exported columns of every endpoint: one list drives the JSON serializer, the CSV and the schema
(``column_types``: what a column is and how the lists become rows).

Each column is selected under an alias ``c_<name>`` (names such as ``author`` or ``repository`` would
clash with model fields), typed for JSON and text-formatted in SQL for CSV (see ``sql.py``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    F,
    Q,
)
from django.db.models.functions import Coalesce

from connectors.records import PR_TIMES
from metrics.analytics import catalog
from metrics.api.column_types import Column
from metrics.api.sql import HoursBetween, Pseudonym


def _id(help_text: str) -> Column:
    return Column("id", "int", help=help_text, nullable=False)


PERSON_HELP = "stable pseudonym person-<hmac12>, the same in every endpoint"
# On a PR or review row the pseudonym would be undone by the host (repository + number name the person).
PR_PERSON_HELP = PERSON_HELP + "; null unless the token's role is admin or manager"

TEAMS = (
    _id("team id"),
    Column("slug", "text", nullable=False),
    Column("name", "text", nullable=False),
    Column("parent", "text", "parent__slug", "slug of the parent team"),
)
PEOPLE = (
    Column("person", "text", Pseudonym(F("id")), PERSON_HELP, nullable=False),
    Column(
        "name",
        "text",
        "display_name",
        "display name; null unless the token's role is admin or manager",
        personal="id",
    ),
    Column("is_bot", "bool", nullable=False),
)
REPOSITORIES = (
    _id("repository id"),
    Column("full_name", "text", help="owner/name", nullable=False),
    Column("host", "text", nullable=False),
    Column("default_branch", "text", nullable=False),
    Column("url", "text", nullable=False),
    Column("team", "text", "team__slug", "slug of the owning team"),
)
# The phases' spans, by the catalog's rules (deploy needs the deployments: not a column of a PR row).
_API_PHASES = tuple(catalog.PHASE[k] for k in ("coding", "pickup", "review", "cycle", "rework", "merge_wait"))


def _first_known(names: tuple[str, ...]) -> Any:
    return F(names[0]) if len(names) == 1 else Coalesce(*names)


def _span(phase: catalog.Phase) -> HoursBetween:
    return HoursBetween(_first_known(phase.start), _first_known(phase.end))


def _span_help(phase: catalog.Phase) -> str:
    return f"{phase.definition}, hours (null if unknown or negative)"


_PR_TIMES = (*PR_TIMES, "updated_at")
PULL_REQUESTS = (
    _id("pull request id"),
    Column("repository", "text", "repository__full_name", "owner/name", nullable=False),
    Column("number", "int", nullable=False),
    Column("title", "text", nullable=False),
    Column("author", "text", Pseudonym(F("author_id")), PR_PERSON_HELP, personal="author_id"),
    Column("state", "text", help="open | closed | merged", nullable=False),
    Column("is_draft", "bool", nullable=False),
    Column("is_bot", "bool", help="authored by a bot (dependabot, renovate, [bot] accounts)", nullable=False),
    *(Column(name, "datetime", help="UTC") for name in _PR_TIMES),
    Column("additions", "int"),
    Column("deletions", "int"),
    Column("changed_files", "int"),
    Column("commits_count", "int"),
    Column(
        "head_branch", "text", help="null unless the token's role is admin or manager", personal="author_id"
    ),
    Column("base_branch", "text", nullable=False),
    Column("ai_assisted", "bool", help="AI evidence found (a lower bound)", nullable=False),
    Column("ai_tools", "list", help="AI tools with evidence; CSV: separated by ';'", nullable=False),
    Column("reverted_at", "datetime", help="when a still-standing revert of this PR landed"),
    Column("revert_of", "int", "revert_of__number", "number of the PR (same repository) this PR reverts"),
    *(Column(phase.column, "float", _span(phase), _span_help(phase)) for phase in _API_PHASES),
)
REVIEWS = (
    _id("review id"),
    Column("pull_request_id", "int", nullable=False),
    Column("repository", "text", "pull_request__repository__full_name", nullable=False),
    Column("pull_request_number", "int", "pull_request__number", nullable=False),
    Column("reviewer", "text", Pseudonym(F("reviewer_id")), PR_PERSON_HELP, personal="reviewer_id"),
    Column("state", "text", help="approved | changes_requested | commented | ...", nullable=False),
    Column("submitted_at", "datetime", help="UTC", nullable=False),
)
REVERTS = (
    _id("revert id"),
    Column("repository", "text", "repository__full_name", nullable=False),
    Column("reverted_pr_id", "int", nullable=False),
    Column("reverted_pr_number", "int", "reverted_pr__number", nullable=False),
    Column("reverting_pr_id", "int"),
    Column("reverting_pr_number", "int", "reverting_pr__number"),
    Column("revert_sha", "text", nullable=False),
    Column("reverted_at", "datetime", help="when the revert landed (UTC)"),
    Column("restored_at", "datetime", help="when the revert was itself reverted (the change restored)"),
    Column("evidence", "text", help="sha | title | reverts_ref | branch | explicit", nullable=False),
)
DEPLOYMENTS = (
    _id("deployment id"),
    Column("repository", "text", "repository__full_name", nullable=False),
    Column("external_id", "text", nullable=False),
    Column("environment", "text", nullable=False),
    Column("is_production", "bool", nullable=False),
    Column("sha", "text", nullable=False),
    Column("status", "text", help="success | failure | error | in_progress | ...", nullable=False),
    Column("created_at", "datetime", nullable=False),
    Column("finished_at", "datetime"),
    Column(
        "source",
        "text",
        help="github_deployments | github_actions | gitlab | webhook | file | ...",
        nullable=False,
    ),
    Column("url", "text", nullable=False),
)
INCIDENTS = (
    _id("incident id"),
    Column(
        "source",
        "text",
        help="pagerduty | opsgenie | github_issues | gitlab | jira | webhook | file",
        nullable=False,
    ),
    Column("external_id", "text", help="the incident's id in its source", nullable=False),
    Column("title", "text", nullable=False),
    Column("severity", "text", nullable=False),
    Column("service", "text", nullable=False),
    Column(
        "repository", "text", "repository__full_name", "owner/name (named by the source or the service map)"
    ),
    Column("started_at", "datetime", nullable=False),
    Column("resolved_at", "datetime", help="null while open"),
    Column("deployment_id", "int", help="the linked (causing) deployment"),
    Column("deployment_external_id", "text", "deployment__external_id"),
    Column(
        "link",
        "text",
        help="explicit | sha | last_before | none: the rule that linked the deployment",
        nullable=False,
    ),
    Column("url", "text", nullable=False),
    Column("updated_at", "datetime", help="when Sextant last stored or re-linked it", nullable=False),
)
METRICS = (
    Column("team", "text", "team__slug", "team slug (team scope)"),
    Column("repository", "text", "repository__full_name", "owner/name (repository scope)"),
    Column("scope", "text", help="team | repository | organization", nullable=False),
    Column("period", "text", help="week | month", nullable=False),
    Column("period_start", "date", help="Monday of the ISO week, or the 1st of the month", nullable=False),
    Column("metric", "text", nullable=False),
    Column("value", "float"),
    Column("n", "int", help="number of PRs (or people) behind the value", nullable=False),
    Column("definition_version", "text", nullable=False),
    Column(
        "provisional",
        "bool",
        help="the period runs past the data (still running, or after the time the "
        "data runs through; for the revert metrics, until their observation window has closed): not "
        "comparable with complete periods",
        nullable=False,
    ),
)
SYNC_RUNS = (
    _id("sync run id"),
    Column("kind", "text", nullable=False),
    Column("source", "text", nullable=False),
    Column("status", "text", help="running | succeeded | failed", nullable=False),
    Column("stage", "text", nullable=False),
    Column("progress_done", "int", nullable=False),
    Column("progress_total", "int"),
    Column("counts", "json", help="what the run stored, by kind", nullable=False),
    Column("error", "text", nullable=False),
    Column("started_at", "datetime", nullable=False),
    Column("finished_at", "datetime"),
)
AI_IMPACT = (
    _id("estimate id"),
    Column("scope", "text", help="organization | team", nullable=False),
    Column("team", "text", "team__slug", "team slug (team scope)"),
    Column(
        "outcome",
        "text",
        help="cycle_time | revert_rate | detection_coverage | review_hours | throughput | throughput_value "
        "(money: only for roles that see money)",
        nullable=False,
    ),
    Column(
        "method",
        "text",
        help="adjusted (AI-assisted vs human PRs) | agent (agent-authored vs human PRs) | dose (per 10 "
        "points of AI share of added lines) | naive | did | coverage (naive: only beside adjusted)",
        nullable=False,
    ),
    Column(
        "rule", "text", help="detection rule behind the AI flag: any, or one evidence kind", nullable=False
    ),
    Column(
        "unit",
        "text",
        help="percent_change | percentage_points | percent | pct_per_10_points | pp_per_10_points | "
        "prs_per_week | money_per_week",
        nullable=False,
    ),
    Column("estimate", "float", help="null when status is 'not enough data'"),
    Column("ci_low", "float", help="95% interval, lower bound"),
    Column("ci_high", "float", help="95% interval, upper bound"),
    Column("n", "int", help="PRs in the model", nullable=False),
    Column("n_treated", "int", help="AI-assisted PRs (or adopted, for did)", nullable=False),
    Column("n_clusters", "int", help="clusters (authors; teams for did)", nullable=False),
    Column("status", "text", help="ok | not enough data", nullable=False),
    Column("definition_version", "text", nullable=False),
    Column("computed_at", "datetime", nullable=False),
)
AI_ROI = (
    _id("row id"),
    Column("month", "date", help="first day of the month", nullable=False),
    Column("tool", "text", nullable=False),
    Column("team", "text", "team__slug", "team slug; null = whole organization"),
    Column("ai_prs", "int", help="AI-assisted PRs merged in the month with this tool", nullable=False),
    Column(
        "seats",
        "int",
        help="seats paid for in the month (entered, imported or from the tool's API); null = not known",
    ),
    Column(
        "seats_known",
        "bool",
        ExpressionWrapper(Q(seats__isnull=False), output_field=BooleanField()),
        "whether the month's seats are known",
        nullable=False,
    ),
    Column(
        "spend",
        "float",
        help="seats x monthly seat price, or usage cost; null when unknown (see "
        "spend_note) and for viewers (no money)",
        money=True,
    ),
    Column(
        "spend_note",
        "text",
        help="how spend was found: 'seats x price', 'usage cost', 'no price set', "
        "or why it is null: 'seats unknown', 'seats counted for the whole organization'",
        nullable=False,
    ),
    *(
        Column(f"{kind}_{what}{bound}", "float", money=what == "net")
        for kind in ("measured", "reported")
        for what in ("hours", "net")
        for bound in ("", "_low", "_high")
    ),
    Column("seat_cost", "float", help="seats x monthly seat price; null when not known", money=True),
    Column("usage_cost", "float", help="usage/token cost from telemetry; null without it", money=True),
    Column("agent_merged_prs", "int", help="merged agent-authored PRs of the tool (organization rows)"),
    Column(
        "agent_cost_per_merged_pr",
        "float",
        help="usage cost / merged agent PRs where cost telemetry exists (an upper bound for a tool also "
        "used interactively)",
        money=True,
    ),
    Column("computed_at", "datetime", nullable=False),
)
