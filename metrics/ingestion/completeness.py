"""How far the stored data runs ("data through"), per source and for the organization.

A period after this time is provisional (``analytics/completeness.py``): the pages, the API and the
reports read it here, and the snapshot engine uses it to close the revert metrics' observation window.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Max, Q

from connectors import timebounds
from metrics.analytics import completeness
from metrics.ingestion.models import AIUsageDay, Commit, Deployment, Incident, PullRequest

# The delivery records every delivery metric is computed from: (model, time fields).
DELIVERY_EVENTS = (
    (PullRequest, ("merged_at", "created_at")),
    (Commit, ("committed_at",)),
    (Deployment, ("created_at", "finished_at")),  # DORA's keys (issue 18)
    (Incident, ("started_at", "resolved_at")),
)


def _latest(*values: dt.datetime | None) -> dt.datetime | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def sources_through() -> dict[str, dt.datetime | None]:
    """The latest event of each kind of source: ``delivery`` (PRs and commits) and ``ai_usage`` (telemetry
    days, as the end of the day)."""
    # Only believable moments count: one forged far-future date must not move "data through" to 9999
    # (every period would look complete, and the day after 9999-12-31 does not exist).
    upper = timebounds.latest()
    found: list[dt.datetime | None] = []
    for model, fields in DELIVERY_EVENTS:
        for f in fields:  # one query per moment: each takes its newest value from its index, if any
            believed = Q(**{f"{f}__gte": timebounds.EARLIEST, f"{f}__lte": upper})
            found.append(model.objects.filter(believed).aggregate(latest=Max(f))["latest"])
    days = AIUsageDay.objects.filter(day__gte=timebounds.EARLIEST.date(), day__lte=upper.date())
    day = days.aggregate(day=Max("day"))["day"]
    usage = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC) if day else None
    return {"delivery": _latest(*found), "ai_usage": usage}


def data_through() -> dt.datetime | None:
    """When the delivery data (the PRs and commits every snapshot metric is computed from) runs through."""
    return sources_through()["delivery"]


def window_days() -> int:
    return int(getattr(settings, "REVERT_OBSERVATION_DAYS", completeness.DEFAULT_WINDOW_DAYS))
