"""Complete and provisional periods, and the observation window of the revert-based metrics.

A period's figures are *provisional* while the period is still running or while it extends past the time
the data runs through ("data through": the latest event stored, see ``ingestion/completeness.py``): a
month whose data stops on the 23rd would otherwise read as a decline against a whole month.  The
revert-based metrics (revert rate, change failure rate, time to revert) count a merge only once its
fixed observation window has closed (merged_at + window <= data through), so a period stays provisional
for them until the window of its last day has closed.  Pure Python: no Django, no pandas.
"""

from __future__ import annotations

import datetime as dt

DEFAULT_WINDOW_DAYS = 14
# The metrics that wait for the observation window (a revert of a recent merge has not happened yet).
CENSORED = frozenset(
    {
        "revert_rate",
        "change_failure_rate",  # by deployment date: the deployment's window must have closed
        "time_to_revert_p50",
        "time_to_revert_p75",
        "time_to_revert_p90",
    }
)


def period_after(period: str, start: dt.date) -> dt.date:
    """The first day after the week or month that starts on ``start``."""
    if period == "week":
        return start + dt.timedelta(days=7)
    return dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)


def limit(data_through: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """The moment up to which periods can be complete: data through, never later than now."""
    return now if data_through is None else min(data_through, now)


def is_provisional(
    period: str, start: dt.date, metric: str, *, upto: dt.datetime, window_days: int = DEFAULT_WINDOW_DAYS
) -> bool:
    """Whether ``metric`` of the period starting on ``start`` may still change: the period (plus the
    observation window, for the censored metrics) ends after ``upto`` (see :func:`limit`)."""
    end = dt.datetime.combine(period_after(period, start), dt.time(), tzinfo=dt.UTC)
    if metric in CENSORED:
        end += dt.timedelta(days=window_days)
    return end > upto


def first_provisional(period: str, *, upto: dt.datetime, censored: bool, window_days: int) -> dt.date:
    """The first period start that :func:`is_provisional` marks (every later one is marked too): the
    start of the period holding ``upto`` (minus the window for the censored metrics), for SQL filters."""
    day = (upto - dt.timedelta(days=window_days if censored else 0)).astimezone(dt.UTC).date()
    return day - dt.timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)


def through_label(upto: dt.datetime) -> str:
    """``provisional — data through 23 Nov`` as every surface prints it."""
    return f"provisional — data through {upto.day} {upto:%b %Y}"
