"""How far the stored data runs ("data through"), per source and for the organization.

A period after this time is provisional (``analytics/completeness.py``): the pages, the API and the
reports read it here, and the snapshot engine uses it to close the revert metrics' observation window.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Max

from metrics.analytics import completeness
from metrics.ingestion.models import AIUsageDay, Commit, PullRequest

# The delivery records every delivery metric is computed from: (model, time fields).
DELIVERY_EVENTS = ((PullRequest, ("merged_at", "created_at")), (Commit, ("committed_at",)))


def _latest(*values: dt.datetime | None) -> dt.datetime | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def sources_through() -> dict[str, dt.datetime | None]:
    """The latest event of each kind of source: ``delivery`` (PRs and commits) and ``ai_usage`` (telemetry
    days, as the end of the day)."""
    found: list[dt.datetime | None] = []
    for model, fields in DELIVERY_EVENTS:
        row = model.objects.aggregate(**{f: Max(f) for f in fields})
        found += row.values()
    day = AIUsageDay.objects.aggregate(day=Max("day"))["day"]
    usage = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC) if day else None
    return {"delivery": _latest(*found), "ai_usage": usage}


def data_through() -> dt.datetime | None:
    """When the delivery data (the PRs and commits every snapshot metric is computed from) runs through."""
    return sources_through()["delivery"]


def window_days() -> int:
    return int(getattr(settings, "REVERT_OBSERVATION_DAYS", completeness.DEFAULT_WINDOW_DAYS))
