"""Thin read-only DRF views: check access, validate filters, call a selector, then page JSON or stream CSV."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.exceptions import ParseError
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from metrics.api import column_types as coltypes
from metrics.api import columns as cols
from metrics.api import filters as flt
from metrics.api import selectors
from metrics.api.access import Access, ReadOnlyApiAccess, TokenRateThrottle, request_access
from metrics.api.authentication import ApiTokenAuthentication
from metrics.api.csv_export import CSVRenderer, csv_raw, csv_response
from metrics.api.pagination import ExportCursorPagination, IdsFirst, MetricPagination, request_ordering

ERROR = inline_serializer("Error", {"detail": serializers.CharField()})
FORMAT = OpenApiParameter(
    "format",
    str,
    enum=["json", "csv"],
    description="csv: the whole filtered list as one streamed CSV file "
    "(or send Accept: text/csv); pagination parameters are then ignored",
)
CSV_RAW = OpenApiParameter(
    "csv_raw",
    bool,
    description="CSV only: 1 = text exactly as stored; by default a text cell starting "
    "with = + - @ TAB or CR gets a leading ' so spreadsheets do not run it as a formula",
)
Selector = Callable[[Access, dict[str, Any]], QuerySet]


class StrictNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request: Request, renderers: list, format_suffix: str | None = None) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except Http404 as exc:
            raise ParseError("format: must be one of json, csv, api") from exc


class ReadOnlyApi:
    """How a read-only endpoint is reached: a session, an API token or basic auth; read access (the access
    object); the token rate limit; JSON or CSV, an unknown ``format`` a 400 (``StrictNegotiation``)."""

    authentication_classes = [SessionAuthentication, ApiTokenAuthentication, BasicAuthentication]
    permission_classes = [ReadOnlyApiAccess]
    throttle_classes = [TokenRateThrottle]
    renderer_classes: list[type] = [JSONRenderer, CSVRenderer]
    content_negotiation_class = StrictNegotiation


class ExportListView(ReadOnlyApi, ListModelMixin, GenericAPIView):
    """One list: ``columns`` (what), ``filter_class`` (query parameters), ``selector`` (which rows)."""

    renderer_classes = [JSONRenderer, CSVRenderer, BrowsableAPIRenderer]
    pagination_class = ExportCursorPagination
    columns: tuple[coltypes.Column, ...] = ()
    filter_class: type[serializers.Serializer] = flt.ExportFilter
    selector: Selector
    export_name = ""
    ids_first = False  # page the ids, then build only the page's rows (see pagination.IdsFirst)

    def get_queryset(self) -> QuerySet:
        access = request_access(self.request)
        return self.selector(access, flt.parse_filters(self.filter_class, self.request, access))

    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        access = request_access(request)
        rows = self.get_queryset()
        if request.accepted_renderer.format == "csv":
            ordered = rows.order_by(request_ordering(request))
            safe = not csv_raw(request)
            values = ordered.values_list(*coltypes.csv_values(self.columns, access, neutralize=safe))
            header = [c.name for c in self.columns]
            return csv_response(header, values, self.export_name, head=request.method == "HEAD")
        fields = coltypes.json_values(self.columns, access, datetime_text=coltypes.datetimes_as_text(rows.db))
        if self.ids_first:
            # The page's rows carry the selector's annotations too (the metrics' ``provisional``).
            every_row = rows.model._default_manager.annotate(**rows.query.annotations)
            page = self.paginate_queryset(IdsFirst(rows.values("id"), every_row.values("id", **fields)))
        else:
            page = self.paginate_queryset(rows.values("id", **fields))
        if request.accepted_renderer.format == "json":
            # The serializer's output, value for value, without its per-field work (the most CPU of a page).
            return self.get_paginated_response(coltypes.json_rows(self.get_serializer_class(), page))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Errors are JSON even when CSV was asked for: a client reads them, a CSV parser would not.
        if isinstance(response, Response) and response.status_code >= 400:
            renderer = getattr(request, "accepted_renderer", None)
            if renderer is not None and renderer.format == "csv":
                request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


def _export(
    name: str,
    row: str,
    columns: tuple[coltypes.Column, ...],
    filter_class: type[serializers.Serializer],
    selector: Selector,
    description: str,
    pagination: type = ExportCursorPagination,
    ids_first: bool = False,
) -> type[ExportListView]:
    """The list view class of endpoint ``name`` whose rows are ``row`` (the OpenAPI component)."""
    serializer = coltypes.make_serializer(row, columns)
    view = type(
        f"{row}ListApi",
        (ExportListView,),
        {
            "columns": columns,
            "filter_class": filter_class,
            "selector": staticmethod(selector),
            "serializer_class": serializer,
            "pagination_class": pagination,
            "export_name": name,
            "ids_first": ids_first,
            "__doc__": description,
        },
    )
    schema = extend_schema(
        operation_id=f"{name.replace('-', '_')}_list",
        description=description,
        parameters=[filter_class, FORMAT, CSV_RAW],
        responses={
            (200, "application/json"): serializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
            **{(code, "application/json"): ERROR for code in (400, 403, 429)},
        },
    )
    # extend_schema_view copies the inherited get() before annotating it: one schema per view.
    return extend_schema_view(get=schema)(view)


TeamListApi = _export(
    "teams",
    "Team",
    cols.TEAMS,
    flt.TeamFilter,
    selectors.team_rows,
    "Teams; `team` returns the team and its sub-teams.",
)
PersonListApi = _export(
    "people",
    "Person",
    cols.PEOPLE,
    flt.PeopleFilter,
    selectors.person_rows,
    "People, keyed by a stable pseudonym; names only for admin and manager tokens. `team`: people who were "
    "ever members of the team or its sub-teams.",
)
RepositoryListApi = _export(
    "repositories",
    "Repository",
    cols.REPOSITORIES,
    flt.RepositoryFilter,
    selectors.repository_rows,
    "Repositories; `team`: owned by the team (or a sub-team), or holding PRs of its members.",
)
PullRequestListApi = _export(
    "pull-requests",
    "PullRequest",
    cols.PULL_REQUESTS,
    flt.PullRequestFilter,
    selectors.pull_request_rows,
    "Pull requests with phase spans (hours) and AI flags. `since`/`until` bound merged_at; `updated_since` "
    "matches updated_at or reverted_at; `team`: repository owned by the team, or author a member at merge.",
    ids_first=True,
)
ReviewListApi = _export(
    "reviews",
    "Review",
    cols.REVIEWS,
    flt.ExportFilter,
    selectors.review_rows,
    "Reviews. `since`/`until` bound submitted_at; `updated_since` the PR's updated_at; `team` as for PRs.",
)
RevertListApi = _export(
    "reverts",
    "Revert",
    cols.REVERTS,
    flt.ExportFilter,
    selectors.revert_rows,
    "Reverts of merged PRs. `since`/`until` bound reverted_at; `updated_since` matches reverted_at or "
    "restored_at; `team` as for the reverted PR.",
)
DeploymentListApi = _export(
    "deployments",
    "Deployment",
    cols.DEPLOYMENTS,
    flt.DeploymentFilter,
    selectors.deployment_rows,
    "Deployments. `since`/`until` bound created_at; `team`: repositories the team owns.",
)
IncidentListApi = _export(
    "incidents",
    "Incident",
    cols.INCIDENTS,
    flt.IncidentFilter,
    selectors.incident_rows,
    "Production incidents with the deployment they are linked to (the source's, else the last production "
    "deployment of the repository before the incident started). `since`/`until` bound started_at; "
    "`updated_since` the time Sextant stored or re-linked it; `team`: repositories the team owns.",
)
MetricSnapshotListApi = _export(
    "metrics",
    "Metric",
    cols.METRICS,
    flt.MetricFilter,
    selectors.metric_rows,
    "Materialized metric values in long format. `team`: team-scope rows of that team; `repository`: "
    "repository-scope rows; `since`/`until` (dates) bound period_start; `updated_since` the computation "
    "time. Cursor pages by default, `limit`/`offset` pages when either is given; both report `count`.",
    pagination=MetricPagination,
)
SyncRunListApi = _export(
    "sync-runs",
    "SyncRun",
    cols.SYNC_RUNS,
    flt.SyncRunFilter,
    selectors.sync_run_rows,
    "Import and sync runs (data freshness). `since`/`until` bound started_at.",
)
AIImpactListApi = _export(
    "ai-impact",
    "AIImpactEstimate",
    cols.AI_IMPACT,
    flt.AIImpactFilter,
    selectors.ai_impact_rows,
    "Effect of AI assistance with 95% intervals (metrics/analytics/ai_impact.py): adjusted (fixed "
    "effects, author-clustered), naive (only to be shown beside adjusted), did (staggered team adoption), "
    "a sensitivity row per detection rule, and detection coverage. Estimates are null when status is "
    "'not enough data'.",
)
AIRoiListApi = _export(
    "ai-roi",
    "AIRoiMonth",
    cols.AI_ROI,
    flt.AIRoiFilter,
    selectors.ai_roi_rows,
    "AI ROI per month and tool (team null = organization): measured and self-reported hours saved side by "
    "side with intervals, seat spend, net value. Self-reported figures below the survey privacy floor "
    "are null.",
)
