"""The range of dates Sextant believes.

A commit's date is whatever its author's machine (or a forger) wrote; a file's dates are whatever its
exporter wrote.  Dates before 1970 or more than a day after the moment of the import cannot be real
activity, and far-away ones (year 1 or 9999) overflow pandas' nanosecond timestamps, so one such row
could stop every later recompute.  Every connector checks its dates here: files reject them with a
message naming the value; git (which cannot be corrected by the importer) stores them as unknown.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)
PLANNED_LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
"""The last moment of a *planned* date (a membership's or a seat's end, a survey's closing day): those may
lie ahead, but year 9999 is still no date (and one day more overflows)."""


def latest(now: datetime | None = None) -> datetime:
    """The last moment believed: one day after ``now`` (clock skew between hosts, time zones)."""
    return (now or datetime.now(UTC)) + FUTURE_TOLERANCE


def out_of_range(value: datetime, now: datetime | None = None, *, planned: bool = False) -> str | None:
    """Why ``value`` cannot be a real event time (or with ``planned``, a planned one), or None when it can."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if value < EARLIEST:
        return f"{value.isoformat()} is before {EARLIEST.date().isoformat()}"
    if planned and value > PLANNED_LATEST:
        return f"{value.isoformat()} is after {PLANNED_LATEST.year}"
    if not planned and value > latest(now):
        return f"{value.isoformat()} is more than a day in the future"
    return None


def believable(value: datetime | None, now: datetime | None = None) -> datetime | None:
    """``value`` when it is within the believed range, else None (unknown)."""
    if value is None or out_of_range(value, now) is not None:
        return None
    return value
