"""Snapshot rows for agent-authored PRs and review load (selectors -> analytics -> MetricSnapshot rows).

Monthly rows, written with every other snapshot by ``write_snapshots`` (one writer): agent metrics for the
organization and for teams (the team of the engineer who opened the agent PR, rolled up to every ancestor);
review load per reviewer (scope ``person``), per team (the reviewer's team, rolled up) and for the
organization.  The privacy floor applies when they are read, like every snapshot row.
"""

from __future__ import annotations

import pandas as pd

from metrics.analytics import agents, review_load, spend
from metrics.analytics.snapshots import DEFINITION_VERSION
from metrics.analytics.team_tree import TeamTree
from metrics.core.models import Organization
from metrics.ingestion import ai_selectors, completeness, seats, selectors
from metrics.ingestion.impact import with_classes
from metrics.ingestion.models import MetricSnapshot

COLUMNS = [
    *selectors.PR_KEY_COLUMNS,
    "created_at",
    "ready_at",
    "merged_at",
    "closed_at",
    "reverted_at",
    "additions",
    "deletions",
]


def review_settings() -> dict[str, float]:
    """The quick-approval thresholds (organization settings ``quick_approval_minutes`` and
    ``quick_approval_lines``)."""
    org = Organization.objects.order_by("pk").first()
    values = (org.settings if org else {}) or {}
    return {
        "quick_minutes": float(values.get("quick_approval_minutes", review_load.QUICK_MINUTES)),
        "large_lines": int(values.get("quick_approval_lines", review_load.LARGE_LINES)),
    }


def classified_prs() -> pd.DataFrame:
    """Every PR with ``klass``: ``agent``, ``ai_assisted`` (a human's PR with AI evidence) or ``human``."""
    prs = with_classes(selectors.pull_request_frame(columns=COLUMNS))
    ai = prs["ai_assisted"].astype(bool)
    prs["klass"] = "human"
    prs.loc[ai, "klass"] = "ai_assisted"
    prs.loc[prs["agent_authored"].astype(bool), "klass"] = "agent"
    return prs


def _rows(frame: pd.DataFrame, scope: str, key: str | None) -> list[MetricSnapshot]:
    out = []
    for record in frame.itertuples(index=False):
        ids = {f"{scope}_id": int(getattr(record, key))} if key else {}
        out.append(
            MetricSnapshot(
                scope=scope,
                period="month",
                period_start=record.month,
                metric=record.metric,
                value=float(record.value),
                n=int(record.n),
                definition_version=DEFINITION_VERSION,
                **ids,
            )
        )
    return out


def _rolled(frame: pd.DataFrame, person_column: str) -> pd.DataFrame:
    """``frame`` with ``team_id`` (the person's team), one copy per ancestor team."""
    teams = frame[person_column].map(selectors.person_team_map())
    known = frame.assign(team_id=teams).dropna(subset=["team_id"])
    if known.empty:
        return known
    tree = TeamTree.from_frame(selectors.team_frame()).with_ancestors()
    rolled = known.astype({"team_id": "int64"}).merge(tree, on="team_id")
    return rolled.drop(columns="team_id").rename(columns={"rollup_team_id": "team_id"})


def agent_and_review_snapshots(now: pd.Timestamp | None = None) -> list[MetricSnapshot]:
    """Unsaved monthly snapshot rows of the agent and review-load metrics; ``now`` (the end of the revert
    window) is how far the data runs ("data through"), else the clock."""
    if now is None:
        through = completeness.data_through()
        now = pd.Timestamp.now(tz="UTC") if through is None else pd.Timestamp(through)
    prs = classified_prs()
    if prs.empty:
        return []
    pairs = review_load.review_pairs(prs, selectors.review_frame(), **review_settings())  # type: ignore[arg-type]
    rounds = pairs.groupby("pr_id")["rounds"].first() if not pairs.empty else pd.Series(dtype=float)
    rows: list[MetricSnapshot] = []
    agent_prs = prs[prs["klass"] == "agent"]
    if not agent_prs.empty:
        followups = ai_selectors.followup_frame(agent_prs["id"].tolist()).set_index("pr_id")
        followups = followups["human_followups"]
        agent_prs = agent_prs.assign(
            review_rounds=agent_prs["id"].map(rounds), human_followups=agent_prs["id"].map(followups)
        )
        rows += _rows(agents.agent_metrics(agent_prs, [], now=now), "organization", None)
        by_team = _rolled(agent_prs, "author_id")
        if not by_team.empty:
            rows += _rows(agents.agent_metrics(by_team, ["team_id"], now=now), "team", "team_id")
        cost = spend.agent_cost_per_merged_pr(seats.usage_cost_frame(), agents.merged_by_tool(agent_prs))
        for month, group in cost.groupby("month"):
            merged = int(group["merged_agent_prs"].sum())
            rows += _rows(
                pd.DataFrame(
                    [(month, "agent_cost_per_merged_pr", float(group["cost"].sum()) / merged, merged)],
                    columns=["month", "metric", "value", "n"],
                ),
                "organization",
                None,
            )
    if not pairs.empty:
        rows += _rows(review_load.load(pairs, ["month"]), "organization", None)
        people = review_load.load(pairs, ["reviewer_id", "month"]).rename(
            columns={"reviewer_id": "person_id"}
        )
        rows += _rows(people, "person", "person_id")
        teams = _rolled(pairs, "reviewer_id")
        if not teams.empty:
            rows += _rows(review_load.load(teams, ["team_id", "month"]), "team", "team_id")
    return rows
