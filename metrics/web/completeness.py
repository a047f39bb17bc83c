"""Which periods the pages mark provisional: the data-through time, read once per recompute."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from metrics.analytics import completeness
from metrics.ingestion import completeness as data
from metrics.web.memo import cache, key

THROUGH_CACHE_SECONDS = 600  # the key changes with every recompute; the timeout only bounds memory


def upto(snapshots: object) -> dt.datetime:
    """Data through (the latest PR or commit event), never later than now; ``snapshots``: the snapshot
    version, so the aggregate runs once per recompute, not on every page."""
    through = cache.get_or_set(
        key("data-through", snapshots), lambda: data.data_through() or "", THROUGH_CACHE_SECONDS
    )
    return completeness.limit(through or None, timezone.now())


def provisional(period: str, start: dt.date, metric: str, at: dt.datetime) -> bool:
    return completeness.is_provisional(period, start, metric, upto=at, window_days=data.window_days())


def label(period: str, start: dt.date, at: dt.datetime) -> str:
    """The page's note for the period: "" when complete; the revert metrics alone may still be waiting."""
    if provisional(period, start, "merged_prs", at):
        return completeness.through_label(at)
    if provisional(period, start, "revert_rate", at):
        return f"revert rate {completeness.through_label(at)} (observation window still open)"
    return ""
