"""Agent-authored PRs and review load as the team and AI-impact pages show them: the stored monthly snapshot
rows (``ingestion/agents_review.py``) of the last months, with their n; the privacy floor applied for users
who may not see a team's people; money only for roles that see it; per-reviewer rows only where Access
allows people."""

from __future__ import annotations

import datetime as dt
from typing import Any

from metrics.analytics import catalog
from metrics.core.models import Person, TeamMembership
from metrics.ingestion import privacy
from metrics.ingestion.models import AIImpactEstimate, MetricSnapshot
from metrics.web import display

REVIEW_METRICS = (
    "reviews_given",
    "review_hours_p50",
    "review_rounds",
    "review_comments_per_100_lines",
    "review_ai_share",
    "review_agent_share",
    "quick_large_approvals",
)
AGENT_METRICS = (
    "agent_opened_prs",
    "agent_merged_prs",
    "agent_abandoned_prs",
    "agent_abandon_rate",
    "agent_time_to_merge_p50",
    "agent_review_rounds",
    "agent_followup_commits",
    "agent_revert_rate",
    "agent_cost_per_merged_pr",
)
MONEY = ("agent_cost_per_merged_pr",)
MONTHS = 3
PERSON_METRICS = ("reviews_given", "review_hours_p50", "review_ai_share", "review_agent_share")


def _table(
    scope: str, team_id: int | None, metrics: tuple[str, ...], *, floored: bool, sees_money: bool
) -> dict[str, Any]:
    """{"months": [...], "rows": [{"metric", "label", "definition", "cells": [(text, n), ...]}]} over the
    last ``MONTHS`` months that have any of ``metrics``."""
    shown = [m for m in metrics if sees_money or m not in MONEY]
    qs = MetricSnapshot.objects.filter(scope=scope, period="month", metric__in=shown)
    qs = qs.filter(team_id=team_id) if team_id is not None else qs
    months = sorted(set(qs.values_list("period_start", flat=True)))[-MONTHS:]
    if floored:
        large = {
            start
            for group, period, start in privacy.large_groups(team_ids=[team_id] if team_id else [])
            if period == "month" and group == team_id
        }
        months = [m for m in months if m in large]
    values = {
        (metric, start): (value, n)
        for metric, start, value, n in qs.filter(period_start__in=months).values_list(
            "metric", "period_start", "value", "n"
        )
    }
    labels = [display.period_label("month", m) for m in months]
    rows = []
    for metric in shown:
        cells = [values.get((metric, m)) for m in months]
        if not any(cells):
            continue
        rows.append(
            {
                "metric": metric,
                "label": catalog.label(metric),
                "definition": catalog.DEFINITIONS.get(metric, ""),
                "cells": [
                    (label, display.format_value(metric, c[0]), c[1]) if c else (label, "—", 0)
                    for label, c in zip(labels, cells, strict=True)
                ],
            }
        )
    return {"months": labels, "rows": rows}


def summary(team_id: int | None, *, floored: bool, sees_money: bool) -> dict[str, Any]:
    """Review load and agent PRs of a team (or the organization, ``team_id`` None)."""
    scope = "team" if team_id is not None else "organization"
    return {
        "review": _table(scope, team_id, REVIEW_METRICS, floored=floored, sees_money=sees_money),
        "agent": _table(scope, team_id, AGENT_METRICS, floored=floored, sees_money=sees_money),
    }


def reviewers(member_ids: frozenset[int], month: dt.date | None) -> list[dict[str, Any]]:
    """Per-reviewer review load in ``month`` of the given people (only for users who may see them)."""
    if month is None:
        return []
    month = month.replace(day=1)
    end = display.period_end("month", month)
    members = TeamMembership.objects.filter(TeamMembership.during_q(month, end), team_id__in=member_ids)
    people = dict(
        Person.objects.filter(pk__in=members.values("person_id"), is_bot=False).values_list(
            "id", "display_name"
        )
    )
    got: dict[int, dict[str, float | None]] = {}
    for person_id, metric, value in MetricSnapshot.objects.filter(
        scope="person",
        period="month",
        period_start=month,
        person_id__in=list(people),
        metric__in=PERSON_METRICS,
    ).values_list("person_id", "metric", "value"):
        got.setdefault(person_id, {})[metric] = value
    return [
        {"name": people[pk], **{m: display.format_value(m, values.get(m)) for m in PERSON_METRICS}}
        for pk, values in sorted(got.items(), key=lambda item: people[item[0]].casefold())
    ]


EFFECT_LABELS = {
    ("cycle_time", "agent"): "Cycle time, agent PRs vs human PRs",
    ("revert_rate", "agent"): "Revert rate, agent PRs vs human PRs",
    ("cycle_time", "dose"): "Cycle time per 10 points of AI share of added lines",
    ("revert_rate", "dose"): "Revert rate per 10 points of AI share of added lines",
    ("review_hours", "adjusted"): "Reviewer hours to approval, AI-assisted vs human PRs",
    ("review_hours", "agent"): "Reviewer hours to approval, agent vs human PRs",
    ("throughput", "adjusted"): "Merged PRs per engineer-week, weeks with AI use vs without",
    ("throughput_value", "adjusted"): "Value per engineer-week of AI use (through extra merged PRs)",
}
UNIT_TEXT = {
    "percent_change": "%",
    "percentage_points": " pp",
    "pct_per_10_points": "% per 10 pts",
    "pp_per_10_points": " pp per 10 pts",
    "prs_per_week": " PRs/week",
}


def class_effects(*, sees_money: bool, currency: str = "") -> list[dict[str, Any]]:
    """The organization's estimates beside the AI-assisted headline: agent PRs, dose-response, reviewer
    time, throughput and the value it implies (money only for roles that see it)."""
    found = {
        (e.outcome, e.method): e
        for e in AIImpactEstimate.objects.filter(scope="organization", rule="any")
        if (e.outcome, e.method) in EFFECT_LABELS
    }
    rows = []
    for (outcome, method), label in EFFECT_LABELS.items():
        e = found.get((outcome, method))
        if e is None or (outcome == "throughput_value" and not sees_money):
            continue
        unit = f" {currency}/week" if e.unit == "money_per_week" else UNIT_TEXT.get(e.unit, "")
        ok = e.status == "ok" and e.estimate is not None and e.ci_low is not None and e.ci_high is not None
        digits = 2 if e.unit == "prs_per_week" else (0 if e.unit == "money_per_week" else 1)
        rows.append(
            {
                "key": f"{outcome}-{method}",
                "label": label,
                "text": f"{e.estimate:+.{digits}f}{unit}" if ok else "not enough data",
                "interval": f"[{e.ci_low:+.{digits}f}, {e.ci_high:+.{digits}f}]" if ok else "",
                "n": e.n,
                "n_treated": e.n_treated,
                "significant": ok and (e.ci_low > 0 or e.ci_high < 0),  # type: ignore[operator]
            }
        )
    return rows
