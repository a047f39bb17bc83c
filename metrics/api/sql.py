"""SQL expressions that format export values in the database, identically on PostgreSQL and SQLite.

CSV exports select text already formatted by these expressions, so a PostgreSQL export can be a
plain ``COPY (SELECT ...) TO STDOUT`` and the SQLite export needs no per-value Python work.  JSON
responses use the typed values (``HoursBetween``, ``Pseudonym``) and DRF's own formatting.

Pseudonyms are ``person-`` + the first 12 hex digits of HMAC-SHA256(key, str(person id)), the key
derived from SECRET_KEY.  PostgreSQL computes the HMAC with its built-in ``sha256()``; SQLite calls a
Python function registered on each connection (``register_sqlite_functions``).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from typing import Any

from django.conf import settings
from django.db.models import CharField, Expression, FloatField, Func

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$")


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting with ``= + - @`` TAB or CR gets a leading
    ``'`` (OWASP's advice against CSV injection, e.g. ``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``);
    numbers, and text that is a plain number (``-3.5``), stay as they are.  Every CSV writer uses this
    (``CsvCell`` is the same rule in SQL)."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not PLAIN_NUMBER.match(value):
        return "'" + value
    return value


PSEUDONYM_PREFIX = "person-"
PSEUDONYM_HEX = 12  # 48 bits: no collision in practice even with 100k people (8 hex would risk one)
_BLOCK = 64  # SHA-256 block size, for HMAC's inner and outer pads


@functools.lru_cache(maxsize=4)
def _pseudonym_key(secret: str) -> bytes:
    return hashlib.sha256(b"sextant.api.pseudonym:" + secret.encode("utf-8")).digest()


def person_pseudonym(person_id: int | None) -> str | None:
    """The stable pseudonym of a person id (None stays None)."""
    if person_id is None:
        return None
    digest = hmac.new(_pseudonym_key(settings.SECRET_KEY), str(person_id).encode(), hashlib.sha256)
    return PSEUDONYM_PREFIX + digest.hexdigest()[:PSEUDONYM_HEX]


def _pads() -> tuple[str, str]:
    key = _pseudonym_key(settings.SECRET_KEY).ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key).hex(), bytes(b ^ 0x5C for b in key).hex()


class Pseudonym(Func):
    """``person-<hmac12>`` of a person id column; NULL stays NULL."""

    output_field = CharField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"sextant_person({sql})", list(params)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        sql, params = compiler.compile(self.source_expressions[0])
        ipad, opad = _pads()  # hex of constants derived from the key: no user input reaches this SQL
        inner = f"sha256(decode('{ipad}', 'hex') || convert_to(({sql})::text, 'UTF8'))"
        outer = f"encode(sha256(decode('{opad}', 'hex') || {inner}), 'hex')"
        return f"('{PSEUDONYM_PREFIX}' || left({outer}, {PSEUDONYM_HEX}))", list(params)


def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: SQLite has no sha256(), so the HMAC comes from Python; nor
    regular expressions, so the CSV cell rule is the Python function itself."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("sextant_person", 1, person_pseudonym, deterministic=True)
        connection.connection.create_function("sextant_csv_cell", 1, csv_cell, deterministic=True)


class HoursBetween(Func):
    """``end - start`` in hours rounded to 4 places; NULL when either is unknown or the span is negative.

    The hours are whole microseconds / 3.6e9, as ``catalog.hours_between`` computes them: a float of the
    exact span, so the rounding is the only difference from the snapshots' figure (on SQLite, julianday()
    alone is ~40 us off at today's dates, enough to round a 4th decimal the other way)."""

    output_field = FloatField()

    def __init__(self, start: Any, end: Any) -> None:
        super().__init__(start, end)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        (start, start_params), (end, end_params) = (compiler.compile(e) for e in self.source_expressions)
        if connection.vendor == "postgresql":
            hours = f"round((extract(epoch from ({end}) - ({start})) / 3600)::numeric, 4)::double precision"
            hours_params = [*end_params, *start_params]
        else:
            # Django keeps SQLite datetimes as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC): whole seconds from
            # julianday (exact once rounded) plus the microseconds' digits.
            seconds = f"round((julianday(substr({end}, 1, 19)) - julianday(substr({start}, 1, 19))) * 86400)"
            micros = (
                f"(cast(substr(({end}) || '000000', 21, 6) as integer)"
                f" - cast(substr(({start}) || '000000', 21, 6) as integer))"
            )
            hours = f"round(({seconds} * 1000000 + {micros}) / 3600000000.0, 4)"
            hours_params = [*end_params, *start_params] * 2
        # The parameters in the order the placeholders appear: the condition's, then the value's.
        params = [*end_params, *start_params, *hours_params]
        return f"(CASE WHEN ({end}) >= ({start}) THEN {hours} END)", params


class _TextFunc(Func):
    """A text rendering of one value; ``template`` is for SQLite, ``pg_template`` for PostgreSQL."""

    output_field = CharField()
    template = "%(expressions)s"
    pg_template = "%(expressions)s"

    def as_sql(
        self, compiler: Any, connection: Any, template: str | None = None, **extra: Any
    ) -> tuple[str, list]:
        template = template or self.template
        sql, params = compiler.compile(self.source_expressions[0])
        # A template may name the value twice (CASE): its parameters repeat as often.
        return template % {"expressions": sql}, list(params) * template.count("%(expressions)s")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        return self.as_sql(compiler, connection, template=self.pg_template)


class IsoUtc(_TextFunc):
    """A timestamp as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds), as in the JSON responses."""

    # Django keeps SQLite datetimes as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
    template = "(replace(substr(%(expressions)s, 1, 19), ' ', 'T') || 'Z')"
    pg_template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"


class DateText(_TextFunc):
    pg_template = "to_char(%(expressions)s, 'YYYY-MM-DD')"


class BoolText(_TextFunc):
    template = "(CASE WHEN %(expressions)s THEN 'true' WHEN NOT %(expressions)s THEN 'false' END)"
    pg_template = template


class ListText(_TextFunc):
    """A JSON list of strings joined with ``;`` (empty list -> empty text)."""

    template = "coalesce((SELECT group_concat(value, ';') FROM json_each(%(expressions)s)), '')"
    # Most lists are empty: skip the per-row sub-select for them (a third of this column's cost).
    pg_template = (
        "(CASE WHEN %(expressions)s = '[]'::jsonb THEN '' "
        "ELSE array_to_string(ARRAY(SELECT jsonb_array_elements_text(%(expressions)s)), ';') END)"
    )


class FloatText(_TextFunc):
    """PostgreSQL prints a whole float as ``12``: cast in SQL, so COPY and the cursor path agree."""

    pg_template = "(%(expressions)s)::text"


class JsonText(_TextFunc):
    pg_template = "(%(expressions)s)::text"


class CsvCell(_TextFunc):
    """``csv_cell`` in SQL, so the PostgreSQL COPY export applies the same rule (and the SQLite one calls
    the Python function): text starting with ``= + - @`` TAB or CR, unless it is a plain number, gets a
    leading ``'``."""

    template = "sextant_csv_cell(%(expressions)s)"
    pg_template = (
        "(CASE WHEN %(expressions)s ~ '^[-=+@\\t\\r]' AND %(expressions)s !~ '"
        + PLAIN_NUMBER.pattern
        + "' THEN '''' || %(expressions)s ELSE %(expressions)s END)"
    )


CSV_TEXT: dict[str, type[_TextFunc]] = {
    "datetime": IsoUtc,
    "date": DateText,
    "bool": BoolText,
    "list": ListText,
    "json": JsonText,
    "float": FloatText,
}


NEUTRALIZED_KINDS = frozenset({"text", "list", "json"})  # numbers, dates and booleans cannot start a formula


def csv_expression(kind: str, expression: Expression, *, neutralize: bool = True) -> Expression:
    """The CSV rendering of a typed column; integers and text are left to the database/csv module.
    ``neutralize``: text that a spreadsheet would run as a formula is defused (``CsvCell``)."""
    wrapper = CSV_TEXT.get(kind)
    rendered = wrapper(expression) if wrapper else expression
    return CsvCell(rendered) if neutralize and kind in NEUTRALIZED_KINDS else rendered
