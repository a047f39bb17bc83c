# ruff: noqa: RUF001, RUF002 - typographic dashes, minus and multiplication signs are intended
"""Report periods: calendar weeks (Monday to Sunday), months and quarters.  Pure Python, no Django.

Metric snapshots are per ISO week and calendar month of the UTC merge date, so a report period is a
run of whole snapshot periods ("base" periods): one week, one month, or the three months of a quarter.
A period's report is due at the schedule's send time (in its time zone) on the first day after it ends.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

KINDS = ("weekly", "monthly", "quarterly")


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class ReportPeriod:
    kind: str
    start: dt.date
    end: dt.date  # last day, inclusive

    @property
    def base(self) -> str:
        """The snapshot period the report is made of: ``week`` or ``month``."""
        return "week" if self.kind == "weekly" else "month"

    @property
    def base_starts(self) -> list[dt.date]:
        if self.kind == "weekly":
            return [self.start]
        months = 3 if self.kind == "quarterly" else 1
        return [_add_months(self.start, i) for i in range(months)]

    def previous(self) -> ReportPeriod:
        return period_containing(self.kind, self.start - dt.timedelta(days=1))

    def trend_starts(self, count: int) -> list[dt.date]:
        """Start dates of the ``count`` base periods up to and including this period's last one."""
        last = self.base_starts[-1]
        if self.base == "week":
            return [last - dt.timedelta(weeks=i) for i in reversed(range(count))]
        return [_add_months(last, -i) for i in reversed(range(count))]

    @property
    def label(self) -> str:
        if self.kind == "weekly":
            return f"Week of {self.start.day} {self.start:%b %Y}"
        if self.kind == "monthly":
            return f"{self.start:%B %Y}"
        return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"

    @property
    def short_label(self) -> str:
        """For a comparison column: ``wk 9 Nov``, ``Oct 2026``, ``Q3 2026``."""
        if self.kind == "weekly":
            return f"wk {self.start.day} {self.start:%b}"
        if self.kind == "monthly":
            return f"{self.start:%b %Y}"
        return self.label

    @property
    def span(self) -> str:
        """``16–22 Nov 2026``, ``1–30 Nov 2026``, ``1 Oct – 31 Dec 2026``."""
        if self.start.month == self.end.month:
            return f"{self.start.day}–{self.end.day} {self.end:%b %Y}"
        first = f"{self.start.day} {self.start:%b}" + (
            "" if self.start.year == self.end.year else f" {self.start.year}"
        )
        return f"{first} – {self.end.day} {self.end:%b %Y}"


def period_containing(kind: str, day: dt.date) -> ReportPeriod:
    if kind == "weekly":
        start = day - dt.timedelta(days=day.weekday())
        return ReportPeriod(kind, start, start + dt.timedelta(days=6))
    if kind == "monthly":
        start = day.replace(day=1)
    elif kind == "quarterly":
        start = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    else:
        raise ValueError(f"period must be one of {', '.join(KINDS)}, got {kind!r}")
    months = 3 if kind == "quarterly" else 1
    return ReportPeriod(kind, start, _add_months(start, months) - dt.timedelta(days=1))


def last_complete(kind: str, today: dt.date) -> ReportPeriod:
    """The latest period that ended before ``today``."""
    return period_containing(kind, today).previous()


def due_at(period: ReportPeriod, send_time: dt.time, timezone: str) -> dt.datetime:
    """When the period's report is due: ``send_time`` local time on the day after the period ends."""
    day = period.end + dt.timedelta(days=1)
    return dt.datetime.combine(day, send_time, tzinfo=ZoneInfo(timezone))
