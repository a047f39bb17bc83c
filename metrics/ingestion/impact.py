"""Recomputing AI-impact estimates and the ROI table (selectors -> analytics -> tables)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction

from metrics.analytics import agents, ai_impact, flow, review_load, roi, spend
from metrics.analytics.snapshots import DEFINITION_VERSION, primary_teams
from metrics.analytics.team_tree import TeamTree
from metrics.core.models import AITool, Organization
from metrics.ingestion import ai_selectors, seats, selectors
from metrics.ingestion.experiment_results import experiments_recompute
from metrics.ingestion.experiments import history_columns
from metrics.ingestion.models import AIImpactEstimate, AIRoiMonth, CommitAIAttribution, MetricSnapshot

DEFAULT_HOURLY_COST = 100.0
DEFAULT_HOURS_PER_PR = 8.0
IMPACT_COLUMNS = [
    *selectors.PR_KEY_COLUMNS,
    "ai_tools",
    "first_commit_at",
    "created_at",
    "ready_at",
    "approved_at",
    "merged_at",
    "reverted_at",
    "additions",
    "deletions",
    "changed_files",
    "revert_of_id",
]  # ai_tools: None where a PR names no tool (``selectors.pr_tools``), read apart from the rest


def org_settings() -> dict[str, float]:
    org = Organization.objects.order_by("pk").first()
    values = (org.settings if org else {}) or {}
    return {
        "hourly_cost": float(values.get("loaded_hourly_cost", DEFAULT_HOURLY_COST)),
        "hours_per_pr": float(values.get("engineering_hours_per_pr", DEFAULT_HOURS_PER_PR)),
    }


def with_classes(prs: pd.DataFrame) -> pd.DataFrame:
    """``prs`` with ``agent_authored``, ``agent_tool`` and ``ai_share`` (the share of added lines written
    with AI where line-level attribution is stored, else NaN).  Mapped by id, never merged: an empty frame's
    id column is an object one, which pandas refuses to merge with integers."""
    agents = selectors.agent_pr_frame()
    tools = dict(zip(agents["id"], agents["agent_tool"], strict=True))
    share = ai_share_frame()
    shares = dict(zip(share["id"], share["ai_share"], strict=True))
    out = prs.copy(deep=False)  # copy-on-write: the columns added below are not added to ``prs``
    out["agent_tool"] = pd.Series([tools.get(i) for i in out["id"]], index=out.index, dtype=object)
    out["agent_authored"] = out["agent_tool"].notna()
    out["ai_share"] = pd.Series([shares.get(i, np.nan) for i in out["id"]], index=out.index, dtype=float)
    return out


MIN_ATTRIBUTION_COVERAGE = 0.5  # a PR's AI share counts when a source attributed half its added lines


def ai_share_frame() -> pd.DataFrame:
    """(id, ai_share): each PR's share of added lines written with AI from the line-level attribution
    selector (``ai_selectors.pr_ai_share_frame``), where sources attributed at least half its added lines
    (else unknown: a share over a few commits would stand for the whole PR)."""
    if not CommitAIAttribution.objects.exists():  # nothing attributed: every share unknown
        return pd.DataFrame(columns=["id", "ai_share"])
    frame = ai_selectors.pr_ai_share_frame()
    if frame.empty:
        return pd.DataFrame(columns=["id", "ai_share"])
    known = frame[frame["coverage"].astype(float) >= MIN_ATTRIBUTION_COVERAGE]
    return known.rename(columns={"pr_id": "id"})[["id", "ai_share"]].astype({"ai_share": float})


def impact_frame() -> pd.DataFrame:
    """Merged PRs with their model columns and primary team: non-bot PRs, and agent PRs even when an agent
    account opened them (a third class, never mixed with AI-assisted human PRs).

    Revert PRs are left out: undoing a change is not new work, and their timing is set by the PR
    they revert (they would pull every effect towards "fast, not AI-assisted").
    """
    prs = selectors.pull_request_frame(columns=[c for c in IMPACT_COLUMNS if c != "ai_tools"])
    prs.insert(IMPACT_COLUMNS.index("ai_tools"), "ai_tools", selectors.pr_tools(prs["id"]))
    prs = with_classes(prs)
    people = ~prs["is_bot"].astype(bool) | prs["agent_authored"]
    keep = (prs["state"] == "merged") & prs["merged_at"].notna() & people
    merged = prs[keep & prs["revert_of_id"].isna()]
    merged = flow.phase_spans(merged).assign(size_lines=lambda f: flow.pr_size(f))
    teams = primary_teams(merged, selectors.membership_frame()).set_index("id")["team_id"]
    approver = review_load.approver_of(selectors.review_frame())
    # Mapped by id (ids are unique), not merged: a merge would copy every column of a million PRs.
    merged = merged.assign(reviewer_id=merged["id"].map(approver), team_id=merged["id"].map(teams))
    return ai_impact.prepare(merged.reset_index(drop=True))


def _estimate_rows(model: pd.DataFrame) -> list[AIImpactEstimate]:
    estimates = [*ai_impact.adjusted_effects(model), *ai_impact.naive_effects(model)]
    estimates.append(ai_impact.did_effect(model, ai_impact.adoption_weeks(model)))
    estimates += [*ai_impact.agent_effects(model), *ai_impact.dose_effects(model)]
    estimates += ai_impact.review_effects(model)
    estimates += _throughput(model)
    rows = [AIImpactEstimate(scope="organization", rule="any", **_fields(e)) for e in estimates]
    evidence = selectors.evidence_kind_frame()
    for record in ai_impact.sensitivity(model, evidence).to_dict("records"):
        if record["rule"] != "any":
            rule = record.pop("rule")
            rows.append(
                AIImpactEstimate(scope="organization", rule=rule, **_fields(ai_impact.Estimate(**record)))
            )
    for team_id, team_model in _team_models(model):
        for e in ai_impact.adjusted_effects(team_model):
            rows.append(AIImpactEstimate(scope="team", team_id=int(team_id), rule="any", **_fields(e)))
    return rows


def _throughput(model: pd.DataFrame) -> list[ai_impact.Estimate]:
    """The throughput effect (merged PRs per engineer-week) and the value it implies per engineer-week of
    AI use (outcome ``throughput_value``, money per week), from engineers' PRs (agent PRs count for the
    engineer who opened them, not for an agent account)."""
    engineers = model[~model["is_bot"].astype(bool)]
    panel = ai_impact.engineer_weeks(engineers, ai_selectors.usage_day_frame())
    effect = ai_impact.throughput_effect(panel)
    baseline = float(panel.loc[panel["ai_week"] == 0, "merged"].mean()) if not panel.empty else 0.0
    figures: tuple[float | None, ...] = (None, None, None)
    status = effect.status
    if effect.status == "ok" and baseline > 0:
        bounds = (effect.estimate, effect.ci_low, effect.ci_high)
        figures = roi.throughput_value(bounds, baseline=baseline, hourly_cost=org_settings()["hourly_cost"])  # type: ignore[arg-type]
    elif effect.status == "ok":
        status = "not enough data"
    value = ai_impact.Estimate(
        "throughput_value",
        "adjusted",
        "money_per_week",
        *figures,
        effect.n,
        effect.n_treated,
        effect.n_clusters,
        status,
    )
    return [effect, value]


TEAM_MODEL_COLUMNS = ["id", "log_cycle", "reverted", "ai", "agent", *ai_impact.CONTROLS]
TEAM_MODEL_COLUMNS += ai_impact.FIXED_EFFECTS


def _team_models(model: pd.DataFrame) -> Iterator[tuple[int, pd.DataFrame]]:
    """(team id, its PRs) for every team with PRs, a parent team with every PR of the teams below it (as
    the snapshots roll up), so parents get an estimate (or a "not enough data") like any other team.

    One team's PRs at a time, in the model's order, with only the columns its regressions read: the
    tree rolled out over a million PRs' every column took more memory than the rest of the recompute."""
    known = model["team_id"].notna().to_numpy()
    if not known.any():
        return
    slim = model.loc[known, [c for c in TEAM_MODEL_COLUMNS if c in model]]
    teams = model.loc[known, "team_id"].astype("int64").to_numpy()
    tree = TeamTree.from_frame(selectors.team_frame()).with_ancestors()
    for team_id, below in tree.groupby("rollup_team_id")["team_id"]:
        rows = np.isin(teams, below.to_numpy())
        if rows.any():
            yield int(team_id), slim[rows].assign(team_id=int(team_id))


def _fields(e: ai_impact.Estimate) -> dict[str, object]:
    # Sensitivity rows come from DataFrame records, where a missing estimate is NaN: store (and export) null.
    values = {k: None if isinstance(v, float) and pd.isna(v) else v for k, v in e.as_dict().items()}
    return {**values, "definition_version": DEFINITION_VERSION}


def _roi_rows(model: pd.DataFrame, cycle: ai_impact.Estimate, knobs: dict[str, float]) -> list[AIRoiMonth]:
    month = (
        model["merged_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M").dt.start_time.dt.date
    )
    # Hours saved come from the AI-assisted effect: agent PRs (their own class) are not AI-assisted PRs here.
    human = model["agent"] == 0
    ai_prs = model[human].assign(month=month[human], tool=model.loc[human, "ai_tools"]).explode("tool")
    ai_prs = ai_prs.dropna(subset=["tool"])
    inputs = {
        "ai_prs": ai_prs,
        "responses": ai_selectors.survey_hours_frame(),
        "users": ai_selectors.tool_users_frame(),
        "seats": ai_selectors.seat_months_frame(),
        "declared": seats.seat_counts_frame(),
        "usage": seats.usage_cost_frame(),
        "prices": {t.name: float(t.monthly_seat_cost) for t in AITool.objects.all()},
    }
    effect = (cycle.estimate, cycle.ci_low, cycle.ci_high) if cycle.status == "ok" else None
    org, teams = (
        roi.roi_by(
            keys,
            **inputs,  # type: ignore[arg-type]
            effect=effect,
            hours_per_pr=knobs["hours_per_pr"],
            hourly_cost=knobs["hourly_cost"],
            min_group_size=settings.MIN_GROUP_SIZE,
        )
        for keys in (["month", "tool"], ["month", "tool", "team_id"])
    )
    # Team rows beside the organization row could reveal a small group by subtraction.
    org, teams = roi.floor_reported(org, teams, min_size=settings.MIN_GROUP_SIZE)
    org = _with_agent_cost(org, model, inputs["usage"])  # type: ignore[arg-type]
    return [_roi_row(record) for table in (org, teams) for record in table.to_dict("records")]


def _with_agent_cost(org: pd.DataFrame, model: pd.DataFrame, usage: pd.DataFrame) -> pd.DataFrame:
    """The organization's ROI rows with merged agent PRs and the cost per merged agent PR of each tool and
    month (``spend.agent_cost_per_merged_pr``: only where cost telemetry exists)."""
    merged = agents.merged_by_tool(model[model["agent"] == 1])
    if merged.empty:
        return org
    costs = spend.agent_cost_per_merged_pr(usage, merged)
    table = merged.rename(columns={"merged_agent_prs": "agent_merged_prs"}).merge(
        costs[["month", "tool", "cost_per_merged_pr"]], on=["month", "tool"], how="left"
    )
    table = table.rename(columns={"cost_per_merged_pr": "agent_cost_per_merged_pr"})
    # Only on the ROI rows there are (a tool with spend or AI-assisted PRs): a row made up for agent PRs alone
    # would have no spend to show; the organization's agent_cost_per_merged_pr snapshot counts every tool.
    return roi._outer_merge(org, table, ["month", "tool"]).dropna(subset=["spend_note"])


def _roi_row(record: dict) -> AIRoiMonth:
    fields = {f.name for f in AIRoiMonth._meta.concrete_fields} - {"id", "team", "computed_at"}
    values = {
        k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in record.items() if k in fields
    }
    team = record.get("team_id")
    return AIRoiMonth(team_id=None if team is None or pd.isna(team) else int(team), **values)


def ai_impact_recompute(*, model: pd.DataFrame | None = None) -> dict[str, int]:
    """Replace every AI-impact estimate and ROI row; returns how many of each were written.

    Called only by ``snapshots_recompute`` and ``metrics.ingestion.recompute`` (which hold the recompute
    lock); ``model`` is ``impact_frame()`` when the caller has it already.  The adoption levels derived
    from the same model are snapshot rows: ``adoption_snapshots``, written by ``write_snapshots``."""
    model = impact_frame() if model is None else model
    if model.empty:
        estimates: list[AIImpactEstimate] = []
        roi_rows: list[AIRoiMonth] = []
    else:
        estimates = _estimate_rows(model)
        cycle = next(
            e
            for e in estimates
            if e.scope == "organization"
            and e.method == "adjusted"
            and e.outcome == "cycle_time"
            and e.rule == "any"
        )
        roi_rows = _roi_rows(model, _as_estimate(cycle), org_settings())
        estimates.append(_coverage_row(model))
    with transaction.atomic():
        AIImpactEstimate.objects.all().delete()
        AIImpactEstimate.objects.bulk_create(estimates)
        AIRoiMonth.objects.all().delete()
        AIRoiMonth.objects.bulk_create(roi_rows, batch_size=1000)
    experiments = experiments_recompute(history_columns(model))  # the planned rollouts' results
    return {"estimates": len(estimates), "roi_rows": len(roi_rows), "experiments": experiments}


def _coverage_row(model: pd.DataFrame) -> AIImpactEstimate:
    """Detection coverage, stored beside the estimates (estimate = % of telemetry PRs without evidence)."""
    coverage = ai_impact.detection_coverage(model, ai_selectors.usage_day_frame())
    share = coverage["share_without_evidence"]
    return AIImpactEstimate(
        scope="organization",
        outcome="detection_coverage",
        method="coverage",
        rule="any",
        unit="percent",
        estimate=None if share is None else float(share) * 100,
        ci_low=None,
        ci_high=None,
        n=int(coverage["prs_with_telemetry"] or 0),
        n_treated=int(coverage["without_evidence"] or 0),
        n_clusters=0,
        status="ok" if share is not None else "not enough data",
        definition_version=DEFINITION_VERSION,
    )


ADOPTION_CODES = {"none": 0.0, "occasional": 1.0, "regular": 2.0}


def adoption_snapshots(model: pd.DataFrame) -> list[MetricSnapshot]:
    """Monthly adoption: per person (0 none, 1 occasional, 2 regular) and per team (share of its
    engineers who are regular / at least occasional users).  Unsaved rows for ``write_snapshots``."""
    if model.empty:
        return []
    levels = ai_impact.adoption_levels(model, ai_selectors.usage_day_frame())
    levels["team_id"] = levels["person_id"].map(selectors.person_team_map())
    rows = [
        MetricSnapshot(
            scope="person",
            person_id=int(r.person_id),
            period="month",
            period_start=r.month,
            metric="ai_adoption_level",
            value=ADOPTION_CODES[r.level],
            n=1,
            definition_version=DEFINITION_VERSION,
        )
        for r in levels.itertuples(index=False)
    ]
    teams = levels.dropna(subset=["team_id"]).assign(
        regular=lambda f: f["level"] == "regular", any=lambda f: f["level"] != "none"
    )
    for (team_id, month), group in teams.groupby(["team_id", "month"]):
        for metric, column in (("ai_adoption_regular_share", "regular"), ("ai_adoption_any_share", "any")):
            rows.append(
                MetricSnapshot(
                    scope="team",
                    team_id=int(team_id),
                    period="month",
                    period_start=month,
                    metric=metric,
                    value=float(group[column].mean()),
                    n=len(group),
                    definition_version=DEFINITION_VERSION,
                )
            )
    return rows


def _as_estimate(row: AIImpactEstimate) -> ai_impact.Estimate:
    return ai_impact.Estimate(
        row.outcome,
        row.method,
        row.unit,
        row.estimate,
        row.ci_low,
        row.ci_high,
        row.n,
        row.n_treated,
        row.n_clusters,
        row.status,
    )
