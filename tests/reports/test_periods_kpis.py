# ruff: noqa: RUF001 - typographic dashes and minus signs are what the report prints
"""Report periods (calendar, due times across time zones) and KPI recombination.  No database."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from metrics.reports import formatting as fmt
from metrics.reports import kpis as k
from metrics.reports.periods import due_at, last_complete, period_containing


def test_periods_are_calendar_weeks_months_and_quarters() -> None:
    week = period_containing("weekly", dt.date(2026, 11, 18))
    assert (week.start, week.end, week.label) == (
        dt.date(2026, 11, 16),
        dt.date(2026, 11, 22),
        "Week of 16 Nov 2026",
    )
    assert week.previous().start == dt.date(2026, 11, 9)
    quarter = period_containing("quarterly", dt.date(2026, 2, 14))
    assert (quarter.start, quarter.end, quarter.label) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 3, 31),
        "Q1 2026",
    )
    assert quarter.base_starts == [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    assert quarter.previous().label == "Q4 2025" and quarter.previous().span == "1 Oct – 31 Dec 2025"
    assert last_complete("monthly", dt.date(2026, 3, 1)).label == "February 2026"
    assert period_containing("monthly", dt.date(2024, 2, 10)).end == dt.date(2024, 2, 29)
    assert period_containing("monthly", dt.date(2026, 11, 5)).trend_starts(3) == [
        dt.date(2026, 9, 1),
        dt.date(2026, 10, 1),
        dt.date(2026, 11, 1),
    ]
    with pytest.raises(ValueError, match="yearly"):
        period_containing("yearly", dt.date(2026, 1, 1))


def test_due_time_is_local_time_the_day_after_the_period() -> None:
    october = period_containing("monthly", dt.date(2026, 10, 10))
    due = due_at(october, dt.time(8, 0), "Europe/Berlin")
    assert due.astimezone(dt.UTC) == dt.datetime(2026, 11, 1, 7, 0, tzinfo=dt.UTC)  # CET after the DST change
    march = period_containing("monthly", dt.date(2026, 3, 10))
    assert due_at(march, dt.time(8, 0), "Europe/Berlin").astimezone(dt.UTC).hour == 6  # CEST


FRAME = pd.DataFrame(
    [
        ("org", dt.date(2026, 9, 1), "cycle_time_p50", 30.0, 100),
        ("org", dt.date(2026, 10, 1), "cycle_time_p50", 20.0, 300),
        ("org", dt.date(2026, 9, 1), "merged_prs", 100.0, 100),
        ("org", dt.date(2026, 10, 1), "merged_prs", 300.0, 300),
        ("org", dt.date(2026, 9, 1), "throughput_per_engineer", 10.0, 10),
        ("org", dt.date(2026, 10, 1), "throughput_per_engineer", 15.0, 20),
        ("org", dt.date(2026, 9, 1), "revert_rate", 0.10, 100),
        ("org", dt.date(2026, 10, 1), "revert_rate", 0.02, 300),
    ],
    columns=["unit", "period_start", "metric", "value", "n"],
)


def test_kpis_recombine_counts_and_shares_exactly_and_flag_a_recombined_median() -> None:
    one = k.kpis(FRAME, starts=[dt.date(2026, 10, 1)], units=["org"])
    assert one["cycle_time_p50"] == k.Kpi(20.0, 300)  # a single cell: the snapshot's own median
    both = k.kpis(FRAME, starts=[dt.date(2026, 9, 1), dt.date(2026, 10, 1)], units=["org"])
    assert both["merged_prs"].value == 400
    assert both["revert_rate"].value == pytest.approx((0.10 * 100 + 0.02 * 300) / 400)
    assert both["throughput_per_engineer"].value == pytest.approx(400 / 30)  # PRs per engineer-month
    assert both["cycle_time_p50"] == k.Kpi(22.5, 400, approximate=True)
    assert not k.kpis(FRAME, starts=[dt.date(2026, 8, 1)], units=["org"])["cycle_time_p50"].known


def test_change_directions_and_formats() -> None:
    faster = k.change("cycle_time_p50", k.Kpi(20.0, 300), k.Kpi(30.0, 100))
    assert faster is not None and faster.better is True and fmt.relative(faster.relative or 0) == "−33.3%"
    reverts = k.change("revert_rate", k.Kpi(0.02, 300), k.Kpi(0.10, 100))
    assert reverts is not None and fmt.points(reverts.points or 0) == "−8.0 pp" and reverts.better is True
    adoption = k.change("ai_assisted_share", k.Kpi(0.3, 300), k.Kpi(0.2, 100))
    assert adoption is not None and adoption.better is None  # no colour: more AI is not "better" per se
    assert fmt.money(-1234.4) == "−$1,234" and fmt.money(5e6, "EUR") == "€5,000,000"
    assert fmt.money(12.0, "CHF") == "12 CHF" and fmt.hours(None) == "—"


def test_notable_keeps_strong_movements_with_enough_data_only() -> None:
    pairs = {
        ("org", "revert_rate"): (k.Kpi(0.02, 300), k.Kpi(0.10, 100)),  # z about 3.5
        ("a", "cycle_time_p50"): (k.Kpi(40.0, 5), k.Kpi(10.0, 5)),  # too few PRs
        ("b", "cycle_time_p50"): (k.Kpi(31.0, 200), k.Kpi(30.0, 200)),  # noise
        ("c", "merged_prs"): (k.Kpi(300.0, 300), k.Kpi(10.0, 10)),  # volume is not a movement
        ("d", "satisfaction"): (k.Kpi(2.5, 6), k.Kpi(4.0, 6)),  # floored groups only reach here
    }
    found = k.notable(pairs)
    assert [(m.unit, m.metric) for m in found] == [("org", "revert_rate"), ("d", "satisfaction")]
