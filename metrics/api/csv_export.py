"""CSV: the whole filtered list, streamed with constant memory.

Values arrive already formatted as text by the database (``sql.csv_expression``).  On PostgreSQL
the rows are streamed by ``COPY (<the same SELECT>) TO STDOUT`` (the server formats and quotes, the
view only forwards blocks); elsewhere, or with ``SEXTANT_API_CSV_COPY=0``, a server-side cursor
(``QuerySet.iterator``) feeds Python's csv writer.  Either way no more than one chunk is in memory.

Cells a spreadsheet would run as a formula are defused by ``sql.csv_cell`` (in SQL: ``sql.CsvCell``)
unless the request says ``?csv_raw=1``.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from rest_framework.exceptions import ParseError
from rest_framework.renderers import BaseRenderer

from metrics.api.sql import csv_cell

COPY_ENV = "SEXTANT_API_CSV_COPY"
RAW_PARAM = "csv_raw"
RAW_VALUES = {"": False, "0": False, "false": False, "no": False, "1": True, "true": True, "yes": True}
CHUNK_BYTES = 256 * 1024
CHUNK_ROWS = 2000


def use_copy() -> bool:
    flag = os.environ.get(COPY_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}
    return flag and connection.vendor == "postgresql"


def _copy_blocks(rows: QuerySet) -> Iterator[bytes]:
    sql, params = rows.query.sql_with_params()
    statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
    # Django's psycopg cursor binds parameters client-side, which COPY needs (no server parameters).
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
        buffer = bytearray()
        for block in copy:  # one CopyData message per row: batch them into larger chunks
            buffer += block
            if len(buffer) >= CHUNK_BYTES:
                yield bytes(buffer)
                buffer.clear()
        if buffer:
            yield bytes(buffer)


def _writer_blocks(rows: QuerySet) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    iterator = rows.iterator(chunk_size=CHUNK_ROWS)
    while batch := list(islice(iterator, CHUNK_ROWS)):
        writer.writerows(batch)
        yield out.getvalue().encode("utf-8")
        out.seek(0)
        out.truncate()


def csv_raw(request: Any) -> bool:
    """``?csv_raw=1``: the BI tool wants text exactly as stored, formula-like cells included (see
    ``sql.csv_cell``); the default defuses them.  A value other than 1/0/true/false is a 400."""
    value = str(request.query_params.get(RAW_PARAM, "")).strip().lower()
    if value not in RAW_VALUES:
        raise ParseError(f"{RAW_PARAM}: must be 1 or 0, got {value[:20]!r}")
    return RAW_VALUES[value]


def csv_stream(header: Sequence[str], rows: QuerySet) -> Iterator[bytes]:
    """Header line, then the rows of a ``values_list`` queryset of text/number columns (already made
    safe in SQL by ``sql.CsvCell`` unless the caller asked for raw values)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([csv_cell(name) for name in header])
    yield out.getvalue().encode("utf-8")
    yield from (_copy_blocks(rows) if use_copy() else _writer_blocks(rows))


def csv_response(
    header: Sequence[str], rows: QuerySet, filename: str, *, head: bool
) -> StreamingHttpResponse:
    body: Iterator[bytes] = iter(()) if head else csv_stream(header, rows)
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    response["Cache-Control"] = "no-store"
    return response


class CSVRenderer(BaseRenderer):
    """Content negotiation for ``?format=csv`` / ``Accept: text/csv``.  Lists never reach ``render``
    (they stream); it renders small bodies such as OPTIONS metadata as one row."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        rows = data if isinstance(data, list) else [data]
        rows = [row if isinstance(row, dict) else {"value": row} for row in rows]
        request = (renderer_context or {}).get("request")
        try:
            raw = request is not None and csv_raw(request)
        except ParseError:  # rendering cannot answer 400 any more: the safe default
            raw = False
        if not raw:
            rows = [{key: csv_cell(value) for key, value in row.items()} for row in rows]
        header = list(dict.fromkeys(key for row in rows for key in row))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().encode("utf-8")
