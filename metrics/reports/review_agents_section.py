"""The report's "Review load and agent PRs" lines (issue 17): for the report's months, the organization's
(or one team's) review load and agent-authored PRs from the stored monthly snapshot rows, and the adjusted
effects on reviewer time and throughput with their intervals.  Groups below the privacy floor give
nothing; per-person rows are never in a report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from metrics.analytics import catalog
from metrics.ingestion import privacy
from metrics.ingestion.models import AIImpactEstimate, MetricSnapshot
from metrics.reports import formatting as fmt

GROUP_SCOPES = ("organization", "team")
SUMMED = (
    "reviews_given",
    "quick_large_approvals",
    "agent_opened_prs",
    "agent_merged_prs",
    "agent_abandoned_prs",
)
WEIGHTED = ("review_hours_p50", "review_ai_share", "review_agent_share", "agent_abandon_rate")
EFFECTS = (
    ("review_hours", "adjusted", "Reviewer hours to approval, AI-assisted vs human PRs"),
    ("review_hours", "agent", "Reviewer hours to approval, agent vs human PRs"),
    ("cycle_time", "agent", "Cycle time, agent vs human PRs"),
    ("throughput", "adjusted", "Merged PRs per engineer-week with AI use"),
)


def _text(metric: str, value: float) -> str:
    unit = catalog.unit(metric)
    if unit == "share":
        return fmt.percent(value)
    if unit == "hours":
        return fmt.hours(value)
    return fmt.count(value)


def lines(months: Sequence[dt.date], team_id: int | None = None) -> list[tuple[str, str]]:
    """(label, text) pairs: sums over the months for counts, n-weighted means for medians and shares
    (marked "≈" for a median over several months), then the adjusted effects."""
    scope = "team" if team_id is not None else "organization"
    # Group rows only (a report never reads per-person snapshots), then the one group's.
    groups = MetricSnapshot.objects.filter(
        scope__in=GROUP_SCOPES, period="month", period_start__in=list(months)
    )
    groups = groups.filter(scope=scope, team_id=team_id)
    large = set(
        groups.filter(metric=privacy.ENGINEERS_METRIC, n__gte=privacy.floor()).values_list(
            "period_start", flat=True
        )
    )
    rows = groups.filter(period_start__in=sorted(large), metric__in=[*SUMMED, *WEIGHTED])
    got: dict[str, list[tuple[float, int]]] = {}
    for metric, value, n in rows.values_list("metric", "value", "n"):
        if value is not None:
            got.setdefault(metric, []).append((value, n))
    out = []
    for metric in (*SUMMED, *WEIGHTED):
        values = got.get(metric)
        if not values:
            continue
        if metric in SUMMED:
            text = fmt.count(sum(v for v, _ in values))
        else:
            total = sum(n for _, n in values)
            mean = sum(v * n for v, n in values) / total if total else values[0][0]
            text = ("≈ " if len(values) > 1 and metric.endswith("_p50") else "") + _text(metric, mean)
        out.append((catalog.label(metric), text))
    estimates = {
        (e.outcome, e.method): e for e in AIImpactEstimate.objects.filter(scope="organization", rule="any")
    }
    for outcome, method, label in EFFECTS:
        e = estimates.get((outcome, method))
        if e is None:
            continue
        if e.status != "ok" or e.estimate is None or e.ci_low is None or e.ci_high is None:
            out.append((label, "not enough data"))
            continue
        unit = " PRs/week" if e.unit == "prs_per_week" else "%"
        digits = 2 if e.unit == "prs_per_week" else 1
        interval = f"95% interval {e.ci_low:+.{digits}f} to {e.ci_high:+.{digits}f}"
        out.append((label, f"{e.estimate:+.{digits}f}{unit} ({interval}; n={e.n})"))
    return out
