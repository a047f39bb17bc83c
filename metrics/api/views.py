"""Thin DRF views: validate the query, call a selector, paginate, serialize."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ParseError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.serializers import ValidationError

from metrics.api.serializers import MetricFilterSerializer, MetricSnapshotOutputSerializer
from metrics.ingestion.models import MetricSnapshot
from metrics.web.queries import metric_snapshot_list


def _first_error(errors: dict[str, Any]) -> str:
    """``{"since": ["Date has wrong format..."]}`` -> ``"since: Date has wrong format..."``."""
    field, messages = next(iter(errors.items()))
    message = messages[0] if isinstance(messages, list) and messages else messages
    return f"{field}: {message}" if field != "non_field_errors" else str(message)


class MetricSnapshotListApi(ListAPIView):
    """Materialized metric values in long format.

    Filters: ``team`` (slug), ``repository`` (owner/name), ``metric``, ``period`` (week|month),
    ``scope`` (team|repository|organization), ``since``/``until`` (YYYY-MM-DD, inclusive, on
    period_start).  Paginated with ``limit``/``offset``.
    """

    permission_classes = [IsAuthenticated]
    serializer_class = MetricSnapshotOutputSerializer

    def get_queryset(self) -> QuerySet[MetricSnapshot]:
        filters = MetricFilterSerializer(data=self.request.query_params)
        try:
            filters.is_valid(raise_exception=True)
        except ValidationError as exc:
            raise ParseError(_first_error(exc.detail)) from exc
        data = filters.validated_data
        return metric_snapshot_list(
            team_slug=data.get("team"),
            repository=data.get("repository"),
            metric=data.get("metric"),
            period=data.get("period"),
            scope=data.get("scope"),
            since=data.get("since"),
            until=data.get("until"),
        )

