# ruff: noqa: RUF001 - typographic dashes, minus and multiplication signs are intended
"""The AI ROI section of a report: per tool, the measured and the self-reported estimate side by side,
each with its 95% interval and the method behind it (never blended)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from metrics.analytics import roi
from metrics.analytics.roi import REPORTED
from metrics.reports import formatting as fmt
from metrics.reports import selectors
from metrics.reports.static_charts import Chart, Interval, interval_chart

MEASURED = ["ai_prs", "spend", *roi.MEASURED]


@dataclass(frozen=True)
class RoiRow:
    tool: str
    ai_prs: str
    spend: str
    measured_hours: str
    measured_hours_range: str
    measured_net: str
    measured_net_range: str
    reported_net: str
    reported_net_range: str
    total: bool = False


@dataclass(frozen=True)
class RoiSection:
    months_label: str
    rows: list[RoiRow]
    effect: str
    assumptions: str
    charts: list[Chart]
    method: list[str]


def _sum(values: pd.DataFrame) -> pd.Series:
    """Measured figures add up (every bound comes from the same effect interval); a self-reported
    figure blanked by the privacy floor blanks the sum (a partial sum would misstate the scope)."""
    measured = values[MEASURED].sum(min_count=1)
    reported = values[REPORTED].sum(min_count=1).where(~values[REPORTED].isna().any())
    sums = pd.concat([measured, reported])
    if values["spend"].isna().any():  # a month of unknown spend: the total spend and net values are unknown
        sums[[c for c in sums.index if c == "spend" or "_net" in c]] = float("nan")
    return sums


def _spend_note(values: pd.DataFrame) -> str:
    """Why the spend of ``values`` is unknown ("seats unknown", ...), or "" when it is known."""
    unknown = values[values["spend"].isna()]
    if unknown.empty:
        return ""
    notes = [str(n) for n in unknown.get("spend_note", pd.Series(dtype=object)) if n]
    note = notes[0] if notes else "seats unknown"
    months, of = unknown["month"].nunique(), values["month"].nunique()
    return note if months == of else f"{note} ({months} of {of} months)"


def _row(tool: str, sums: pd.Series, currency: str, *, total: bool = False, spend_note: str = "") -> RoiRow:
    def money(column: str) -> str:
        return fmt.money(_value(sums, column), currency)

    return RoiRow(
        tool=tool,
        ai_prs=fmt.count(_value(sums, "ai_prs")),
        spend=spend_note or money("spend"),
        measured_hours=fmt.hours(_value(sums, "measured_hours")),
        measured_hours_range=fmt.hours_range(
            _value(sums, "measured_hours_low"), _value(sums, "measured_hours_high")
        ),
        measured_net=money("measured_net"),
        measured_net_range=fmt.money_range(
            _value(sums, "measured_net_low"), _value(sums, "measured_net_high"), currency
        ),
        reported_net=money("reported_net"),
        reported_net_range=fmt.money_range(
            _value(sums, "reported_net_low"), _value(sums, "reported_net_high"), currency
        ),
        total=total,
    )


def _value(sums: pd.Series, column: str) -> float | None:
    value = sums.get(column)
    return None if value is None or pd.isna(value) else float(value)


def months_label(months: Sequence[dt.date]) -> str:
    if len(months) == 1:
        return f"{months[0]:%B %Y}"
    return f"{months[0]:%b} – {months[-1]:%b %Y}"


def _effect_text() -> tuple[str, bool]:
    estimates = selectors.impact_estimates()
    adjusted = estimates.get(("cycle_time", "adjusted"))
    if adjusted is None or adjusted.status != "ok" or adjusted.estimate is None:
        return (
            "Not enough data yet for the adjusted AI effect on cycle time, so there is no measured "
            "estimate (at least 30 AI-assisted PRs, 30 others and 10 authors are needed).",
            False,
        )
    text = (
        f"AI-assisted PRs change cycle time by {fmt.effect_percent(adjusted.estimate)} "
        f"(95% interval {fmt.effect_percent(adjusted.ci_low)} to {fmt.effect_percent(adjusted.ci_high)}), "
        "adjusted for PR size, files changed, repository, author and week"
    )
    naive = estimates.get(("cycle_time", "naive"))
    if naive is not None and naive.status == "ok":
        text += (
            f"; the naive difference, {fmt.effect_percent(naive.estimate)}, is confounded "
            "(AI users open smaller PRs) and not used"
        )
    return text + ".", True


def roi_section(
    *, months: Sequence[dt.date], team_ids: Sequence[int] | None, facts: dict[str, object]
) -> RoiSection:
    currency = str(facts["currency"])
    frame = selectors.roi_frame(months=months, team_ids=team_ids)
    rows, intervals = [], []
    for tool, part in sorted(frame.groupby("tool"), key=lambda item: str(item[0]).casefold()):
        sums = _sum(part)
        rows.append(_row(str(tool), sums, currency, spend_note=_spend_note(part)))
        intervals.append(
            Interval(
                str(tool),
                _value(sums, "measured_net"),
                _value(sums, "measured_net_low"),
                _value(sums, "measured_net_high"),
            )
        )
    if len(rows) > 1:
        rows.append(_row("All tools", _sum(frame), currency, total=True, spend_note=_spend_note(frame)))
    effect, measured = _effect_text()
    label = months_label(months)
    charts = []
    if measured and intervals:
        charts.append(
            interval_chart(
                title=f"Measured net value per tool, {label} (95% interval)",
                rows=intervals,
                formatter=lambda v: fmt.money(v, currency),
            )
        )
    hourly = fmt.money(float(facts["hourly_cost"]), currency)  # type: ignore[arg-type]
    assumptions = (
        f"Engineering hours per PR: {float(facts['hours_per_pr']):g} (an assumption); "  # type: ignore[arg-type]
        f"loaded cost {hourly} per hour; spend = seats × monthly seat price, or usage cost. “Seats "
        "unknown”: a price is set but no seat count was entered, imported or reported, so spend and net "
        "value are not known."
    )
    method = [
        "AI ROI, measured: AI-assisted PRs × engineering hours per PR × the share of time the adjusted "
        "cycle-time effect implies was saved, valued at the loaded hourly cost, minus tool spend; the "
        "interval carries the effect's 95% interval. Self-reported: survey hours saved per week × active "
        "users × weeks, with a 95% interval, shown only where at least the privacy floor of respondents "
        "answered. The two are shown side by side and never blended.",
    ]
    return RoiSection(
        months_label=label, rows=rows, effect=effect, assumptions=assumptions, charts=charts, method=method
    )
