"""GitHub connector: PyGithub's requester against the fake GitHub on 127.0.0.1 (real HTTP), no database."""

from __future__ import annotations

import functools
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from connectors.base import SourceConfig
from connectors.github import GitHubConnector
from connectors.records import (
    CommitRecord,
    DeploymentRecord,
    IdentityRecord,
    PullRequestRecord,
    Record,
    RepositoryRecord,
    ReviewRecord,
)
from tests.fakes.github import Comment, Commit, Deployment, FakeGitHub, PullRequest, Review, User
from tests.fakes.github_data import populate, populate_teams

ALICE = User("alice", "Alice A", "alice@acme.test")
BOB = User("bob", "Bob B", "bob@acme.test")
CAROL = User("carol", "Carol C", "carol@acme.test")
DAVE = User("dave", "Dave D", "dave@acme.test")
RABBIT = User("coderabbitai", bot=True)
DEPENDABOT = User("dependabot", bot=True)
T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
PLUS2 = timezone(timedelta(hours=2))


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def connector(gh: FakeGitHub, **options: Any) -> GitHubConnector:
    options = {"api_url": gh.url, "backoff_seconds": 0.01, **options}
    if "org" not in options and "repos" not in options:
        options["repos"] = ["acme/api"]
    return GitHubConnector(SourceConfig(kind="github", name="test", options=options, secret="test-token"))


def collect(c: GitHubConnector) -> list[Record]:
    return [record for page in c.pages() for record in page]


def of(records: list[Record], kind: type) -> list[Any]:
    return [r for r in records if isinstance(r, kind)]


def build_exact(gh: FakeGitHub) -> None:
    """Four pull requests whose every derived time is known by hand."""
    repo = gh.add_repo("acme/api")
    c1 = Commit(
        "c1" * 20,
        "Add login\n\nCo-authored-by: Claude <noreply@anthropic.com>",
        datetime(2025, 3, 3, 8, 30, tzinfo=PLUS2),
        "Alice A",
        "alice@acme.test",
        user=ALICE,
        additions=30,
        deletions=4,
        parents=["base" + "0" * 36],
    )
    c2 = Commit("c2" * 20, "Fix test", at(-0.25), "Alice A", "alice@acme.test", user=ALICE, parents=[c1.oid])
    m1 = Commit(
        "m1" * 20,
        "Add login (#1)",
        at(7),
        "Alice A",
        "alice@acme.test",
        user=ALICE,
        parents=["main" + "0" * 36],
    )
    repo.prs[1] = PullRequest(
        1,
        "Add login",
        ALICE,
        T0,
        at(7.01),
        state="MERGED",
        merged_at=at(7),
        closed_at=at(7),
        head="feature/login",
        labels=["feature"],
        ready_events=[at(2)],
        commits=[c1, c2],
        merge_commit=m1,
        additions=31,
        deletions=4,
        changed_files=3,
        reviews=[
            Review(11, RABBIT, "COMMENTED", at(2.1)),
            Review(12, ALICE, "COMMENTED", at(2.3)),
            Review(13, CAROL, "CHANGES_REQUESTED", at(3.5)),
            Review(14, CAROL, "APPROVED", at(5)),
            Review(15, BOB, "APPROVED", at(6)),
            Review(16, DAVE, "PENDING", None),
        ],
        comments=[Comment(21, ALICE, at(2.25)), Comment(22, BOB, at(3))],
    )
    d1 = Commit(
        "d1" * 20,
        "Bump x",
        at(1),
        "dependabot[bot]",
        "49699333+dependabot[bot]@users.noreply.github.com",
        user=None,
        parents=["base" + "0" * 36],
    )
    repo.prs[2] = PullRequest(
        2,
        "Bump x from 1 to 2",
        DEPENDABOT,
        at(1),
        at(1.5),
        head="dependabot/npm/x",
        labels=["dependencies"],
        commits=[d1],
    )
    repo.prs[3] = PullRequest(
        3, "Old idea", None, at(-50), at(-40), state="CLOSED", closed_at=at(-40), is_draft=True
    )
    b1 = Commit(
        "b1" * 20, "Refactor", at(-3), "Bob B", "bob@acme.test", user=BOB, parents=["base" + "0" * 36]
    )
    m4 = Commit(
        "m4" * 20,
        "Merge pull request #4 from acme/refactor",
        at(-1),
        "Bob B",
        "bob@acme.test",
        user=BOB,
        parents=["main" + "1" * 36, b1.oid],
    )
    repo.prs[4] = PullRequest(
        4,
        "Refactor",
        BOB,
        at(-2),
        at(-0.9),
        state="MERGED",
        merged_at=at(-1),
        closed_at=at(-1),
        head="refactor",
        commits=[b1],
        merge_commit=m4,
        reviews=[Review(41, ALICE, "APPROVED", at(-1.5))],
    )
    repo.deployments = [
        Deployment(
            501,
            "production",
            m1.oid,
            at(7.5),
            [("IN_PROGRESS", at(7.5)), ("SUCCESS", at(7.6)), ("INACTIVE", at(9))],
        ),
        Deployment(502, "staging", m1.oid, at(7.2), [("SUCCESS", at(7.3))]),
        Deployment(503, "production", m4.oid, at(-0.5), [("IN_PROGRESS", at(-0.5)), ("FAILURE", at(-0.4))]),
    ]


def test_first_sync_reads_every_field_exactly() -> None:
    with FakeGitHub() as gh:
        build_exact(gh)
        c = connector(gh)
        records = collect(c)
    prs = {r.number: r for r in of(records, PullRequestRecord)}
    assert prs[1] == PullRequestRecord(
        repository="acme/api",
        number=1,
        title="Add login",
        author=IdentityRecord(name="Alice A", login="alice"),
        state="merged",
        created_at=T0,
        ready_at=at(2),
        first_commit_at=datetime(2025, 3, 3, 8, 30, tzinfo=PLUS2),  # author's offset kept
        first_review_at=at(3),  # Bob's comment: the bot review and the author's own words do not count
        approved_at=at(6),
        merged_at=at(7),
        closed_at=at(7),
        updated_at=at(7.01),
        is_draft=False,
        additions=31,
        deletions=4,
        changed_files=3,
        commits_count=2,
        head_branch="feature/login",
        base_branch="main",
        merge_sha="m1" * 20,
        body="",
        labels=("feature",),
        commit_shas=("c1" * 20, "c2" * 20, "m1" * 20),
        merge_style="squash",
    )
    assert prs[1].first_commit_at is not None and prs[1].first_commit_at.utcoffset() == timedelta(hours=2)
    assert prs[2].author == IdentityRecord(login="dependabot[bot]") and prs[2].state == "open"
    assert prs[2].first_review_at is None and prs[2].approved_at is None
    assert prs[3].author is None and prs[3].state == "closed" and prs[3].is_draft and prs[3].ready_at is None
    assert prs[4].merge_style == "merge" and prs[4].first_review_at == at(-1.5) == prs[4].approved_at
    commits = {r.sha: r for r in of(records, CommitRecord)}
    assert commits["c1" * 20].author == IdentityRecord(name="Alice A", email="alice@acme.test", login="alice")
    assert "Co-authored-by: Claude" in commits["c1" * 20].message
    # squash merge: the branch commits never landed, the squash commit did; merge commit: both did
    assert [commits[s].on_default_branch for s in ("c1" * 20, "c2" * 20, "m1" * 20)] == [False, False, True]
    assert commits["b1" * 20].on_default_branch and commits["m4" * 20].is_merge
    reviews = of(records, ReviewRecord)
    assert sorted((r.pr_number, r.reviewer.login, r.state) for r in reviews) == [
        (1, "alice", "COMMENTED"),
        (1, "bob", "APPROVED"),
        (1, "carol", "APPROVED"),
        (1, "carol", "CHANGES_REQUESTED"),
        (1, "coderabbitai[bot]", "COMMENTED"),
        (4, "alice", "APPROVED"),
    ]  # Dave's pending review is not submitted
    assert {r.external_id for r in reviews} >= {"github:13", "github:41"}
    assert sorted(of(records, DeploymentRecord), key=lambda d: d.external_id) == [
        DeploymentRecord(
            "acme/api",
            "github:501",
            "production",
            "m1" * 20,
            "success",
            at(7.5),
            at(7.6),
            True,
            "github_deployments",
        ),
        DeploymentRecord(
            "acme/api",
            "github:503",
            "production",
            "m4" * 20,
            "failure",
            at(-0.5),
            at(-0.4),
            True,
            "github_deployments",
        ),
    ]  # staging is not production
    assert RepositoryRecord("acme/api", "github", "main", "https://github.test/acme/api") in records
    assert c.problems == []


def test_organization_sync_pages_nested_overflow_and_request_budget() -> None:
    with FakeGitHub() as gh:
        populate(gh, "acme/api", prs=125, big_every=50)
        populate(gh, "acme/web", prs=20, seed=2)
        populate_teams(gh, "acme")
        c = connector(gh, org="acme", page_size=50)
        records = collect(c)
        requests = gh.server.count()
        pr_requests = gh.operation_count("PullRequests") + gh.operation_count("PullRequestRest")
    prs = {(r.repository, r.number): r for r in of(records, PullRequestRecord)}
    assert len(prs) == 145 == len(of(records, PullRequestRecord))  # each pull request exactly once
    big = prs[("acme/api", 100)]
    assert big.commits_count == 130 and len(big.commit_shas) == 131  # 130 commits + the merge commit
    assert (
        len([r for r in of(records, ReviewRecord) if r.pr_number == 100 and r.repository == "acme/api"])
        == 105
    )
    fake_big = gh.repos["acme/api"].prs[100]
    assert big.first_review_at == fake_big.comments[12].created_at  # after 12 comments by its author
    total_commits = sum(
        len(p.commits) + (p.merge_commit is not None) for r in gh.repos.values() for p in r.prs.values()
    )
    assert len({r.sha for r in of(records, CommitRecord)}) == total_commits
    memberships = Counter(m.team for m in records if type(m).__name__ == "TeamMembershipRecord")
    assert memberships == {"Platform": 4, "Payments": 3, "Web": 5}
    # 1 listing + 3+1 pull request pages + 2 overflow + 2 deployment pages, + 4 REST team lists
    assert c.counts["api_requests"] == requests == 13
    assert pr_requests == 6 and pr_requests / 145 * 100 <= 6  # 50 per page here; see bench for 100


def test_resync_with_nothing_changed_costs_one_request_and_304s() -> None:
    with FakeGitHub() as gh:
        populate(gh, "acme/api", prs=60)
        populate(gh, "acme/web", prs=10, seed=2)
        populate_teams(gh, "acme")
        first = connector(gh, org="acme", page_size=25)
        collect(first)
        gh.server.reset_log()
        again = connector(gh, org="acme", checkpoint=first.checkpoint)
        assert collect(again) == []
        assert gh.server.count() == 1  # the freshness query; teams are not due yet
        gh.server.reset_log()
        teams_due = connector(gh, org="acme", checkpoint=first.checkpoint, teams_interval_minutes=0)
        assert collect(teams_due) == []
        assert gh.server.count("GET", status=304) == 4 == teams_due.counts["api_not_modified"]
        assert gh.server.count("POST") == 1


def test_incremental_sync_reads_only_what_changed() -> None:
    with FakeGitHub() as gh:
        repo = populate(gh, "acme/api", prs=60)
        first = connector(gh, page_size=20)
        collect(first)
        newest = max(repo.prs.values(), key=lambda p: p.updated_at).number
        pr = repo.prs[7]
        pr.title, pr.updated_at = "Retitled", pr.updated_at + timedelta(days=400)
        pr.reviews.append(Review(999, BOB, "APPROVED", pr.updated_at))
        repo.prs[61] = PullRequest(61, "New", ALICE, pr.updated_at, pr.updated_at + timedelta(seconds=1))
        gh.operations.clear()
        again = connector(gh, checkpoint=first.checkpoint, page_size=20)
        records = collect(again)
    # the newest at the bookmark is read again (the same second may hold a later change)
    assert sorted(r.number for r in of(records, PullRequestRecord)) == sorted([7, newest, 61])
    assert next(r for r in of(records, PullRequestRecord) if r.number == 7).title == "Retitled"
    assert any(r.external_id == "github:999" for r in of(records, ReviewRecord))
    assert [name for name, _ in gh.operations] == ["Repositories", "PullRequests"]


def canonical(records: list[Record]) -> list[str]:
    """Records independent of page boundaries (every page repeats its RepositoryRecord)."""
    return sorted({repr(r) for r in records if isinstance(r, RepositoryRecord)}) + sorted(
        repr(r) for r in records if not isinstance(r, RepositoryRecord)
    )


@functools.cache
def baseline() -> list[str]:
    with FakeGitHub() as gh:
        setup_two_repos(gh)
        return canonical(collect(connector(gh, **TWO_REPOS)))


def setup_two_repos(gh: FakeGitHub) -> None:
    populate(gh, "acme/api", prs=45, big_every=45)
    populate(gh, "acme/web", prs=12, seed=3)


TWO_REPOS = {"repos": ["acme/api", "acme/web"], "page_size": 40}


@pytest.mark.parametrize("fault", ["secondary_403", "secondary_429", "bad_gateway", "dropped", "primary"])
def test_transient_faults_are_survived_with_exact_results(fault: str) -> None:
    expected = baseline()
    with FakeGitHub() as gh:
        setup_two_repos(gh)
        server = gh.server
        if fault == "secondary_403":
            server.fault(
                "POST",
                "/graphql",
                status=403,
                retry_after=1,
                when=lambda r: b"PullRequests" in r.body,
                body={
                    "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                    "before you try again."
                },
            )
        elif fault == "secondary_429":
            server.fault("POST", "/graphql", status=429, retry_after=1, body={"message": "Too many requests"})
        elif fault == "bad_gateway":
            server.fault(
                "POST",
                "/graphql",
                status=502,
                times=2,
                body={"message": "Server Error"},
                when=lambda r: b"PullRequests" in r.body,
            )
        elif fault == "dropped":
            server.fault("POST", "/graphql", drop=True, times=2, when=lambda r: b"PullRequests" in r.body)
        else:
            gh.exhaust_rate_limit(after=2, reset_in=1)
        started = datetime.now(UTC)
        c = connector(gh, **TWO_REPOS)
        records = collect(c)
        waited = (datetime.now(UTC) - started).total_seconds()
    assert canonical(records) == expected
    if fault in ("secondary_403", "secondary_429", "primary"):
        assert c.counts["rate_limit_waits"] >= 1 and waited >= 1.0
    else:
        assert server.count(status=502) + server.count(dropped=True) == 2
    if fault == "bad_gateway":  # a 502 on a heavy page halves the page size (GitHub times out big queries)
        firsts = [v["first"] for name, v in gh.operations if name == "PullRequests"]
        assert firsts[0] == 10 and server.count("POST", status=502) == 2  # 40 -> 20 -> 10


def test_repository_gone_is_recorded_and_the_sync_goes_on() -> None:
    with FakeGitHub() as gh:
        populate(gh, "acme/api", prs=30)
        populate(gh, "acme/web", prs=30, seed=2)
        populate(gh, "acme/zzz", prs=5, seed=3)

        def delete_web(operation: str, variables: dict[str, Any]) -> None:
            if operation == "PullRequests" and variables.get("name") == "web":
                gh.repos["acme/web"].gone = True

        gh.hooks.append(delete_web)
        c = connector(gh, org="acme")
        records = collect(c)
        missing = connector(gh, repos=["acme/api", "acme/nope"], checkpoint={})
        collect(missing)
    assert {r.repository for r in of(records, PullRequestRecord)} == {"acme/api", "acme/zzz"}
    assert len(of(records, PullRequestRecord)) == 35
    assert c.problems == ["acme/web: skipped, deleted or no longer accessible with this token"]
    assert missing.problems == ["acme/nope: skipped, not found or not accessible with this token"]


def test_revoked_token_fails_permanently_without_retrying() -> None:
    from connectors.base import ConnectorError

    with FakeGitHub(tokens=("another",)) as gh:
        populate(gh, "acme/api", prs=3)
        c = connector(gh)
        with pytest.raises(ConnectorError) as error:
            collect(c)
        assert gh.server.count() == 1
    assert error.value.permanent and "401" in str(error.value) and "test-token" not in str(error.value)


def test_retries_are_bounded_and_long_waits_are_left_to_the_task_queue() -> None:
    from connectors.base import ConnectorError

    with FakeGitHub() as gh:
        populate(gh, "acme/api", prs=3)
        gh.server.fault("POST", "/graphql", status=502, times=100)
        with pytest.raises(ConnectorError) as error:
            collect(connector(gh, max_retries=3))
        assert gh.server.count() == 4 and not error.value.permanent
        gh.server.faults.clear()
        gh.server.fault(
            "POST", "/graphql", status=403, retry_after=3600, body={"message": "secondary rate limit"}
        )
        with pytest.raises(ConnectorError) as waited:
            collect(connector(gh, max_wait_seconds=60))
    assert not waited.value.permanent and waited.value.retry_after == 3600
