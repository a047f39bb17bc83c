"""What an executive report reads: organization and team aggregates only.

Every query on ``MetricSnapshot`` here names its scopes explicitly (``organization``, ``team``): person
rows are per-person data and never reach a report (``tests/reports`` fails if one does).  Survey
results come only through ``survey_round_results``, which applies the privacy floor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
from django.db.models import Q

from metrics.analytics.surveys import ROOT
from metrics.analytics.team_tree import TeamTree
from metrics.core.access import Access
from metrics.core.models import AITool, Organization, Team
from metrics.ingestion.impact import org_settings
from metrics.ingestion.models import AIImpactEstimate, AIRoiMonth, DeliverySplit, MetricSnapshot, SurveyRound
from metrics.ingestion.privacy import visible_snapshots_q
from metrics.ingestion.surveys import survey_round_results
from metrics.reports.kpis import METRICS, Kpi

REPORT_SCOPES = ("organization", "team")  # never "person" (nor "repository": not an executive unit)
ORG = "org"
SNAPSHOT_FRAME_COLUMNS = ["unit", "period_start", "metric", "value", "n"]


def report_snapshot_frame(
    *,
    base: str,
    starts: Sequence[dt.date],
    team_ids: Iterable[int] | None,
    audience: Access | None = None,
    metrics: Sequence[str] = METRICS,
) -> pd.DataFrame:
    """Organization rows and team rows (of ``team_ids``; None: every team) of the KPI metrics that the
    report's ``audience`` may see (default: any recipient, who sees no names, so a group below the
    privacy floor in a period is left out of it: its figures would be one or two people's).

    Columns ``unit`` ("org" or the team id), ``period_start`` (date), ``metric``, ``value`` (float, NaN
    when undefined), ``n``.
    """
    teams = Q(scope="team") if team_ids is None else Q(scope="team", team_id__in=list(team_ids))
    rows = MetricSnapshot.objects.filter(
        Q(scope="organization") | teams,
        scope__in=REPORT_SCOPES,
        period=base,
        period_start__in=list(starts),
        metric__in=list(metrics),
    ).filter(visible_snapshots_q(audience or Access.report_audience()))
    rows = rows.values_list("scope", "team_id", "period_start", "metric", "value", "n")
    records = [
        (ORG if scope == "organization" else team, start, metric, value, n)
        for scope, team, start, metric, value, n in rows
    ]
    frame = pd.DataFrame.from_records(records, columns=SNAPSHOT_FRAME_COLUMNS)
    return frame.astype({"value": "float64", "n": "int64"})


@dataclass(frozen=True)
class TeamNode:
    id: int
    name: str
    depth: int  # 0 for the report's top teams


def team_tree(scope_ids: Sequence[int]) -> list[TeamNode]:
    """The teams in scope (none given: every team) with every team below them, depth-first by name."""
    tree = TeamTree(Team.objects.values_list("id", "parent_id", "name"))  # siblings by name, any case
    # a chosen team below another chosen team is shown once, under its parent (``depth_first``)
    ordered = tree.depth_first(scope_ids or None)
    return [TeamNode(team, tree.rows[team].name, depth) for team, depth in ordered]


def roi_frame(*, months: Sequence[dt.date], team_ids: Iterable[int] | None) -> pd.DataFrame:
    """AIRoiMonth rows of the months: organization rows (``team_ids`` None) or the teams' rows."""
    qs = AIRoiMonth.objects.filter(month__in=list(months))
    qs = qs.filter(team__isnull=True) if team_ids is None else qs.filter(team_id__in=list(team_ids))
    fields = [f.name for f in AIRoiMonth._meta.concrete_fields if f.name not in {"id", "computed_at", "team"}]
    frame = pd.DataFrame.from_records(list(qs.values_list(*fields)), columns=fields)
    numeric = [f for f in fields if f not in {"month", "tool", "spend_note"}]
    return frame.astype(dict.fromkeys(numeric, "float64"))


def delivery_split_rows() -> list[DeliverySplit]:
    """The organization's delivery keys for AI-assisted deployments vs the rest (no person in them)."""
    return list(DeliverySplit.objects.all())


def impact_estimates() -> dict[tuple[str, str], AIImpactEstimate]:
    """Organization-wide estimates under the "any evidence" rule, by (outcome, method)."""
    rows = AIImpactEstimate.objects.filter(scope="organization", rule="any")
    return {(row.outcome, row.method): row for row in rows}


def organization_facts() -> dict[str, object]:
    org = Organization.objects.order_by("pk").first()
    tool = AITool.objects.exclude(currency="").order_by("name").first()
    return {
        "name": org.name if org else "Your organization",
        "currency": tool.currency if tool else "USD",
        **org_settings(),
    }


@dataclass(frozen=True)
class Satisfaction:
    """Mean overall satisfaction per shown group ("org" or team id) of one round, floored."""

    round_name: str
    by_group: dict[object, Kpi]


def satisfaction_rounds(*, until: dt.datetime) -> tuple[Satisfaction | None, Satisfaction | None]:
    """The latest survey round opened before ``until`` and the one before it, floored."""
    rounds = list(SurveyRound.objects.filter(opened_at__lt=until).order_by("-opened_at", "-id")[:2])
    found = [_satisfaction(r) for r in rounds]
    return (found[0] if found else None), (found[1] if len(found) > 1 else None)


def _satisfaction(survey_round: SurveyRound) -> Satisfaction:
    results = survey_round_results(survey_round=survey_round)  # floored at settings.MIN_GROUP_SIZE
    means = results.means[results.means["question"] == "overall_satisfaction"]
    team_of = dict(zip(results.groups["group"], results.groups["team_id"], strict=True))
    by_group: dict[object, Kpi] = {}
    for group, n, mean in zip(means["group"], means["n"], means["mean"], strict=True):
        key = ORG if group == ROOT else int(team_of[group])
        by_group[key] = Kpi(float(mean), int(n))
    return Satisfaction(survey_round.name, by_group)
