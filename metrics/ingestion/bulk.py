"""Fast, portable bulk writes: ``INSERT ... ON CONFLICT`` of many rows at once (SQLite and PostgreSQL).

Django's ``bulk_create``/``bulk_update`` build an expression tree per value, which dominated the
import time of a real history; an import writes tens of thousands of rows, so it goes around that.
Values still go to the database as the ORM would send them: through each field's ``get_db_prep_save``
(once per distinct date or time of a batch), or, for JSON and decimals, the backend adapter it ends in
(``ops.adapt_json_value``, ``ops.adapt_decimalfield_value``), called column by column.

How the rows reach the database:

* SQLite: one ``executemany`` of the statement per chunk (a prepared statement, bound row by row in C);
* PostgreSQL, for a batch of at least ``COPY_MIN`` rows: ``COPY`` into a temporary table and one
  ``INSERT ... SELECT ... ON CONFLICT`` from it, inside a transaction (savepoint) of its own, so a failure
  leaves nothing; the temporary table is the session's (``ON COMMIT DELETE ROWS``), made once, not per
  batch.  Rows of the batch that share a unique key are first merged as the row-by-row statement would
  have stored them (the first row's values, the ``update`` fields of the last one), since one
  ``INSERT ... SELECT`` may not touch a row twice.  Smaller batches use ``executemany``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

CHUNK = 2000
COPY_MIN = 1000  # PostgreSQL: from this many rows on, COPY into a temporary table beats executemany

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
Converter = Callable[[Any], Any]


def _db() -> Any:
    return connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the ``connection`` proxy costs a lookup a use


def _fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _sql(model: type[models.Model], unique: Sequence[str], update: Sequence[str], source: str) -> str:
    """``INSERT INTO <table> (<every column>) <source> [ON CONFLICT ...]``; ``source`` is ``VALUES (...)``
    or a ``SELECT``."""
    opts = model._meta
    qn = _db().ops.quote_name
    columns = ", ".join(qn(f.column) for f in _fields(model))
    # Table and column names come from Django model metadata (quoted), never from user input;
    # values are passed as %s parameters.
    sql = f"INSERT INTO {qn(opts.db_table)} ({columns}) {source}"
    if unique:
        conflict = ", ".join(qn(opts.get_field(name).column) for name in unique)
        if update:
            sets = ", ".join(
                f"{qn(opts.get_field(n).column)} = EXCLUDED.{qn(opts.get_field(n).column)}" for n in update
            )
            sql += f" ON CONFLICT ({conflict}) DO UPDATE SET {sets}"
        else:
            sql += f" ON CONFLICT ({conflict}) DO NOTHING"
    return sql


def _converter(field: models.Field, db: Any) -> Converter | None:
    """The function that turns a Python value of ``field`` into what ``get_db_prep_save`` would send
    (None: the value goes as it is).  Dates and JSON call the backend's adapter directly (what the field's
    own method ends in); any other type, or a value of another type, goes through the field."""
    kind = field.get_internal_type()
    if kind in PLAIN_TYPES:
        return None
    prep = field.get_db_prep_save
    if kind in ("DateField", "DateTimeField"):
        seen: dict[Any, Any] = {}  # a batch holds few distinct days (and one receiving time)
        exact = date if kind == "DateField" else datetime

        def convert_moment(value: Any) -> Any:
            if type(value) is not exact:
                return None if value is None else prep(value, db)
            if value not in seen:
                seen[value] = prep(value, db)
            return seen[value]

        return convert_moment
    if kind == "JSONField":
        adapt_json, encoder = db.ops.adapt_json_value, field.encoder  # type: ignore[attr-defined]

        def convert_json(value: Any) -> Any:
            if type(value) is dict or type(value) is list:
                return adapt_json(value, encoder)
            return None if value is None else prep(value, db)

        return convert_json
    if kind == "DecimalField":
        adapt_decimal = db.ops.adapt_decimalfield_value
        digits, places = field.max_digits, field.decimal_places  # type: ignore[attr-defined]

        def convert_decimal(value: Any) -> Any:
            if type(value) is Decimal and value.is_finite():  # what the field's to_python checks
                return adapt_decimal(value, digits, places)
            return None if value is None else prep(value, db)

        return convert_decimal
    return lambda value: None if value is None else prep(value, db)


def _converted(model: type[models.Model], rows: list[Any], db: Any) -> list[Any]:
    """``rows`` (tuples in the order of ``_fields(model)``) with each column converted for the database,
    a column at a time."""
    converters = [_converter(f, db) for f in _fields(model)]
    if not rows or all(c is None for c in converters):
        return rows
    columns: list[Iterable[Any]] = list(zip(*rows, strict=True))
    for i, convert in enumerate(converters):
        if convert is not None:
            columns[i] = list(map(convert, columns[i]))
    return list(zip(*columns, strict=True))


def _merged(
    model: type[models.Model], rows: list[Any], unique: Sequence[str], update: Sequence[str]
) -> list[Any]:
    """Rows of one unique key merged as row-by-row ``INSERT ... ON CONFLICT`` stores them: the first row,
    with the ``update`` fields of the last (``DO NOTHING``: the first row alone)."""
    names = [f.name for f in _fields(model)]
    at = [names.index(model._meta.get_field(n).name) for n in unique]
    later = [names.index(model._meta.get_field(n).name) for n in update]
    merged: dict[tuple, tuple] = {}
    for row in rows:
        key = tuple([row[i] for i in at])
        first = merged.get(key)
        if first is None:
            merged[key] = row
        elif later:
            values = list(first)
            for i in later:
                values[i] = row[i]
            merged[key] = tuple(values)
    return list(merged.values())


def _copy(model: type[models.Model], rows: list[Any], unique: Sequence[str], update: Sequence[str]) -> None:
    """PostgreSQL: COPY into a temporary table of the model's columns, then one INSERT ... SELECT."""
    db = _db()
    qn = db.ops.quote_name
    columns = ", ".join(qn(f.column) for f in _fields(model))
    # One temporary table per session and column list (a migration that changes the columns makes another),
    # emptied at every commit: created and dropped for each batch, it cost catalog writes (and their WAL)
    # that a telemetry request, a batch each, paid every time.
    digest = hashlib.sha256(columns.encode("utf-8")).hexdigest()[:8]
    table, temporary = qn(model._meta.db_table), qn(f"bulk_{model._meta.db_table}_{digest}")
    if unique:
        rows = _merged(model, rows, unique, update)
    with transaction.atomic(), db.cursor() as cursor:
        # Names from model metadata (quoted); the values travel in COPY's own format.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {temporary} ON COMMIT DELETE ROWS "  # noqa: S608
            f"AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {temporary} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(_sql(model, unique, update, f"SELECT {columns} FROM {temporary}"))  # noqa: S608
        cursor.execute(f"DELETE FROM {temporary}")  # noqa: S608 - for a later batch of this transaction


def among(column: str, values: list[str]) -> tuple[str, list[Any]]:
    """SQL that ``column`` is one of ``values``, and its parameters: on PostgreSQL one array parameter
    (``= ANY``: half the time of an ``IN`` list of a thousand, whose text and plan grow with it), elsewhere
    an ``IN`` list of parameters (SQLite binds at most 999 a statement: the caller chunks)."""
    if _db().vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def upsert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    unique: Sequence[str] = (),
    update: Sequence[str] = (),
) -> int:
    """Insert ``rows``, each a sequence of Python values for ``columns`` (attribute names: every concrete
    field of the model but its primary key, in any order); on a conflict over ``unique`` update ``update``
    fields (or do nothing).  The hot path of telemetry ingestion (hundreds of thousands of rows): no model
    instances, no ``pre_save`` hooks (``auto_now``: callers pass such values themselves).  Returns how many
    rows were given."""
    db, order = _db(), [f.attname for f in _fields(model)]
    if sorted(columns) != sorted(order):
        raise ValueError(f"upsert_rows of {model.__name__} needs exactly the columns {order}, not {columns}")
    values = list(rows)
    if list(columns) != order:
        position = {name: i for i, name in enumerate(columns)}
        values = list(map(itemgetter(*[position[name] for name in order]), values))
    return _write(model, _converted(model, values, db), unique, update)


def _write(model: type[models.Model], values: list[Any], unique: Sequence[str], update: Sequence[str]) -> int:
    """Store rows of values ready for the database (see the module's docstring for how)."""
    db = _db()
    if db.vendor == "postgresql" and len(values) >= COPY_MIN:
        _copy(model, values, unique, update)
        return len(values)
    sql = _sql(model, unique, update, "VALUES (" + ", ".join(["%s"] * len(_fields(model))) + ")")
    with db.cursor() as cursor:
        for i in range(0, len(values), CHUNK):
            cursor.executemany(sql, values[i : i + CHUNK])
    return len(values)


def upsert(
    model: type[models.Model],
    objs: Iterable[models.Model],
    *,
    unique: Sequence[str] = (),
    update: Sequence[str] = (),
) -> int:
    """Insert ``objs``; on a conflict over ``unique`` update ``update`` fields (or do nothing).  Each value
    goes through its field's ``pre_save`` (``auto_now``) and ``get_db_prep_save``."""
    db, fields = _db(), _fields(model)
    rows = [tuple(f.get_db_prep_save(f.pre_save(obj, True), db) for f in fields) for obj in objs]
    return _write(model, rows, unique, update)


def upsert_values(
    model: type[models.Model],
    rows: Iterable[dict[str, object]],
    *,
    unique: Sequence[str] = (),
    update: Sequence[str] = (),
) -> int:
    """``upsert_rows`` of plain dicts (attribute name -> value; a missing one is the field's default)."""
    db, plan = _db(), [(f.attname, f.get_default()) for f in _fields(model)]
    values = [[row.get(name, default) for name, default in plan] for row in rows]
    return _write(model, _converted(model, values, db), unique, update)
