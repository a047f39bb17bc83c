"""Seats paid for per AI tool and month (``AISeatCount``): entered in settings, imported from CSV, and the
frames the ROI reads its spend from (entered counts, seat assignments via ``seat_months_frame``, usage
cost from telemetry).  The spend rule itself is :mod:`metrics.analytics.spend`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
from django.db import transaction
from django.db.models import Q

from connectors import timebounds
from connectors.seats_csv import SeatCountRecord
from metrics.analytics.surveys import canonical_tool
from metrics.ingestion.models import AISeatCount, AIUsageDay
from metrics.ingestion.selectors import person_team_map
from metrics.ingestion.usage import tool_names


def _month_start(value: object) -> pd.Series:
    return pd.to_datetime(value).dt.to_period("M").dt.start_time.dt.date  # type: ignore[union-attr]


def seat_counts_set(*, records: Iterable[SeatCountRecord], source: str) -> tuple[int, int]:
    """Upsert entered seat counts on (tool, month), all or nothing; returns (new, updated).  The tool is
    stored as the configured ``AITool`` spells it, so seats and prices meet on one name."""
    records = list(records)
    names = tool_names(names={r.tool for r in records})
    new = updated = 0
    with transaction.atomic():
        for r in records:
            _, created = AISeatCount.objects.update_or_create(
                tool=names[r.tool], month=r.month, defaults={"seats": r.seats, "source": source}
            )
            new, updated = new + created, updated + (not created)
    return new, updated


def seat_counts_frame() -> pd.DataFrame:
    """(month, tool, seats): the entered seat counts."""
    rows = AISeatCount.objects.values_list("month", "tool", "seats")
    frame = pd.DataFrame.from_records(list(rows), columns=["month", "tool", "seats"])
    frame["tool"] = frame["tool"].map(canonical_tool)
    return frame.groupby(["month", "tool"], as_index=False)["seats"].sum()


def usage_cost_frame() -> pd.DataFrame:
    """(month, tool, team_id, per_user, cost): telemetry cost per month; ``per_user`` False for the rows
    of an organization total."""
    rows = AIUsageDay.objects.filter(
        Q(day__gte=timebounds.EARLIEST.date(), day__lte=timebounds.latest().date()), cost__isnull=False
    ).values_list("day", "tool", "person_id", "user_key", "cost")
    frame = pd.DataFrame.from_records(list(rows), columns=["month", "tool", "person_id", "user_key", "cost"])
    if frame.empty:
        return pd.DataFrame(columns=["month", "tool", "team_id", "per_user", "cost"])
    frame["month"] = _month_start(frame["month"])
    frame["tool"] = frame["tool"].map(canonical_tool)
    frame["per_user"] = frame["user_key"] != ""
    frame["team_id"] = frame["person_id"].map(person_team_map())
    frame["cost"] = frame["cost"].astype(float)
    return frame[["month", "tool", "team_id", "per_user", "cost"]]


def recent_seat_counts(*, months: int = 12) -> list[AISeatCount]:
    """The entered counts of the last ``months`` months, newest first (the settings table)."""
    today = dt.datetime.now(dt.UTC).date()
    index = today.year * 12 + today.month - 1 - (months - 1)
    since = dt.date(index // 12, index % 12 + 1, 1)
    return list(AISeatCount.objects.filter(month__gte=since).order_by("-month", "tool"))
