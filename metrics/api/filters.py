"""Query filters of every list.  A bad value is a 400 whose detail starts with the parameter's name."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.request import Request

from metrics.analytics.catalog import METRICS, PERIODS, SCOPES, metric_is_known
from metrics.api.access import Access
from metrics.core.models import Repository, Team
from metrics.ingestion.models import MetricSnapshot, PullRequest, SyncRun

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # ASCII only: \d would take any script's digits
INSTANT_HELP = "YYYY-MM-DD (a whole UTC day) or an ISO 8601 timestamp (no offset = UTC)"


@dataclass(frozen=True)
class Instant:
    """A parsed ``since``/``until``: a UTC datetime, and whether the user gave a bare date."""

    at: dt.datetime
    whole_day: bool

    def lower(self, field: str) -> Q:
        return Q(**{f"{field}__gte": self.at})

    def upper(self, field: str) -> Q:
        """Inclusive: a bare date includes that whole day."""
        if self.whole_day and self.at.date() < dt.date.max:
            return Q(**{f"{field}__lt": self.at + dt.timedelta(days=1)})
        return Q(**{f"{field}__lte": self.at})


@extend_schema_field({"type": "string", "description": INSTANT_HELP, "example": "2025-06-01"})
class InstantField(serializers.Field):
    default_error_messages = {"invalid": f"expected {INSTANT_HELP}, got {{value!r}}"}

    def to_internal_value(self, data: Any) -> Instant:
        text = str(data).strip()
        try:
            if _DATE.match(text):
                day = dt.date.fromisoformat(text)
                return Instant(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC), whole_day=True)
            value = dt.datetime.fromisoformat(text)
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            return Instant(value.astimezone(dt.UTC), whole_day=False)
        except (ValueError, OverflowError) as exc:
            raise self.fail("invalid", value=text[:60]) from exc

    def to_representation(self, value: Instant) -> str:
        return value.at.isoformat()


class DateOnlyField(serializers.DateField):
    """YYYY-MM-DD in ASCII digits (DRF's ISO parser would take other scripts' digits too)."""

    def to_internal_value(self, value: Any) -> dt.date:
        if not isinstance(value, str) or not _DATE.match(value):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


def _choice(choices: tuple[str, ...] | list[str], help_text: str = "") -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=list(choices),
        required=False,
        help_text=help_text or None,
        error_messages={"invalid_choice": f'"{{input}}" is not one of {", ".join(choices)}.'},
    )


def _team() -> serializers.SlugField:
    return serializers.SlugField(required=False, max_length=200, help_text="team slug (includes sub-teams)")


def _repository() -> serializers.CharField:
    return serializers.CharField(required=False, max_length=300, help_text="owner/name")


def _instant(help_text: str) -> InstantField:
    return InstantField(required=False, help_text=help_text)


SINCE_HELP = "natural date >= this"
UNTIL_HELP = "natural date <= this (a bare date: the whole day)"
UPDATED_HELP = "incremental refresh: rows changed at or after this"


def _validate_team(self: serializers.Serializer, value: str) -> Team:
    team = Team.objects.filter(slug=value).first()
    if team is None:
        raise serializers.ValidationError(f"no team with slug {value!r}")
    return team


def _validate_repository(self: serializers.Serializer, value: str) -> Repository:
    repository = Repository.objects.filter(full_name=value).first()
    if repository is None:
        raise serializers.ValidationError(f"no repository named {value!r} (expected owner/name)")
    return repository


def _validate_order(self: serializers.Serializer, attrs: dict[str, Any]) -> dict[str, Any]:
    since, until = attrs.get("since"), attrs.get("until")
    if since is not None and until is not None:
        first, last = (since.at, until.at) if isinstance(since, Instant) else (since, until)
        if first > last:
            raise serializers.ValidationError({"until": f"must not be before since ({first.isoformat()})"})
    return attrs


class TeamFilter(serializers.Serializer):
    team = _team()
    validate_team = _validate_team


class PeopleFilter(TeamFilter):
    is_bot = serializers.BooleanField(required=False)


class RepositoryFilter(TeamFilter):
    repository = _repository()
    validate_repository = _validate_repository


class ExportFilter(RepositoryFilter):
    """Filters every record list shares; ``since``/``until`` bound the list's natural date."""

    since = _instant(SINCE_HELP)
    until = _instant(UNTIL_HELP)
    updated_since = _instant(UPDATED_HELP)
    validate = _validate_order


class PullRequestFilter(ExportFilter):
    """``since``/``until`` bound ``merged_at``; ``updated_since`` matches updated_at or reverted_at."""

    state = _choice(PullRequest.State.values)
    ai_assisted = serializers.BooleanField(required=False)
    is_bot = serializers.BooleanField(required=False)


class DeploymentFilter(ExportFilter):
    environment = serializers.CharField(required=False, max_length=100)
    is_production = serializers.BooleanField(required=False)


class IncidentFilter(ExportFilter):
    """``since``/``until`` bound ``started_at``; ``updated_since`` matches updated_at."""

    source = serializers.CharField(required=False, max_length=40)
    severity = serializers.CharField(required=False, max_length=40)


class SyncRunFilter(serializers.Serializer):
    since = _instant(SINCE_HELP)
    until = _instant(UNTIL_HELP)
    updated_since = _instant(UPDATED_HELP)
    status = _choice(SyncRun.Status.values)
    kind = serializers.CharField(required=False, max_length=20)
    validate = _validate_order


class MetricFilter(RepositoryFilter):
    """``since``/``until`` are dates bounding ``period_start``; ``updated_since`` bounds computation time."""

    metric = serializers.CharField(required=False, max_length=50)
    period = _choice(PERIODS)
    scope = _choice(SCOPES)
    since = DateOnlyField(required=False, help_text="period_start >= (YYYY-MM-DD)")
    until = DateOnlyField(required=False, help_text="period_start <= (YYYY-MM-DD)")
    updated_since = _instant("metrics recomputed at or after this")
    validate = _validate_order

    def validate_metric(self, value: str) -> str:
        # Accept names computed but not (yet) defined, so a filter never hides stored data.
        if not metric_is_known(value) and not MetricSnapshot.objects.filter(metric=value).exists():
            raise serializers.ValidationError(f"unknown metric {value!r}; known: {', '.join(METRICS)}")
        return value


def _first_error(errors: Any) -> str:
    """``{"since": ["Date has wrong format..."]}`` -> ``"since: Date has wrong format..."``."""
    field, messages = next(iter(errors.items()))
    message = messages[0] if isinstance(messages, list) and messages else messages
    return f"{field}: {message}" if field != "non_field_errors" else str(message)


def parse_filters(
    filter_class: type[serializers.Serializer], request: Request, access: Access
) -> dict[str, Any]:
    """Validated filters (400 naming the first bad parameter); a team outside the token's scope is 403."""
    # .dict(): one value per name (the last), and no HTML-form rule turning a missing boolean into False.
    filters = filter_class(data=request.query_params.dict())
    if not filters.is_valid():
        raise exceptions.ParseError(_first_error(filters.errors))
    data = dict(filters.validated_data)
    team = data.get("team")
    if team is not None and not access.allows_team(team.id):
        raise exceptions.PermissionDenied(f"team: {team.slug!r} is outside this token's team scope")
    return data


class AIImpactFilter(TeamFilter):
    outcome = _choice(
        ("cycle_time", "revert_rate", "detection_coverage", "review_hours", "throughput", "throughput_value")
    )
    method = _choice(("adjusted", "naive", "did", "coverage", "agent", "dose"))
    rule = serializers.CharField(required=False, max_length=20)
    scope = _choice(("organization", "team"))


class AIRoiFilter(TeamFilter):
    tool = serializers.CharField(required=False, max_length=50)
    since = DateOnlyField(required=False, help_text="month >= (YYYY-MM-DD)")
    until = DateOnlyField(required=False, help_text="month <= (YYYY-MM-DD)")
    validate = _validate_order
