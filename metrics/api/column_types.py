"""What an exported column is (``Column``: its name, type, source and who may see it) and how a list of
them becomes rows: the JSON serializer, the fast JSON rows and the CSV values.  The columns of each
endpoint are declared in ``columns``."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections
from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    FloatField,
    OuterRef,
    Value,
    When,
)
from django.utils import timezone
from rest_framework import serializers
from rest_framework.fields import ISO_8601
from rest_framework.settings import api_settings

from metrics.api.access import Access
from metrics.api.sql import IsoUtc, csv_expression
from metrics.core.models import TeamMembership

ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
ALIAS = "c_"


@dataclass(frozen=True)
class Column:
    """``source``: a field path (default: the name) or an expression.  ``personal``: the field path of
    the person the value names (or reveals): null unless the access sees that person's name.  ``money``:
    null for roles that see no money (costs, spend, net values)."""

    name: str
    kind: str  # int | float | text | bool | datetime | date | list | json
    source: Any = None
    help: str = ""
    nullable: bool = True
    personal: str = ""
    money: bool = False

    def expression(self, access: Access) -> Any:
        plain = self.source is None or isinstance(self.source, str)
        value = F(self.source or self.name) if plain else self.source
        if self.money and not access.sees_money:
            return Value(None, output_field=FloatField())
        if not self.personal or access.sees_all_people:
            return value
        if not access.sees_any_people:
            return Value(None, output_field=CharField())
        # A manager: the names of people ever in their teams (as the web people table and author filter).
        members = TeamMembership.objects.filter(
            person_id=OuterRef(self.personal), team_id__in=sorted(access.people_team_ids or ())
        )
        return Case(When(Exists(members), then=value), default=Value(None), output_field=CharField())

    def field(self) -> serializers.Field:
        options: dict[str, Any] = {
            "source": ALIAS + self.name,
            "help_text": self.help or None,
            "allow_null": self.nullable,
            "read_only": True,
        }
        kinds: dict[str, Any] = {
            "int": serializers.IntegerField,
            "float": serializers.FloatField,
            "text": serializers.CharField,
            "bool": serializers.BooleanField,
            "date": serializers.DateField,
            "json": serializers.JSONField,
        }
        if self.kind == "datetime":
            return serializers.DateTimeField(format=ISO_SECONDS, **options)
        if self.kind == "list":
            return serializers.ListField(child=serializers.CharField(), **options)
        return kinds[self.kind](**options)


class DatetimeText(IsoUtc):
    """PostgreSQL's text of a timestamp exactly as the JSON shows it: DRF's ``DateTimeField(format=
    ISO_SECONDS)`` in UTC, i.e. strftime, whose ``%Y`` is not zero-padded (FM) for years before 1000."""

    pg_template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'FMYYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"


def json_values(columns: Sequence[Column], access: Access, datetime_text: bool = False) -> dict[str, Any]:
    """The typed values the serializer formats.  ``datetime_text`` (see ``datetimes_as_text``): datetimes
    come already formatted, which DRF passes through unchanged, and psycopg need not build a datetime
    per value (Django's timestamptz loader is Python: ~3.5 us a value, 16 ms of a 500-PR page)."""
    return {
        ALIAS + c.name: DatetimeText(c.expression(access))
        if datetime_text and c.kind == "datetime"
        else c.expression(access)
        for c in columns
    }


def datetimes_as_text(using: str) -> bool:
    """Whether ``json_values(datetime_text=True)`` gives the serializer's own output: on PostgreSQL, and
    while DRF formats datetimes in UTC (the current time zone; ``Column.field`` sets none of its own)."""
    in_utc = settings.USE_TZ and _is_utc(timezone.get_current_timezone())
    return in_utc and connections[using].vendor == "postgresql"


def csv_values(columns: Sequence[Column], access: Access, *, neutralize: bool = True) -> list[Any]:
    return [csv_expression(c.kind, c.expression(access), neutralize=neutralize) for c in columns]


def make_serializer(name: str, columns: Sequence[Column]) -> type[serializers.Serializer]:
    """A read-only serializer class named ``name`` (also the OpenAPI component name)."""
    return type(name, (serializers.Serializer,), {c.name: c.field() for c in columns})


Convert = Callable[[Any], Any]
RowSpec = tuple[tuple[str, str, Convert], ...]


def json_rows(serializer_class: type[serializers.Serializer], rows: Iterable[dict[str, Any]]) -> list[dict]:
    """``serializer_class(rows, many=True).data`` of a ``make_serializer`` class and ``.values()`` rows,
    value for value, without DRF's per-field machinery (which cost ~65% of a 700-row JSON page)."""
    spec = _row_spec(serializer_class, timezone.get_current_timezone() if settings.USE_TZ else None)
    return [
        {name: None if (value := row[source]) is None else convert(value) for name, source, convert in spec}
        for row in rows
    ]


@functools.lru_cache(maxsize=64)
def _row_spec(serializer_class: type[serializers.Serializer], current_tz: Any) -> RowSpec:
    """(output name, row key, converter) per readable field, in the serializer's order.  ``current_tz``
    (the time zone DRF formats datetimes in) is part of the cache key only."""
    fields = serializer_class().fields.values()  # bound, as DRF's own to_representation uses them
    if any(field.source == "*" or "." in field.source for field in fields):
        raise ValueError(f"{serializer_class.__name__}: json_rows reads flat row keys only")
    return tuple(
        (field.field_name, field.source, _converter(field)) for field in fields if not field.write_only
    )


def _converter(field: serializers.Field) -> Convert:
    """What ``field.to_representation`` does to a non-null value: the same builtin where DRF calls just
    that, a fast path for the values the database returns, else the field's own method."""
    kind, fallback = type(field), field.to_representation
    if kind is serializers.IntegerField:
        return int
    if kind is serializers.FloatField:
        return float
    if kind is serializers.CharField:
        return str
    if kind is serializers.JSONField and not field.binary:
        return _same
    if kind is serializers.ListField and type(field.child) is serializers.CharField:
        return _str_list
    if kind is serializers.BooleanField:
        return lambda value: value if value.__class__ is bool else fallback(value)
    if kind is serializers.DateField and _is_iso(getattr(field, "format", api_settings.DATE_FORMAT)):
        return lambda value: value.isoformat() if value.__class__ is dt.date else fallback(value)
    if kind is serializers.DateTimeField:
        return _datetime(field)
    return fallback


def _datetime(field: serializers.DateTimeField) -> Convert:
    fallback = field.to_representation
    # DRF: astimezone(the field's time zone), then strftime.  For an aware UTC datetime shown in UTC that
    # is the same wall time, and isoformat() writes it as strftime does for 4-digit years (2x faster).
    in_utc = getattr(field, "format", None) == ISO_SECONDS and _is_utc(
        field.timezone if hasattr(field, "timezone") else field.default_timezone()
    )

    def convert(value: Any) -> Any:
        if value.__class__ is str and value:  # already text (datetime_text): DRF returns it as it is
            return value
        if in_utc and value.__class__ is dt.datetime and value.tzinfo is dt.UTC and value.year >= 1000:
            return value.isoformat("T", "seconds")[:19] + "Z"
        return fallback(value)

    return convert


def _is_utc(tz: Any) -> bool:
    return tz is dt.UTC or (isinstance(tz, ZoneInfo) and tz.key == "UTC")


def _same(value: Any) -> Any:
    return value


def _str_list(value: Any) -> list[str | None]:
    return [None if item is None else str(item) for item in value]


def _is_iso(output_format: Any) -> bool:
    return isinstance(output_format, str) and output_format.lower() == ISO_8601
