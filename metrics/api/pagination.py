"""Cursor pagination on the immutable ``id``, with strict parameters (400 naming the parameter).

``/metrics/`` keeps its original ``limit``/``offset`` pages when either is given, and always reports
``count`` (the table is small); every other list is cursor-only, without a count (a COUNT over a
million PRs per page would cost more than the page).
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.pagination import Cursor, CursorPagination, LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

MAX_PAGE_SIZE = 10_000
MAX_OFFSET = 2**31 - 1
MAX_ID = 2**63 - 1
ORDERINGS = ("id", "-id")
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")


def int_param(request: Request, name: str, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    value = int(raw) if _DIGITS.match(raw) else None
    if value is None or not low <= value <= high:
        raise ParseError(f"{name}: must be a whole number from {low} to {high}, got {raw[:40]!r}")
    return value


def request_ordering(request: Request) -> str:
    ordering = request.query_params.get("ordering", "id")
    if ordering not in ORDERINGS:
        raise ParseError(f"ordering: must be one of {', '.join(ORDERINGS)} (rows are ordered by their id)")
    return ordering


class IdsFirst:
    """A list to cursor-page whose rows cost more to build than to find (joins, pseudonyms, hours):
    CursorPagination's ordering, cursor position and slice apply to the ids of the matching rows, and only
    the page's ids are built into rows, in the same statement (so one consistent snapshot).

    A team's PRs of a year, 50 a page: PostgreSQL found ~1000 matching PRs, then built and sorted all
    of them for the 51 it returned (1M PRs: ~30 ms); ids first: ~9 ms.
    """

    def __init__(self, ids: QuerySet, rows: QuerySet, ordering: tuple[str, ...] = ()) -> None:
        self.ids, self.rows, self.ordering = ids, rows, ordering

    def order_by(self, *ordering: str) -> IdsFirst:
        return IdsFirst(self.ids.order_by(*ordering), self.rows, ordering)

    def filter(self, *args: Any, **kwargs: Any) -> IdsFirst:
        return IdsFirst(self.ids.filter(*args, **kwargs), self.rows, self.ordering)

    def count(self) -> int:
        return self.ids.count()

    def __getitem__(self, page: slice) -> QuerySet:
        if not isinstance(page, slice):
            raise TypeError("IdsFirst: only a page (a slice) can be taken")
        return self.rows.filter(id__in=self.ids[page]).order_by(*self.ordering)


class ExportCursorPagination(CursorPagination):
    ordering = "id"
    page_size = api_settings.PAGE_SIZE or 1000
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    cursor_query_description = "Opaque position; follow the next/previous links as given."

    def get_page_size(self, request: Request) -> int:
        return int_param(request, "page_size", 1, MAX_PAGE_SIZE) or self.page_size

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        return (request_ordering(request),)

    def decode_cursor(self, request: Request) -> Cursor | None:
        # DRF's b64decode drops characters outside the alphabet, so "!!!" decoded to an empty cursor
        # (page 1); only strict base64 is a cursor.
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is not None and not _BASE64.match(encoded):
            raise ParseError("cursor: not a cursor from a next/previous link")
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise ParseError("cursor: not a cursor from a next/previous link") from exc
        position = None if cursor is None else cursor.position
        if position is not None and not (_DIGITS.match(position) and int(position) <= MAX_ID):
            raise ParseError("cursor: not a cursor from a next/previous link")
        return cursor

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == "page_size":
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
        parameters.append(
            {
                "name": "ordering",
                "required": False,
                "in": "query",
                "description": "id (default) or -id",
                "schema": {"type": "string", "enum": list(ORDERINGS)},
            }
        )
        return parameters


class MetricPagination(ExportCursorPagination):
    """Cursor pages with a ``count``; ``limit``/``offset`` pages (the original interface) when asked."""

    legacy_ordering = ("period", "period_start", "scope", "team_id", "repository_id", "metric", "id")

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any]:
        self.offset_pages: LimitOffsetPagination | None = None
        if "limit" in request.query_params or "offset" in request.query_params:
            limit = int_param(request, "limit", 1, MAX_PAGE_SIZE)
            int_param(request, "offset", 0, MAX_OFFSET)  # validated here; LimitOffsetPagination reads it
            self.offset_pages = LimitOffsetPagination()
            self.offset_pages.default_limit = limit or self.page_size
            self.offset_pages.max_limit = MAX_PAGE_SIZE
            ordered = queryset.order_by(*self.legacy_ordering)
            return self.offset_pages.paginate_queryset(ordered, request, view)
        self.count = queryset.count()
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        if self.offset_pages is not None:
            return self.offset_pages.get_paginated_response(data)
        return Response(
            {
                "count": self.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"] = {"count": {"type": "integer"}, **paginated["properties"]}
        paginated["required"] = ["count", "results"]
        return paginated

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "description": "page size (offset pages)",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
            {
                "name": "offset",
                "required": False,
                "in": "query",
                "description": "rows to skip (offset pages)",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
            },
        ]
