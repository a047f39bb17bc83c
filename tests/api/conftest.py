"""A small organization with known team history, and API tokens, for the REST export tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client

from metrics.api.tokens import api_token_create
from metrics.core.models import Person, Repository, Team, TeamMembership
from metrics.ingestion.models import Deployment, PullRequest, Revert, Review, SyncRun
from tests.factories import make_repository, make_snapshot, make_team

UTC = dt.UTC


def at(day: str, hour: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@dataclass
class Org:
    teams: dict[str, Team]
    people: dict[str, Person]
    repos: dict[str, Repository]
    prs: dict[str, PullRequest]


def _pr(repo: Repository, number: int, author: Person, **fields: object) -> PullRequest:
    defaults: dict[str, object] = {
        "title": f"{repo.full_name}#{number}",
        "state": "merged",
        "head_branch": f"{author.display_name}/x",
        "base_branch": "main",
        "additions": 10,
        "deletions": 2,
        "changed_files": 1,
        "commits_count": 1,
    }
    return PullRequest.objects.create(repository=repo, number=number, author=author, **{**defaults, **fields})


def _people() -> dict[str, Person]:
    return {
        name: Person.objects.create(display_name=name, is_bot=name == "dependabot[bot]")
        for name in ("alice", "bob", "carol", "dependabot[bot]")
    }


def _memberships(teams: dict[str, Team], people: dict[str, Person]) -> None:
    rows = [
        ("alice", "platform-api", at("2025-01-01"), None),
        ("bob", "mobile", at("2025-01-01"), at("2025-06-01")),
        ("bob", "platform-api", at("2025-06-01"), None),
        ("carol", "mobile", None, None),
    ]
    for person, team, start, end in rows:
        TeamMembership.objects.create(person=people[person], team=teams[team], start=start, end=end)


def _pull_requests(repos: dict[str, Repository], people: dict[str, Person]) -> dict[str, PullRequest]:
    alice, bob, carol, bot = (people[n] for n in ("alice", "bob", "carol", "dependabot[bot]"))
    api, app, shared = repos["acme/api"], repos["acme/app"], repos["acme/shared"]
    prs = {
        "api#1": _pr(
            api,
            1,
            alice,
            first_commit_at=at("2025-05-08", 9),
            created_at=at("2025-05-08", 21),
            ready_at=at("2025-05-09"),
            first_review_at=at("2025-05-09", 6),
            approved_at=at("2025-05-09", 12),
            merged_at=at("2025-05-10"),
            updated_at=at("2025-05-10"),
            reverted_at=at("2025-05-12"),
        ),
        "app#1": _pr(
            app,
            1,
            bob,
            first_commit_at=at("2025-05-14"),
            created_at=at("2025-05-14", 6),
            merged_at=at("2025-05-15"),
            updated_at=at("2025-05-15"),
        ),
        "shared#1": _pr(
            shared,
            1,
            bob,
            first_commit_at=at("2025-06-30"),
            created_at=at("2025-06-30"),
            merged_at=at("2025-07-01"),
            updated_at=at("2025-07-01"),
            ai_assisted=True,
            ai_tools=["claude", "copilot"],
        ),
        "shared#2": _pr(
            shared,
            2,
            carol,
            first_commit_at=at("2025-07-02"),
            created_at=at("2025-07-01"),
            merged_at=at("2025-07-02"),
            updated_at=at("2025-07-02"),
        ),
        "shared#3": _pr(
            shared, 3, carol, state="open", created_at=at("2025-07-05"), updated_at=at("2025-07-06")
        ),
        "api#2": _pr(
            api,
            2,
            bot,
            is_bot=True,
            created_at=at("2025-06-01"),
            merged_at=at("2025-06-01", 1),
            updated_at=at("2025-06-01", 1),
        ),
    }
    prs["api#3"] = _pr(
        api,
        3,
        alice,
        title='Revert "api#1"',
        created_at=at("2025-05-12"),
        merged_at=at("2025-05-12"),
        updated_at=at("2025-05-12"),
        revert_of=prs["api#1"],
        reverts_number=1,
        ai_assisted=True,
        ai_tools=["claude"],
    )
    return prs


def _activity(org: Org) -> None:
    prs, people, repos, teams = org.prs, org.people, org.repos, org.teams
    Review.objects.create(
        pull_request=prs["api#1"],
        reviewer=people["bob"],
        state="approved",
        submitted_at=at("2025-05-09", 6),
        external_id="r1",
    )
    Review.objects.create(
        pull_request=prs["app#1"],
        reviewer=people["alice"],
        state="commented",
        submitted_at=at("2025-05-14", 8),
        external_id="r2",
    )
    Revert.objects.create(
        repository=repos["acme/api"],
        revert_sha="abc123",
        reverting_pr=prs["api#3"],
        reverted_pr=prs["api#1"],
        reverted_at=at("2025-05-12"),
        evidence="title",
    )
    Deployment.objects.create(
        repository=repos["acme/api"],
        external_id="d1",
        environment="production",
        is_production=True,
        sha="f" * 40,
        status="success",
        created_at=at("2025-05-11"),
        finished_at=at("2025-05-11", 1),
    )
    Deployment.objects.create(
        repository=repos["acme/app"],
        external_id="d2",
        environment="staging",
        sha="e" * 40,
        status="failure",
        created_at=at("2025-05-16"),
    )
    week = dt.date(2025, 5, 5)
    make_snapshot(team=teams["platform"], metric="merged_prs", value=2.0, n=2, period_start=week)
    make_snapshot(team=teams["platform-api"], metric="merged_prs", value=2.0, n=2, period_start=week)
    make_snapshot(team=teams["mobile"], metric="merged_prs", value=1.0, n=1, period_start=week)
    make_snapshot(repository=repos["acme/api"], metric="merged_prs", value=2.0, n=2, period_start=week)
    make_snapshot(repository=repos["acme/app"], metric="merged_prs", value=1.0, n=1, period_start=week)
    make_snapshot(metric="merged_prs", value=3.0, n=3, period_start=week)
    SyncRun.objects.create(kind="git", source="/srv/git/api.git", status="succeeded", counts={"prs": 3})


@pytest.fixture
def org(db: None) -> Org:
    platform = make_team(name="Platform", slug="platform")
    teams = {
        "platform": platform,
        "platform-api": make_team(name="Platform API", slug="platform-api", parent=platform),
        "mobile": make_team(name="Mobile", slug="mobile"),
    }
    people = _people()
    _memberships(teams, people)
    repos = {
        "acme/api": make_repository(full_name="acme/api", team=teams["platform-api"]),
        "acme/app": make_repository(full_name="acme/app", team=teams["mobile"]),
        "acme/shared": make_repository(full_name="acme/shared"),
    }
    result = Org(teams, people, repos, _pull_requests(repos, people))
    _activity(result)
    return result


@pytest.fixture(autouse=True)
def _fresh_throttle() -> Iterator[None]:
    """Throttle counters live in the cache; ids repeat across tests on SQLite, so start clean."""
    cache.clear()
    yield
    cache.clear()


TokenClient = Callable[..., Client]


@pytest.fixture
def token_client(db: None) -> TokenClient:
    """``token_client(role, teams=())``: a test client sending a fresh token of that role/scope."""

    def make(role: str = "admin", teams: tuple[str, ...] = ()) -> Client:
        _token, raw = api_token_create(name=f"{role} test", role=role, team_slugs=teams)
        return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    return make
