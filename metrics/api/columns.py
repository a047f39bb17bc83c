"""The exported columns of every endpoint: one list drives the JSON serializer, the CSV and the schema.

Each column is selected under an alias ``c_<name>`` (names such as ``author`` or ``repository`` would
clash with model fields), typed for JSON and text-formatted in SQL for CSV (see ``sql.py``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, F, Value
from django.db.models.functions import Coalesce
from rest_framework import serializers

from metrics.api.access import Access
from metrics.api.sql import HoursBetween, Pseudonym, csv_expression

ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
ALIAS = "c_"


@dataclass(frozen=True)
class Column:
    """``source``: a field path (default: the name) or an expression.  ``personal``: null for roles
    that may not see names."""

    name: str
    kind: str  # int | float | text | bool | datetime | date | list | json
    source: Any = None
    help: str = ""
    nullable: bool = True
    personal: bool = False

    def expression(self, access: Access) -> Any:
        if self.personal and not access.sees_names:
            return Value(None, output_field=CharField())
        if self.source is None or isinstance(self.source, str):
            return F(self.source or self.name)
        return self.source

    def field(self) -> serializers.Field:
        options: dict[str, Any] = {"source": ALIAS + self.name, "help_text": self.help or None,
                                   "allow_null": self.nullable, "read_only": True}
        kinds: dict[str, Any] = {
            "int": serializers.IntegerField, "float": serializers.FloatField, "text": serializers.CharField,
            "bool": serializers.BooleanField, "date": serializers.DateField, "json": serializers.JSONField,
        }
        if self.kind == "datetime":
            return serializers.DateTimeField(format=ISO_SECONDS, **options)
        if self.kind == "list":
            return serializers.ListField(child=serializers.CharField(), **options)
        return kinds[self.kind](**options)


def json_values(columns: Sequence[Column], access: Access) -> dict[str, Any]:
    return {ALIAS + c.name: c.expression(access) for c in columns}


def csv_values(columns: Sequence[Column], access: Access) -> list[Any]:
    return [csv_expression(c.kind, c.expression(access)) for c in columns]


def make_serializer(name: str, columns: Sequence[Column]) -> type[serializers.Serializer]:
    """A read-only serializer class named ``name`` (also the OpenAPI component name)."""
    return type(name, (serializers.Serializer,), {c.name: c.field() for c in columns})


def _id(help_text: str) -> Column:
    return Column("id", "int", help=help_text, nullable=False)


PERSON_HELP = "stable pseudonym person-<hmac12>, the same in every endpoint"

TEAMS = (
    _id("team id"),
    Column("slug", "text", nullable=False),
    Column("name", "text", nullable=False),
    Column("parent", "text", "parent__slug", "slug of the parent team"),
)
PEOPLE = (
    Column("person", "text", Pseudonym(F("id")), PERSON_HELP, nullable=False),
    Column("name", "text", "display_name", "display name; null unless the token's role is admin or manager",
           personal=True),
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
_PR_TIMES = ("created_at", "ready_at", "first_commit_at", "first_review_at", "approved_at", "merged_at",
             "closed_at", "updated_at")
PULL_REQUESTS = (
    _id("pull request id"),
    Column("repository", "text", "repository__full_name", "owner/name", nullable=False),
    Column("number", "int", nullable=False),
    Column("title", "text", nullable=False),
    Column("author", "text", Pseudonym(F("author_id")), PERSON_HELP),
    Column("state", "text", help="open | closed | merged", nullable=False),
    Column("is_draft", "bool", nullable=False),
    Column("is_bot", "bool", help="authored by a bot (dependabot, renovate, [bot] accounts)", nullable=False),
    *(Column(name, "datetime", help="UTC") for name in _PR_TIMES),
    Column("additions", "int"),
    Column("deletions", "int"),
    Column("changed_files", "int"),
    Column("commits_count", "int"),
    Column("head_branch", "text", help="null unless the token's role is admin or manager", personal=True),
    Column("base_branch", "text", nullable=False),
    Column("ai_assisted", "bool", help="AI evidence found (a lower bound)", nullable=False),
    Column("ai_tools", "list", help="AI tools with evidence; CSV: separated by ';'", nullable=False),
    Column("reverted_at", "datetime", help="when a still-standing revert of this PR landed"),
    Column("revert_of", "int", "revert_of__number", "number of the PR (same repository) this PR reverts"),
    Column("coding_hours", "float", HoursBetween(F("first_commit_at"), F("created_at")),
           "first commit -> opened, hours (null if unknown or negative)"),
    Column("pickup_hours", "float", HoursBetween(
        Coalesce("ready_at", "created_at"), Coalesce("first_review_at", "approved_at", "merged_at")),
        "ready for review (else opened) -> first review (else approval, else merge), hours"),
    Column("review_hours", "float", HoursBetween(F("first_review_at"), F("merged_at")),
           "first review -> merged, hours"),
    Column("cycle_hours", "float", HoursBetween(F("first_commit_at"), F("merged_at")),
           "first commit -> merged, hours (null if unknown or negative)"),
)
REVIEWS = (
    _id("review id"),
    Column("pull_request_id", "int", nullable=False),
    Column("repository", "text", "pull_request__repository__full_name", nullable=False),
    Column("pull_request_number", "int", "pull_request__number", nullable=False),
    Column("reviewer", "text", Pseudonym(F("reviewer_id")), PERSON_HELP),
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
    Column("outcome", "text", help="cycle_time | revert_rate | detection_coverage", nullable=False),
    Column("method", "text", help="adjusted | naive | did | coverage (naive: only beside adjusted)",
           nullable=False),
    Column("rule", "text", help="detection rule behind the AI flag: any, or one evidence kind",
           nullable=False),
    Column("unit", "text", help="percent_change | percentage_points | percent", nullable=False),
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
    Column("spend", "float", help="seats x monthly seat price", nullable=False),
    *(Column(f"{kind}_{what}{bound}", "float")
      for kind in ("measured", "reported") for what in ("hours", "net") for bound in ("", "_low", "_high")),
    Column("computed_at", "datetime", nullable=False),
)
