"""Agent-authored PRs and review load stored as snapshot rows, from hand-made records with known answers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from metrics.core.models import Person, Repository, Team, TeamMembership
from metrics.ingestion import selectors
from metrics.ingestion.agents_review import agent_and_review_snapshots, classified_prs
from metrics.ingestion.models import AIEvidence, Commit, PullRequest, Review

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


@pytest.fixture
def org() -> dict[str, object]:
    team = Team.objects.create(name="Core", slug="core")
    repo = Repository.objects.create(full_name="acme/api", host="github", team=team)
    ann, bob = Person.objects.create(display_name="Ann"), Person.objects.create(display_name="Bob")
    bot = Person.objects.create(display_name="Copilot", is_bot=True)
    for person in (ann, bob):
        TeamMembership.objects.create(person=person, team=team, start=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))

    def pr(number: int, author: Person, *, merged: float | None, closed: float | None = None, **kw: object):
        return PullRequest.objects.create(
            repository=repo,
            number=number,
            author=author,
            state="merged" if merged is not None else "closed",
            created_at=at(0),
            merged_at=None if merged is None else at(merged),
            closed_at=at(closed if closed is not None else merged or 0),
            additions=600,
            deletions=0,
            is_bot=author.is_bot,
            ai_assisted=bool(kw.get("ai")),
            **{k: v for k, v in kw.items() if k != "ai"},
        )

    agent = pr(1, bot, merged=20, head_branch="copilot/fix-auth", ai=True)
    AIEvidence.objects.create(
        pull_request=agent, tool="GitHub Copilot", kind="branch", matched_text="copilot/fix-auth"
    )
    AIEvidence.objects.create(
        pull_request=agent, tool="GitHub Copilot", kind="author", matched_text="Copilot <x>"
    )
    abandoned = pr(2, ann, merged=None, closed=5, head_branch="codex/try", ai=True)
    AIEvidence.objects.create(pull_request=abandoned, tool="Codex", kind="branch", matched_text="codex/try")
    assisted = pr(3, ann, merged=10, ai=True)
    trailer = Commit.objects.create(repository=repo, sha="a" * 40, author=ann, authored_at=at(-1))
    AIEvidence.objects.create(
        commit=trailer, tool="Claude Code", kind="trailer", matched_text="Co-authored-by: Claude"
    )
    assisted.commits.add(trailer)
    followup = Commit.objects.create(repository=repo, sha="b" * 40, author=bob, authored_at=at(3))
    own = Commit.objects.create(repository=repo, sha="c" * 40, author=bot, authored_at=at(1))
    agent.commits.add(followup, own)
    for i, (pull, who, state, hours) in enumerate(
        [(agent, ann, "CHANGES_REQUESTED", 2), (agent, ann, "APPROVED", 6), (assisted, bob, "APPROVED", 0.1)]
    ):
        Review.objects.create(
            pull_request=pull, reviewer=who, state=state, submitted_at=at(hours), external_id=str(i)
        )
    return {"team": team, "ann": ann, "bob": bob}


def test_agent_prs_are_their_own_class(org: dict[str, object]) -> None:
    classes = classified_prs().set_index("id")["klass"]
    assert sorted(classes.to_dict().values()) == ["agent", "agent", "ai_assisted"]
    assert set(selectors.agent_pr_frame()["agent_tool"]) == {"GitHub Copilot", "Codex"}


def test_agent_and_review_rows_hold_exact_values(org: dict[str, object]) -> None:
    rows = agent_and_review_snapshots(now=pd.Timestamp("2026-06-01", tz="UTC"))
    got = {(r.scope, r.team_id, r.person_id, r.metric): (r.value, r.n) for r in rows}
    month = {r.period_start for r in rows}
    assert month == {dt.date(2026, 3, 1)}
    assert got["organization", None, None, "agent_opened_prs"] == (2.0, 2)
    assert got["organization", None, None, "agent_merged_prs"] == (1.0, 1)
    assert got["organization", None, None, "agent_abandoned_prs"] == (1.0, 1)
    assert got["organization", None, None, "agent_abandon_rate"] == (0.5, 2)
    assert got["organization", None, None, "agent_time_to_merge_p50"] == (20.0, 1)
    assert got["organization", None, None, "agent_review_rounds"] == (2.0, 1)
    assert got["organization", None, None, "agent_followup_commits"] == (1.0, 1)  # Bob's, not the agent's
    assert got["organization", None, None, "agent_revert_rate"] == (0.0, 1)
    team = org["team"].pk  # type: ignore[attr-defined]
    assert got["team", team, None, "agent_opened_prs"] == (1.0, 1)  # Ann's codex PR; the bot has no team
    ann, bob = org["ann"].pk, org["bob"].pk  # type: ignore[attr-defined]
    assert got["person", None, ann, "reviews_given"] == (1.0, 1)
    assert got["person", None, ann, "review_hours_p50"] == (6.0, 1)
    assert got["person", None, ann, "review_agent_share"] == (1.0, 1)
    assert got["person", None, bob, "quick_large_approvals"] == (1.0, 1)  # 6 minutes on 600 lines
    assert got["person", None, bob, "review_ai_share"] == (1.0, 1)
    assert got["team", team, None, "reviews_given"] == (2.0, 2)
    assert got["organization", None, None, "review_agent_share"] == (0.5, 2)
