"""Agent-authored PRs, review load, agent cost and the throughput panel: exact values on small frames."""

from __future__ import annotations

import pandas as pd
import pytest

from metrics.analytics import agents, ai_detection, ai_impact, review_load, spend

T0 = pd.Timestamp("2026-03-02 09:00", tz="UTC")


def h(hours: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=hours)


@pytest.mark.parametrize(
    ("kind", "text", "agent"),
    [
        ("branch", "copilot/fix-login", True),
        ("branch", "feature/copilot", False),
        ("author", "Copilot <198982749+Copilot@users.noreply.github.com>", True),
        ("author", "Dave Dorsey (aider) <dave@example.com>", False),
        ("label", "ai-agent", True),
        ("label", "ai-assisted", False),
        ("trailer", "https://app.devin.ai/sessions/abc123", True),
        ("trailer", "Co-authored-by: Claude <noreply@anthropic.com>", False),
        ("telemetry", "Cursor background agent", True),
        ("explicit", "Cursor", False),
    ],
)
def test_agent_evidence_rules(kind: str, text: str, agent: bool) -> None:
    assert ai_detection.is_agent_evidence(kind, text) is agent


def test_pull_request_evidence_reads_agent_session_links_and_labels() -> None:
    found = ai_detection.pull_request_evidence(
        "fix/x",
        ["background-agent"],
        "Ann",
        "ann@example.com",
        "ann",
        body="Task: https://chatgpt.com/codex/tasks/t_9",
    )
    assert [(e.tool, e.kind, e.matched_text) for e in found] == [
        ("unspecified", "label", "background-agent"),
        ("Codex", "trailer", "https://chatgpt.com/codex/tasks/t_9"),
    ]
    assert all(ai_detection.is_agent_evidence(e.kind, e.matched_text) for e in found)


def test_agent_metrics_count_open_merged_abandoned_and_rates() -> None:
    prs = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "created_at": [h(0), h(1), h(2), h(3)],
            "merged_at": [h(10), h(31), pd.NaT, pd.NaT],
            "closed_at": [h(10), h(31), h(20), pd.NaT],
            "reverted_at": [h(40), pd.NaT, pd.NaT, pd.NaT],
            "review_rounds": [1.0, 3.0, None, None],
            "human_followups": [0.0, 2.0, None, None],
            "agent_tool": ["Devin"] * 4,
        }
    )
    rows = agents.agent_metrics(prs, [], now=h(24 * 60))
    got = {r.metric: (r.value, r.n) for r in rows.itertuples()}
    assert got["agent_opened_prs"] == (4.0, 4)
    assert got["agent_merged_prs"] == (2.0, 2)
    assert got["agent_abandoned_prs"] == (1.0, 1)
    assert got["agent_abandon_rate"] == (pytest.approx(1 / 3), 3)  # 3 resolved, 1 closed unmerged
    assert got["agent_time_to_merge_p50"] == (20.0, 2)  # median of 10 h and 30 h
    assert got["agent_review_rounds"] == (2.0, 2)
    assert got["agent_followup_commits"] == (1.0, 2)
    assert got["agent_revert_rate"] == (0.5, 2)
    assert set(rows["month"]) == {T0.date().replace(day=1)}


def test_review_load_per_reviewer() -> None:
    prs = pd.DataFrame(
        {
            "id": [1, 2],
            "author_id": [10, 11],
            "created_at": [h(0), h(0)],
            "ready_at": [h(1), pd.NaT],
            "additions": [900, 40],
            "deletions": [100, 10],
            "klass": ["agent", "ai_assisted"],
        }
    )
    reviews = pd.DataFrame(
        {
            "pr_id": [1, 2, 2, 2, 1],
            "reviewer_id": [20, 20, 20, 21, 10],  # the author's own comment on PR 1 is left out
            "state": ["APPROVED", "CHANGES_REQUESTED", "APPROVED", "COMMENTED", "COMMENTED"],
            "submitted_at": [h(1.1), h(2), h(6), h(3), h(1.05)],
        }
    )
    pairs = review_load.review_pairs(prs, reviews, quick_minutes=10, large_lines=500)
    assert len(pairs) == 3
    one = pairs.set_index(["pr_id", "reviewer_id"])
    assert one.loc[(1, 20), "review_hours"] == pytest.approx(0.1)  # ready 1h -> approved 1.1h
    assert bool(one.loc[(1, 20), "quick_large"])  # 6 minutes on 1000 lines
    assert one.loc[(2, 20), "review_hours"] == pytest.approx(6.0)  # opened (not ready) -> approval
    assert one.loc[(2, 20), "rounds"] == 3  # changes requested, a comment, the approval
    load = review_load.load(pairs[pairs["reviewer_id"] == 20], ["reviewer_id"])
    got = dict(zip(load["metric"], load["value"], strict=True))
    assert got["reviews_given"] == 2
    assert got["review_hours_p50"] == pytest.approx(3.05)
    assert got["review_agent_share"] == 0.5 and got["review_ai_share"] == 0.5
    assert got["review_comments_per_100_lines"] == pytest.approx(1 / 1050 * 100)
    assert got["quick_large_approvals"] == 1
    assert review_load.approver_of(reviews).to_dict() == {1: 20, 2: 20}


def test_agent_cost_per_merged_pr_only_where_cost_is_known() -> None:
    month = T0.date().replace(day=1)
    usage = pd.DataFrame(
        {
            "month": [month, month],
            "tool": ["Devin", "Devin"],
            "team_id": [None, None],
            "per_user": [True, True],
            "cost": [300.0, 100.0],
        }
    )
    merged = pd.DataFrame({"month": [month, month], "tool": ["Devin", "Jules"], "merged_agent_prs": [8, 3]})
    table = spend.agent_cost_per_merged_pr(usage, merged)
    assert table[["tool", "cost", "merged_agent_prs", "cost_per_merged_pr", "note"]].to_numpy().tolist() == [
        ["Devin", 400.0, 8, 50.0, "agent cost"]
    ]


def test_engineer_weeks_panel_uses_telemetry_else_weeks_after_first_ai_pr() -> None:
    weeks = [T0 + pd.Timedelta(days=7 * w) for w in range(6)]
    prs = pd.DataFrame(
        {
            "author_id": [1, 1, 1, 1, 2, 2, 2, 2],
            "merged_at": [weeks[0], weeks[2], weeks[2], weeks[5], weeks[0], weeks[2], weeks[3], weeks[5]],
            "ai_assisted": [False, False, False, False, False, True, False, False],
        }
    )
    usage = pd.DataFrame({"person_id": [1], "day": [weeks[3].date()], "active": [True]})
    panel = ai_impact.engineer_weeks(prs, usage)
    one = panel[panel["author_id"] == 1]
    assert one["merged"].tolist() == [0.0, 2.0, 0.0, 0.0]  # weeks 1-4: edges left out
    assert one["ai_week"].tolist() == [0.0, 0.0, 1.0, 0.0]
    two = panel[panel["author_id"] == 2]  # no telemetry: after the week of the first AI PR (week 2 out)
    assert two["merged"].tolist() == [0.0, 1.0, 0.0]
    assert two["ai_week"].tolist() == [0.0, 1.0, 1.0]


def test_spend_shows_seat_cost_and_usage_cost_side_by_side() -> None:
    month = T0.date().replace(day=1)
    groups = pd.DataFrame({"month": [month, month, month], "tool": ["Cursor", "Claude Code", "Devin"]})
    declared = pd.DataFrame({"month": [month], "tool": ["Cursor"], "seats": [10.0]})
    usage = pd.DataFrame(
        {
            "month": [month, month],
            "tool": ["Cursor", "Claude Code"],
            "team_id": [None, None],
            "per_user": [False, False],
            "cost": [120.0, 75.5],
        }
    )
    seats = pd.DataFrame(columns=["month", "tool", "team_id", "person_id"])
    table = spend.spend_for(
        groups,
        ["month", "tool"],
        seats=seats,
        declared=declared,
        usage=usage,
        prices={"Cursor": 40.0, "Devin": 500.0},
    ).set_index("tool")
    assert table.loc["Cursor", ["spend", "seat_cost", "usage_cost"]].tolist() == [400.0, 400.0, 120.0]
    assert table.loc["Claude Code", "spend"] == 75.5 and pd.isna(table.loc["Claude Code", "seat_cost"])
    devin = table.loc["Devin"]  # a price and neither seats nor usage: unknown, never 0
    assert pd.isna(devin["spend"]) and pd.isna(devin["seat_cost"]) and pd.isna(devin["usage_cost"])
