"""connectors.demo: the deterministic demo organization and its planted truths (no database)."""

from __future__ import annotations

import itertools
import json
import math
import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from connectors.demo import DEFAULT_END, DemoOrganization, generate_demo
from connectors.records import (
    CommitRecord,
    PullRequestRecord,
    RepositoryRecord,
    ReviewRecord,
    TeamMembershipRecord,
)
from metrics.analytics import ai_detection

SMALL = {"teams": 4, "engineers": 16, "months": 6}
AI_TRAILER = re.compile(r"^Co-authored-by: (Claude|Copilot|Cursor Agent) <", re.MULTILINE)
BOT_LOGINS = {"dependabot[bot]", "renovate[bot]"}


@pytest.fixture(scope="module")
def demo() -> DemoOrganization:
    return generate_demo()


def of(demo: DemoOrganization, kind: type) -> list:
    return [r for r in demo.records if isinstance(r, kind)]


def prs_of(demo: DemoOrganization) -> list[PullRequestRecord]:
    return of(demo, PullRequestRecord)


def commits_by_sha(demo: DemoOrganization) -> dict[str, CommitRecord]:
    return {c.sha: c for c in of(demo, CommitRecord)}


def is_marked(pr: PullRequestRecord, commits: dict[str, CommitRecord]) -> bool:
    """Independent of Sextant's detector: the marks the demo is documented to leave."""
    if pr.head_branch.startswith(("copilot/", "cursor/")):
        return True
    return any(AI_TRAILER.search(commits[sha].message) for sha in pr.commit_shas)


class TestDeterminism:
    def test_same_seed_gives_identical_records_and_truth(self) -> None:
        a, b = generate_demo(7, **SMALL), generate_demo(7, **SMALL)
        assert a.records == b.records
        assert a.truth == b.truth

    def test_default_is_reproducible(self, demo: DemoOrganization) -> None:
        again = generate_demo()
        assert again.records == demo.records
        assert json.dumps(again.truth, sort_keys=True) == json.dumps(demo.truth, sort_keys=True)

    def test_different_seed_gives_different_records(self) -> None:
        a, b = generate_demo(7, **SMALL), generate_demo(8, **SMALL)
        assert a.records != b.records
        assert {p.title for p in prs_of(a)} != {p.title for p in prs_of(b)}

    def test_end_defaults_to_a_fixed_date_and_moves_the_history(self) -> None:
        small = generate_demo(7, **SMALL)
        assert small.truth["end"] == DEFAULT_END.isoformat() == "2026-11-23T00:00:00+00:00"
        later = generate_demo(7, end=DEFAULT_END + timedelta(days=365), **SMALL)
        assert later.truth["end"] == "2027-11-23T00:00:00+00:00"
        assert max(p.created_at for p in prs_of(later)) > DEFAULT_END

    def test_naive_end_and_silly_sizes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            generate_demo(end=datetime(2026, 1, 1))
        with pytest.raises(ValueError, match="engineers >= 2"):
            generate_demo(engineers=1)


class TestContent:
    def test_counts_are_in_the_documented_ranges(self, demo: DemoOrganization) -> None:
        counts = demo.truth["counts"]
        assert counts["engineers"] == 60 and counts["repositories"] == 5 and len(demo.truth["teams"]) == 8
        assert 3000 <= counts["merged_prs"] <= 8000
        assert 100 <= counts["merged_prs_bot"] <= 600
        assert counts["open_prs"] > 0 and counts["closed_prs"] > 0
        assert 1.5 <= counts["commits"] / counts["prs"] <= 4
        assert 50 <= counts["reverts"] <= 300
        assert 200 <= counts["ai_assisted_marked_prs"] < counts["ai_assisted_prs"]
        assert 0.2 <= demo.truth["unmarked_share_actual"] <= 0.4

    def test_repositories_people_and_bots(self, demo: DemoOrganization) -> None:
        repos = of(demo, RepositoryRecord)
        names = ("web", "api", "mobile", "infra", "data-pipeline")
        assert {r.full_name for r in repos} == {f"acme/{n}" for n in names}
        assert all(r.host == "github" and r.url == f"https://github.example/{r.full_name}" for r in repos)
        people = {i.email: i for m in of(demo, TeamMembershipRecord) for i in m.identities}
        assert len(people) == 60
        assert all(re.fullmatch(r"[a-z]+\.[a-z]+@demo\.sextant\.example", e) for e in people)
        assert all(i.name and i.login for i in people.values())
        # No human may look like an AI tool or a bot, or detection would misfire.
        assert not any(ai_detection.ai_tool_for_identity(i.name, i.email) for i in people.values())
        assert not any(ai_detection.is_bot_identity(i.name, i.email, i.login) for i in people.values())
        authors = Counter(p.author.login for p in prs_of(demo) if p.author)
        assert set(authors) >= BOT_LOGINS

    def test_team_tree_and_dated_memberships(self, demo: DemoOrganization) -> None:
        memberships = of(demo, TeamMembershipRecord)
        assert {m.parent_team for m in memberships} == {"Platform", "Product"}
        assert len({m.team for m in memberships}) == 8
        assert all(m.start is not None and m.start.tzinfo is not None for m in memberships)
        by_person = defaultdict(list)
        for m in memberships:
            by_person[m.person_name].append(m)
        moved = {p for p, ms in by_person.items() if len({m.team for m in ms}) > 1}
        assert moved == {c["person"] for c in demo.truth["team_changes"]} and len(moved) >= 3
        for person in moved:
            first, second = sorted(by_person[person], key=lambda m: m.start)
            assert first.end == second.start and second.end is None
        assert any(m.end is not None and len(by_person[m.person_name]) == 1 for m in memberships)  # leavers

    def test_sizes_are_skewed_and_bots_are_small(self, demo: DemoOrganization) -> None:
        human = [p for p in prs_of(demo) if p.author and p.author.login not in BOT_LOGINS]
        sizes = [p.additions + p.deletions for p in human]
        assert statistics.mean(sizes) > 1.5 * statistics.median(sizes)
        assert max(sizes) > 20 * statistics.median(sizes)
        bots = [p for p in prs_of(demo) if p.author and p.author.login in BOT_LOGINS]
        assert statistics.median(p.additions for p in bots) < statistics.median(p.additions for p in human)
        assert all(p.labels == ("dependencies",) and p.commits_count == 1 for p in bots)


class TestConsistency:
    def test_pr_timestamps_are_ordered_and_aware(self, demo: DemoOrganization) -> None:
        end = DEFAULT_END
        order = ("first_commit_at", "created_at", "ready_at", "first_review_at", "approved_at", "merged_at")
        for pr in prs_of(demo):
            stamps = [getattr(pr, name) for name in order]
            present = [s for s in stamps if s is not None]
            assert present == sorted(present), pr
            assert all(s.tzinfo is not None and s <= end for s in present), pr
            assert pr.created_at is not None and pr.first_commit_at is not None
            if pr.state == "merged":
                assert pr.merged_at and pr.closed_at == pr.merged_at and pr.approved_at and pr.ready_at
                assert pr.merge_style == "squash" and re.fullmatch(r"[0-9a-f]{40}", pr.merge_sha)
            elif pr.state == "closed":
                assert pr.closed_at and not pr.merged_at and not pr.approved_at
                assert all(s <= pr.closed_at for s in present)
            else:
                assert not pr.closed_at and not pr.merged_at
            assert pr.is_draft == (pr.ready_at is None)

    def test_some_prs_were_drafts(self, demo: DemoOrganization) -> None:
        drafted = [p for p in prs_of(demo) if p.ready_at and p.created_at and p.ready_at > p.created_at]
        assert 0.08 < len(drafted) / len(prs_of(demo)) < 0.25

    def test_commits_belong_to_their_prs(self, demo: DemoOrganization) -> None:
        commits = commits_by_sha(demo)
        assert len(commits) == len(of(demo, CommitRecord))  # shas are unique
        linked = [sha for p in prs_of(demo) for sha in p.commit_shas]
        assert sorted(linked) == sorted(commits)  # every commit in exactly one PR
        for pr in prs_of(demo):
            chain = [commits[s] for s in pr.commit_shas]
            assert pr.commits_count == len(chain) >= 1
            assert chain[0].authored_at == pr.first_commit_at
            assert all(b.parents == (a.sha,) for a, b in itertools.pairwise(chain))
            assert all(c.on_default_branch == (pr.state == "merged") for c in chain)
            if pr.state != "open":  # an open PR's later commits are not pushed yet
                assert sum(c.additions for c in chain) == pr.additions
            assert all(c.author == pr.author and c.authored_at.utcoffset() is not None for c in chain)

    def test_reviews_match_review_timestamps(self, demo: DemoOrganization) -> None:
        reviews = defaultdict(list)
        for r in of(demo, ReviewRecord):
            reviews[(r.repository, r.pr_number)].append(r)
        assert len({r.external_id for r in of(demo, ReviewRecord)}) == len(of(demo, ReviewRecord))
        for pr in prs_of(demo):
            mine = sorted(reviews[(pr.repository, pr.number)], key=lambda r: r.submitted_at)
            if pr.first_review_at is None:
                assert not mine
                continue
            assert mine[0].submitted_at == pr.first_review_at
            assert all(r.reviewer != pr.author for r in mine)
            approvals = [r for r in mine if r.state == "APPROVED"]
            assert [a.submitted_at for a in approvals] == ([pr.approved_at] if pr.approved_at else [])
        assert {r.state for r in of(demo, ReviewRecord)} == {"APPROVED", "COMMENTED", "CHANGES_REQUESTED"}

    def test_titles_are_unique_per_repository(self, demo: DemoOrganization) -> None:
        keys = [(p.repository, p.title) for p in prs_of(demo)]
        assert len(keys) == len(set(keys))


class TestPlantedTruth:
    def test_truth_is_json(self, demo: DemoOrganization) -> None:
        assert json.loads(json.dumps(demo.truth)) == demo.truth
        assert demo.truth["seed"] == 20261128 and demo.truth["ai_cycle_time_factor"] == 0.8
        assert demo.truth["revert_probability"]["ai"] < demo.truth["revert_probability"]["base"]

    def test_truth_counts_equal_the_records(self, demo: DemoOrganization) -> None:
        counts, prs, commits = demo.truth["counts"], prs_of(demo), commits_by_sha(demo)
        merged = [p for p in prs if p.state == "merged"]
        assert counts["prs"] == len(prs) and counts["merged_prs"] == len(merged)
        assert counts["merged_prs_bot"] == sum(p.author.login in BOT_LOGINS for p in merged)
        assert counts["open_prs"] == sum(p.state == "open" for p in prs)
        assert counts["commits"] == len(commits) and counts["reviews"] == len(of(demo, ReviewRecord))
        assert counts["ai_assisted_marked_prs"] == sum(is_marked(p, commits) for p in prs)
        assert counts["ai_assisted_marked_merged_prs"] == sum(is_marked(p, commits) for p in merged)
        assert counts["ai_assisted_unmarked_prs"] == len(demo.truth["unmarked_ai_prs"])
        assert counts["memberships"] == len(of(demo, TeamMembershipRecord))

    def test_sextants_detector_sees_exactly_the_marked_prs(self, demo: DemoOrganization) -> None:
        commits = commits_by_sha(demo)
        detected = 0
        for pr in prs_of(demo):
            author = pr.author
            assert author is not None
            evidence = ai_detection.pull_request_evidence(
                pr.head_branch, pr.labels, author.name, author.email, author.login
            )
            for sha in pr.commit_shas:
                c = commits[sha]
                evidence += ai_detection.commit_evidence(c.message, c.author.name, c.author.email)
            assert bool(evidence) == is_marked(pr, commits), pr
            detected += bool(evidence)
        assert detected == demo.truth["counts"]["ai_assisted_marked_prs"]

    def test_reverts_point_at_earlier_merged_prs(self, demo: DemoOrganization) -> None:
        prs = {(p.repository, p.number): p for p in prs_of(demo)}
        commits = commits_by_sha(demo)
        reverts = [p for p in prs.values() if p.reverts_number is not None]
        assert len(reverts) == demo.truth["counts"]["reverts"]
        # Each PR is reverted at most once.
        assert len({(p.repository, p.reverts_number) for p in reverts}) == len(reverts)
        for revert in reverts:
            original = prs[(revert.repository, revert.reverts_number)]
            assert revert.state == original.state == "merged"
            assert revert.title == f'Revert "{original.title}"'
            assert revert.body.startswith(f"Reverts {revert.repository}#{original.number}\n")
            assert revert.head_branch.startswith(f"revert-{original.number}-")
            assert f"This reverts commit {original.merge_sha}." in commits[revert.commit_shas[0]].message
            lag = revert.merged_at - original.merged_at
            assert timedelta(minutes=30) < lag < timedelta(days=60)
        titled = [p for p in prs.values() if p.title.startswith("Revert ")]
        assert len(titled) == len(reverts)

    def test_ai_adoption_is_staggered_by_team(self, demo: DemoOrganization) -> None:
        teams = {t["name"]: t for t in demo.truth["teams"]}
        dates = [t["ai_adoption"] for t in teams.values() if t["ai_adoption"]]
        assert 1 <= len(teams) - len(dates) <= 2  # one or two teams never adopt
        assert len(set(dates)) == len(dates) and max(dates) > min(dates)
        spans = defaultdict(list)
        for m in of(demo, TeamMembershipRecord):
            spans[m.identities[0].email].append((m.start, m.end, m.team))
        commits = commits_by_sha(demo)
        first_marked: dict[str, datetime] = {}
        for pr in prs_of(demo):
            if pr.author is None or pr.author.login in BOT_LOGINS or not is_marked(pr, commits):
                continue
            assert pr.created_at is not None
            when = pr.created_at
            team = next(t for s, e, t in spans[pr.author.email] if s <= when and (e is None or when < e))
            adoption = teams[team]["ai_adoption"]
            assert adoption is not None and pr.created_at >= datetime.fromisoformat(adoption), pr
            first_marked[team] = min(first_marked.get(team, pr.created_at), pr.created_at)
        assert len(first_marked) == len(dates)

    def test_confounders_are_planted(self, demo: DemoOrganization) -> None:
        commits = commits_by_sha(demo)
        human = [
            p for p in prs_of(demo) if p.author and p.author.login not in BOT_LOGINS and not p.reverts_number
        ]
        marked = [p.additions + p.deletions for p in human if is_marked(p, commits)]
        other = [p.additions + p.deletions for p in human if not is_marked(p, commits)]
        assert statistics.median(marked) < 0.85 * statistics.median(other)  # AI users open smaller PRs
        teams = demo.truth["teams"]
        adopters = sorted((t for t in teams if t["ai_adoption"]), key=lambda t: t["ai_adoption"])
        never = [t for t in demo.truth["teams"] if not t["ai_adoption"]]
        assert adopters[0]["cycle_time_effect"] < min(t["cycle_time_effect"] for t in never)

    def test_adjusted_regression_recovers_more_than_the_naive_gap(self, demo: DemoOrganization) -> None:
        """log cycle time ~ AI + log size + author + week: the factor (attenuated by unmarked AI use)."""
        commits = commits_by_sha(demo)
        rows = [
            (p, is_marked(p, commits))
            for p in prs_of(demo)
            if p.state == "merged" and p.author and p.author.login not in BOT_LOGINS and not p.reverts_number
        ]
        y = np.array([math.log((p.merged_at - p.first_commit_at).total_seconds() / 3600) for p, _ in rows])
        ai = np.array([float(m) for _, m in rows])
        authors = sorted({p.author.login for p, _ in rows})
        weeks = sorted({p.created_at.strftime("%G%V") for p, _ in rows})
        x = np.zeros((len(rows), 2 + len(authors) + len(weeks) - 1))
        x[:, 0], x[:, 1] = ai, [math.log1p(p.additions + p.deletions) for p, _ in rows]
        for i, (p, _) in enumerate(rows):
            x[i, 2 + authors.index(p.author.login)] = 1.0
            week = weeks.index(p.created_at.strftime("%G%V"))
            if week:
                x[i, 1 + len(authors) + week] = 1.0
        beta = np.linalg.lstsq(x, y, rcond=None)[0]
        adjusted, naive = math.exp(beta[0]), math.exp(y[ai == 1].mean() - y[ai == 0].mean())
        assert naive < 0.7 < adjusted < 0.95
        assert 0.25 < beta[1] < 0.45  # size elasticity
        assert demo.truth["size_elasticity"] == 0.35
        assert datetime.fromisoformat(demo.truth["start"]) < datetime.fromisoformat(demo.truth["end"])
        assert datetime.fromisoformat(demo.truth["end"]).tzinfo == UTC
