"""The on-prem OpenTelemetry receiver: ``POST /otlp/<source>/v1/metrics`` and ``/v1/logs`` (OTLP/HTTP).

A tool's exporter is pointed at ``OTEL_EXPORTER_OTLP_ENDPOINT=<sextant>/otlp/<source>`` with
``OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer <token>``; ``<source>`` is a data source of kind ``otlp``
whose token is stored encrypted (``DataSource.secret_encrypted``) and compared in constant time.

Answers (OTLP/HTTP specification): 200 with an empty ``Export*ServiceResponse`` in the request's encoding;
401 for a missing or wrong token or an unknown source; 400 for a body that is not a valid OTLP request;
413 for a body (or its decompressed form) over ``settings.OTLP_MAX_BYTES``; 415 for another content type.
Nothing is stored unless the whole request is valid; then, in one transaction, every point is inserted
(``TelemetryPoint``, unique on series, start and time: a retried export adds nothing; a series, its name and
attributes, is stored once in ``TelemetrySeries``, the first time the source sends it) and the
daily usage of the (tool, person, day) keys it touched is rolled up again from all their points
(``telemetry_rollup``): delta sums add up, a cumulative sum counts its growth within the day.

Usage days feed the organization-wide models (adoption, AI impact, ROI): an export that rolled up usage
asks for them through ``recompute_request`` (models only; the worker serves them after its debounce), at
most once per ``MODELS_ASK_SECONDS`` per process, since exporters send every few seconds.  In embedded mode
(no broker) that request would compute the models inline in the export's response, so there the models
follow the next recompute (a sync, an import, ``manage.py recompute``).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors import otlp
from connectors.records import AIModelUsageRecord, AIUsageRecord, IdentityRecord
from metrics.core.crypto import SecretDecryptionError
from metrics.core.memory import fewer_collections
from metrics.core.models import DataSource
from metrics.ingestion.bulk import among, upsert_rows
from metrics.ingestion.changes import ChangeScope
from metrics.ingestion.models import TelemetryPoint, TelemetrySeries
from metrics.ingestion.otlp_series import series_ids
from metrics.ingestion.people import people_resolve
from metrics.ingestion.recompute import recompute_request
from metrics.ingestion.sync_sources import source_secret
from metrics.ingestion.usage import ai_model_usage_upsert, ai_usage_upsert

logger = logging.getLogger(__name__)
SOURCE = "otlp"
CHUNK = 400  # users per query (the cumulative query binds them twice: under SQLite's 999)
PG_CHUNK = 5000  # PostgreSQL: the users are one array parameter (``among``)
Key = tuple[str, str, date]  # tool, user_key, day
MODELS_ASK_SECONDS = 10.0  # a process asks for the models at most this often (the worker debounces too)
_models_asked = {"at": float("-inf")}  # this process's last request (monotonic clock)


def _error(status: int, message: str) -> JsonResponse:
    # OTLP/HTTP errors carry a google.rpc.Status; its JSON form is {"code", "message"}.
    return JsonResponse({"code": status, "message": message}, status=status)


def _authorized(source: DataSource, header: str) -> bool:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    try:
        expected = source_secret(source)
    except SecretDecryptionError as exc:
        logger.error("OTLP source %s: token unusable: %s", source.name, exc)
        return False
    return bool(expected) and hmac.compare_digest(expected.encode("utf-8"), token.strip().encode("utf-8"))


@csrf_exempt
@require_POST
def otlp_export(request: HttpRequest, source_name: str, signal: str) -> HttpResponse:
    source = DataSource.objects.filter(name=source_name, kind=DataSource.Kind.OTLP, enabled=True).first()
    if source is None or not _authorized(source, request.headers.get("Authorization", "")):
        return _error(401, "missing or wrong bearer token for this OTLP source")
    limit = int(settings.OTLP_MAX_BYTES)
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _error(400, "Content-Length is not a number")
    if declared > limit:
        return _error(413, f"the body is larger than {limit} bytes")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(413, f"the body is larger than {limit} bytes")
    content_type = request.headers.get("Content-Type", "")
    with fewer_collections():
        try:
            message = otlp.decode(
                signal,
                body,
                content_type=content_type,
                content_encoding=request.headers.get("Content-Encoding", ""),
                max_bytes=limit,
            )
            points = list(otlp.metric_points(message) if signal == "metrics" else otlp.log_points(message))
        except otlp.OtlpError as exc:
            return _error(exc.status, str(exc))
        telemetry_store(source=source, points=points)
    logger.info("OTLP %s for source %s: %d points", signal, source.name, len(points))
    payload, media = otlp.response_body(signal, content_type)
    return HttpResponse(payload, content_type=media)


POINT_COLUMNS = ("series_id", "start_ns", "time_ns", "day", "cumulative", "value", "received_at")


def telemetry_store(*, source: DataSource, points: list[otlp.Point]) -> int:
    """Insert the points (a point seen before is skipped; a series new to the source is stored first) and
    roll up the usage days they touch; one transaction.  Returns how many points the request held."""
    now = timezone.now()
    first: dict[str, otlp.Point] = {}  # series key -> its first point in the request
    rows: list[tuple[Any, ...]] = []  # POINT_COLUMNS, the series key in place of its id
    for point in points:
        key = point.series
        if key not in first:
            first[key] = point
        rows.append((key, point.start_ns, point.time_ns, point.day, point.cumulative, point.value, now))
    with transaction.atomic():
        found = series_ids(source=source, first=first, now=now)
        touched: set[Key] = set()
        for i, row in enumerate(rows):
            series_id, feeds = found[row[0]]
            rows[i] = (series_id, *row[1:])
            if feeds is not None:
                touched.add((*feeds, row[3]))
        upsert_rows(TelemetryPoint, POINT_COLUMNS, rows, unique=["time_ns", "series", "start_ns"])
        telemetry_rollup(keys=touched)
        if touched:  # usage or model usage days changed
            _models_ask(source)
    return len(rows)


def _models_ask(source: DataSource) -> None:
    """Ask for the organization-wide models (in the request's transaction: with its usage days or not at
    all), unless embedded or this process asked less than ``MODELS_ASK_SECONDS`` ago."""
    now = time.monotonic()
    if settings.CELERY_TASK_ALWAYS_EAGER or now - _models_asked["at"] < MODELS_ASK_SECONDS:
        return
    _models_asked["at"] = now
    recompute_request(reason=f"OTLP export to {source.name}: usage days", scope=ChangeScope(models=True))


def _identity(user_key: str) -> IdentityRecord:
    kind, _, value = user_key.partition(":")
    return IdentityRecord(email=value) if kind == "email" else IdentityRecord(login=value)


MODEL_COUNTS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
Amounts = dict[tuple[Key, str, str, str], float]  # (key, usage_field, model, model_field) -> the day's amount


def _joined() -> str:
    """The series (``s``) with their points (``p``), to be linked in the WHERE clause (``_LINKED``): SQLite
    then looks up the users' series first and their points of the day by the (day, series) index (with an
    ON clause it may choose to walk every point of the day)."""
    qn = connection.ops.quote_name
    points, series = qn(TelemetryPoint._meta.db_table), qn(TelemetrySeries._meta.db_table)
    return f"{series} s CROSS JOIN {points} p"


_LINKED = "p.series_id = s.id"


def _delta_amounts(tool: str, day: date, users: list[str], totals: Amounts) -> list[str]:
    """Add the day's sums of the users' delta points to ``totals`` (one grouped query); returns the users
    who also have cumulative points that day."""
    qn, db_day = connection.ops.quote_name, connection.ops.adapt_datefield_value(day)
    columns = ", ".join(
        f"{table}.{qn(c)}"
        for table, c in (
            ("s", "user_key"),
            ("s", "usage_field"),
            ("s", "model"),
            ("s", "model_field"),
            ("p", "cumulative"),
        )
    )
    condition, params = among(f"s.{qn('user_key')}", users)
    # Names from model metadata (quoted); every value is a parameter.
    sql = (
        f"SELECT {columns}, SUM(p.{qn('value')}) FROM {_joined()} "  # noqa: S608
        f"WHERE {_LINKED} AND s.{qn('tool')} = %s AND p.{qn('day')} = %s AND {condition} GROUP BY {columns}"
    )
    cumulative_users: set[str] = set()
    with connection.cursor() as cursor:
        cursor.execute(sql, [tool, db_day, *params])
        for user_key, usage_field, model, model_field, cumulative, amount in cursor.fetchall():
            if cumulative:
                cumulative_users.add(user_key)
            else:
                totals[((tool, user_key, day), usage_field, model, model_field)] += amount
    return sorted(cumulative_users)


def _cumulative_of(tool: str, users: list[str]) -> tuple[str, list[Any]]:
    """The condition (and its parameters) of the tool's cumulative points (``p``, series ``s``) of users."""
    qn = connection.ops.quote_name
    condition, params = among(f"s.{qn('user_key')}", users)
    return f"{_LINKED} AND s.{qn('tool')} = %s AND {condition} AND p.{qn('cumulative')} = %s", [
        tool,
        *params,
        True,
    ]


def _series_start_day(tool: str, day: date, users: list[str]) -> date | None:
    """The UTC day the earliest-started cumulative series of these users with points on ``day`` began: a
    running total counts from its start, so no older point can belong to it (the points are indexed day
    first).  None when such a series does not say when it started (start 0)."""
    qn, db_day = connection.ops.quote_name, connection.ops.adapt_datefield_value(day)
    where, params = _cumulative_of(tool, users)
    # Names from model metadata (quoted); every value is a parameter.
    sql = f"SELECT MIN(p.{qn('start_ns')}) FROM {_joined()} WHERE p.{qn('day')} = %s AND {where}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [db_day, *params])
        (start_ns,) = cursor.fetchone()
    if not start_ns:
        return None
    return datetime.fromtimestamp(start_ns / 1e9, tz=UTC).date()


def _cumulative_amounts(tool: str, day: date, users: list[str], totals: Amounts) -> None:
    """Add what each cumulative series of the users with points that day grew by that day: its last
    value of the day minus its last value before that day (same start)."""
    qn, db_day = connection.ops.quote_name, connection.ops.adapt_datefield_value(day)
    since = _series_start_day(tool, day, users)
    bound = f"AND p.{qn('day')} >= %s " if since else ""
    bound_value = [connection.ops.adapt_datefield_value(since)] if since else []
    fields = (
        "s.user_key",
        "p.day",
        "s.usage_field",
        "s.model",
        "s.model_field",
        "p.value",
        "p.series_id",
        "p.start_ns",
        "p.time_ns",
    )
    where, params = _cumulative_of(tool, users)
    # Names from model metadata (quoted); every value is a parameter.
    sql = (
        f"SELECT {', '.join(f[:2] + qn(f[2:]) for f in fields)} FROM {_joined()} "  # noqa: S608
        f"WHERE {where} AND p.{qn('day')} <= %s {bound}AND p.{qn('series_id')} IN "
        f"(SELECT p.{qn('series_id')} FROM {_joined()} WHERE {where} AND p.{qn('day')} = %s)"
    )
    series: dict[tuple[int, int], list[tuple[Any, ...]]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, db_day, *bound_value, *params, db_day])
        for row in cursor.fetchall():
            series[(row[6], row[7])].append(row)
    for points in series.values():
        points.sort(key=lambda r: r[8])  # by time
        last_of_day: dict[date, tuple[Any, ...]] = {}
        for row in points:
            moment = row[1] if isinstance(row[1], date) else date.fromisoformat(row[1])  # SQLite: text
            last_of_day[moment] = row
        before = [moment for moment in last_of_day if moment < day]
        previous = last_of_day[max(before)][5] if before else 0.0
        if day in last_of_day:  # the other days are rolled up on their own (each once)
            user_key, _day, usage_field, model, model_field, value = last_of_day[day][:6]
            totals[((tool, user_key, day), usage_field, model, model_field)] += value - previous


def telemetry_rollup(*, keys: Iterable[Key]) -> int:
    """Recompute the ``AIUsageDay`` (source ``otlp``) and ``AIModelUsageDay`` rows of these keys from all
    their points (delta points summed by the database; a cumulative sum counts its growth within the day);
    returns how many usage days were written."""
    by_tool_day: dict[tuple[str, date], set[str]] = defaultdict(set)
    for tool, user_key, day in keys:
        by_tool_day[(tool, day)].add(user_key)
    totals: Amounts = defaultdict(float)
    chunk = PG_CHUNK if connection.vendor == "postgresql" else CHUNK
    for (tool, day), users in by_tool_day.items():
        users_list = sorted(users)
        for i in range(0, len(users_list), chunk):
            cumulative = _delta_amounts(tool, day, users_list[i : i + chunk], totals)
            if cumulative:
                _cumulative_amounts(tool, day, cumulative, totals)
    wanted = set(keys)
    usage: dict[Key, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    models: dict[tuple[Key, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (key, usage_field, model, model_field), value in totals.items():
        if key not in wanted:
            continue
        if usage_field:
            usage[key][usage_field] += value
        if model_field:
            models[(key, model)][model_field] += value
    identities: dict[str, IdentityRecord] = {}
    for _tool, user_key, _day in wanted:
        if user_key not in identities:
            identities[user_key] = _identity(user_key)
    usage_records = [_usage_record(key, values, identities[key[1]]) for key, values in usage.items()]
    model_records = [
        _model_record(key, model, values, identities[key[1]]) for (key, model), values in models.items()
    ]
    people = people_resolve(identities=[r.user for r in (*model_records, *usage_records)])
    ai_model_usage_upsert(records=model_records, people=people)
    return ai_usage_upsert(records=usage_records, people=people)


def _model_record(key: Key, model: str, values: dict[str, float], user: IdentityRecord) -> AIModelUsageRecord:
    counts: dict[str, Any] = dict.fromkeys(MODEL_COUNTS)
    for name, value in values.items():
        if name in counts:
            counts[name] = round(value)
    cost = values.get("cost")
    return AIModelUsageRecord(
        tool=key[0],
        day=key[2],
        model=model,
        user=user,
        cost=None if cost is None else round(cost, 6),
        source=SOURCE,
        **counts,
    )


def _usage_record(key: Key, values: dict[str, float], user: IdentityRecord) -> AIUsageRecord:
    """The usage day of these amounts (a request's usual day holds one or two of the fields)."""
    tool, _user_key, day = key
    counts: dict[str, Any] = dict.fromkeys(otlp.USAGE_FIELDS)
    extra = []
    for name, value in values.items():
        if name in counts:
            counts[name] = round(value)
        elif name != "cost":
            extra.append((name, float(value)))
    cost = values.get("cost")
    return AIUsageRecord(
        tool=tool,
        day=day,
        user=user,
        active=True,
        lines_accepted=counts["lines_added"],
        cost=None if cost is None else round(cost, 6),
        extra=tuple(sorted(extra)),
        source=SOURCE,
        **counts,
    )
