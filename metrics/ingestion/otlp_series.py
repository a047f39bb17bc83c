"""The OTLP receiver's series: a metric name (or log event) with one set of attributes, stored once per data
source in ``TelemetrySeries`` with what it feeds (tool, person, usage field, model); its points refer to it.

``series_ids`` gives a request's series their ids, storing the new ones.  A process remembers the ids it
has seen committed (``_REMEMBERED``, keyed by the data source's id and creation time, so a source deleted
and made again under a reused id starts afresh): a series is never changed but by ``series_ids`` itself,
and deleted only with its data source, so a remembered id stays true, and the usual export, which repeats
the series of the previous one, costs no look-up.  A series stored under other known names
(``otlp.KNOWN_VERSION``: an upgrade that learned a name or an attribute) is classified again the next time
it is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction

from connectors import otlp
from connectors.records import IdentityRecord
from metrics.core.models import DataSource
from metrics.ingestion.bulk import among, upsert_rows
from metrics.ingestion.models import TelemetrySeries

SERIES_COLUMNS = (
    "data_source_id",
    "key",
    "signal",
    "name",
    "unit",
    "tool",
    "user_key",
    "usage_field",
    "model",
    "model_field",
    "known",
    "attributes",
    "received_at",
)
CLASSIFIED = ("tool", "user_key", "usage_field", "model", "model_field", "known")  # what the names decide
LOOKUP_CHUNK = 900  # series keys per look-up (under SQLite's 999 bound parameters)
REMEMBERED_MAX = 100_000  # series ids a process keeps (about 25 MB); past it, it starts again
Feeds = tuple[str, str] | None  # the (tool, user_key) whose usage a series feeds, or None
Found = dict[str, tuple[int, Feeds]]  # series key -> its id and what it feeds
_REMEMBERED: dict[tuple[int, datetime, str], tuple[int, Feeds]] = {}


def _user_key(user: tuple[str, str]) -> str:
    kind, value = user
    if not kind:
        return ""
    return IdentityRecord(email=value).key if kind == "email" else IdentityRecord(login=value).key


def _series_row(source: DataSource, point: otlp.Point, now: datetime) -> tuple[Any, ...]:
    """The point's series as a ``TelemetrySeries`` row (SERIES_COLUMNS)."""
    model_field = point.model_field
    return (
        source.pk,
        point.series,
        point.signal,
        point.name,
        point.unit,
        point.tool,
        _user_key(point.user)[:340],
        point.usage_field,
        str(point.attributes.get("model") or "")[:100] if model_field else "",
        model_field,
        otlp.KNOWN_VERSION,
        point.attributes,
        now,
    )


def _stored(source: DataSource, keys: list[str]) -> Found:
    """Of ``keys``, the source's stored series classified by these known names: their ids and what they
    feed.  Only the key is in the query's condition, so the (key, data source) index is its one way in (a
    condition on the source could lead a planner without statistics to scan all the source's series)."""
    qn = connection.ops.quote_name
    table = qn(TelemetrySeries._meta.db_table)
    names = ("key", "data_source_id", "known", "id", "tool", "user_key", "usage_field", "model_field")
    columns = ", ".join(qn(c) for c in names)
    found: Found = {}
    with connection.cursor() as cursor:
        for i in range(0, len(keys), LOOKUP_CHUNK):
            condition, params = among(qn("key"), keys[i : i + LOOKUP_CHUNK])
            # Names from model metadata (quoted); every value is a parameter.
            cursor.execute(f"SELECT {columns} FROM {table} WHERE {condition}", params)  # noqa: S608
            for (
                key,
                source_id,
                known,
                series_id,
                tool,
                user_key,
                usage_field,
                model_field,
            ) in cursor.fetchall():
                if source_id == source.pk and known == otlp.KNOWN_VERSION:
                    feeds = tool and user_key and (usage_field or model_field)
                    found[key] = (series_id, (tool, user_key) if feeds else None)
    return found


def series_ids(*, source: DataSource, first: dict[str, otlp.Point], now: datetime) -> Found:
    """Id and what it feeds of every series of the request (``first``: series key -> its first point),
    storing those the source has not sent before (a concurrent request storing the same series first is
    fine: the second stores the same).  Call inside the request's transaction."""
    scope = (source.pk, source.created_at)
    found: Found = {}
    unknown = []
    for key in first:
        remembered = _REMEMBERED.get((*scope, key))
        if remembered is None:
            unknown.append(key)
        else:
            found[key] = remembered
    if unknown:
        fetched = _stored(source, unknown)
        new = [key for key in unknown if key not in fetched]
        if new:
            upsert_rows(
                TelemetrySeries,
                SERIES_COLUMNS,
                [_series_row(source, first[key], now) for key in new],
                unique=["key", "data_source"],
                update=CLASSIFIED,
            )
            fetched.update(_stored(source, new))
        found.update(fetched)
        transaction.on_commit(lambda: _remember(scope, fetched))  # not before: a rollback stores nothing
    return found


def _remember(scope: tuple[int, datetime], fetched: Found) -> None:
    if len(_REMEMBERED) + len(fetched) > REMEMBERED_MAX:
        _REMEMBERED.clear()
    for key, value in fetched.items():
        _REMEMBERED[(*scope, key)] = value
