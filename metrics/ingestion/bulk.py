"""Fast, portable bulk writes: one ``executemany`` of ``INSERT ... ON CONFLICT`` (SQLite and PostgreSQL).

Django's ``bulk_create``/``bulk_update`` build an expression tree per value, which dominated the
import time of a real history; an import writes tens of thousands of rows, so it goes around that.
Values still pass through each field's ``get_db_prep_save``, so types are stored exactly as the ORM would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, models

CHUNK = 2000


def _sql(model: type[models.Model], unique: Sequence[str], update: Sequence[str]) -> tuple[str, list]:
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    # Table and column names come from Django model metadata (quoted), never from user input;
    # values are passed as %s parameters.
    sql = f"INSERT INTO {qn(opts.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    if unique:
        conflict = ", ".join(qn(opts.get_field(name).column) for name in unique)
        if update:
            sets = ", ".join(
                f"{qn(opts.get_field(n).column)} = EXCLUDED.{qn(opts.get_field(n).column)}" for n in update
            )
            sql += f" ON CONFLICT ({conflict}) DO UPDATE SET {sets}"
        else:
            sql += f" ON CONFLICT ({conflict}) DO NOTHING"
    return sql, fields


def _execute(sql: str, rows: list[list[object]]) -> int:
    with connection.cursor() as cursor:
        for i in range(0, len(rows), CHUNK):
            cursor.executemany(sql, rows[i : i + CHUNK])
    return len(rows)


def upsert(
    model: type[models.Model],
    objs: Iterable[models.Model],
    *,
    unique: Sequence[str] = (),
    update: Sequence[str] = (),
) -> int:
    """Insert ``objs``; on a conflict over ``unique`` update ``update`` fields (or do nothing)."""
    sql, fields = _sql(model, unique, update)
    rows = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs]
    return _execute(sql, rows)


# Field types whose Python values the database drivers take as they are (no adaptation by Django).
PLAIN_TYPES = frozenset(
    {
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "FloatField",
        "ForeignKey",
        "IntegerField",
        "PositiveIntegerField",
        "SlugField",
        "SmallIntegerField",
        "TextField",
    }
)


def upsert_values(
    model: type[models.Model],
    rows: Iterable[dict[str, object]],
    *,
    unique: Sequence[str] = (),
    update: Sequence[str] = (),
) -> int:
    """``upsert`` of plain dicts (attribute name -> value; a missing one is the field's default), without
    building model instances: the hot path of telemetry ingestion (hundreds of thousands of rows).  Values
    of plain types go to the driver as they are; the others (dates, decimals, JSON) through the field's
    ``get_db_prep_save``, exactly as the ORM would store them.  No ``pre_save`` hooks (``auto_now``) run:
    callers pass such values themselves."""
    sql, fields = _sql(model, unique, update)
    plan = [(f.attname, f.get_default(), None if f.get_internal_type() in PLAIN_TYPES else f) for f in fields]
    values = [
        [
            (value if field is None or value is None else field.get_db_prep_save(value, connection))
            for name, default, field in plan
            for value in (row.get(name, default),)
        ]
        for row in rows
    ]
    return _execute(sql, values)
