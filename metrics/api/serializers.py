"""Input (query filters) and output serializers of the REST API."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from metrics.core.models import Repository, Team
from metrics.ingestion.metric_definitions import DEFINITIONS
from metrics.web.queries import PERIODS, SCOPES, metric_is_known

DATE_HELP = "YYYY-MM-DD, inclusive bound on period_start"


class MetricFilterSerializer(serializers.Serializer):
    """Query parameters of ``GET /api/v1/metrics/``; every one is optional."""

    team = serializers.SlugField(required=False, help_text="team slug")
    repository = serializers.CharField(required=False, help_text="owner/name")
    metric = serializers.CharField(required=False)
    period = serializers.ChoiceField(
        choices=PERIODS, required=False,
        error_messages={"invalid_choice": f'"{{input}}" is not one of {", ".join(PERIODS)}.'},
    )
    scope = serializers.ChoiceField(
        choices=SCOPES, required=False,
        error_messages={"invalid_choice": f'"{{input}}" is not one of {", ".join(SCOPES)}.'},
    )
    since = serializers.DateField(required=False, input_formats=["iso-8601"], help_text=DATE_HELP)
    until = serializers.DateField(required=False, input_formats=["iso-8601"], help_text=DATE_HELP)

    def validate_team(self, value: str) -> str:
        if not Team.objects.filter(slug=value).exists():
            raise serializers.ValidationError(f"no team with slug {value!r}")
        return value

    def validate_repository(self, value: str) -> str:
        if not Repository.objects.filter(full_name=value).exists():
            raise serializers.ValidationError(f"no repository named {value!r} (expected owner/name)")
        return value

    def validate_metric(self, value: str) -> str:
        # Accept names computed but not (yet) defined, so a filter never hides stored data.
        if value not in DEFINITIONS and not metric_is_known(value):
            raise serializers.ValidationError(f"unknown metric {value!r}; known: {', '.join(DEFINITIONS)}")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since > until:
            raise serializers.ValidationError({"until": f"must not be before since ({since.isoformat()})"})
        return attrs


class MetricSnapshotOutputSerializer(serializers.Serializer):
    """One materialized metric value; the selector annotates ``team_slug`` and ``repository_full_name``."""

    team = serializers.CharField(source="team_slug", allow_null=True)
    repository = serializers.CharField(source="repository_full_name", allow_null=True)
    scope = serializers.CharField()
    period = serializers.CharField()
    period_start = serializers.DateField()
    metric = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()
    definition_version = serializers.CharField()
