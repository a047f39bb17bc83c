"""A small organization for the page tests: a team tree, people who move between teams, PRs with AI
evidence and reverts, snapshots (team, organization and person scope), AI-impact rows, and one user
per role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.cache import cache
from django.test import Client

from metrics.core.models import Person, Repository, Team
from metrics.ingestion.models import AIEvidence, AIRoiMonth, MetricSnapshot, PullRequest
from tests.factories import make_estimate, make_person, make_series, make_snapshot, make_team_tree, make_user

JUNE = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def at(day: int, month: int = 6, hour: int = 9) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, tzinfo=dt.UTC)


def make_pr(
    repository: Repository,
    number: int,
    author: Person | None,
    *,
    merged: dt.datetime | None,
    title: str = "",
    **fields: object,
) -> PullRequest:
    created = fields.pop("created_at", None) or (merged or at(20)) - dt.timedelta(hours=30)
    defaults = {
        "title": title or f"Change number {number}",
        "state": "merged" if merged else "open",
        "created_at": created,
        "first_commit_at": created - dt.timedelta(hours=6),
        "first_review_at": created + dt.timedelta(hours=4),
        "approved_at": created + dt.timedelta(hours=20),
        "merged_at": merged,
        "additions": 40 + number,
        "deletions": 10,
    }
    return PullRequest.objects.create(
        repository=repository, number=number, author=author, **{**defaults, **fields}
    )


@dataclass
class Org:
    product: Team
    checkout: Team
    search: Team
    platform: Team
    alice: Person
    bob: Person
    carol: Person
    dave: Person
    web: Repository
    api: Repository
    prs: dict[str, PullRequest]


@pytest.fixture
def org(db: None) -> Org:
    teams = make_team_tree()
    product, checkout, search, platform = (teams[k] for k in ("product", "checkout", "search", "platform"))
    alice = make_person("Alice Anders", "alice@example.com", (checkout, None, None))
    bob = make_person("Bob Brenner", "bob@example.com", (search, None, None))
    carol = make_person("Carol Castillo", "carol@example.com", (platform, None, None))
    # Dave moved from Checkout to Search on 1 June: his May work is Checkout's, his June work Search's.
    dave = make_person("Dave Dorsey", "dave@example.com", (checkout, None, JUNE), (search, JUNE, None))
    bot = Person.objects.create(display_name="dependabot[bot]", is_bot=True)
    web = Repository.objects.create(
        full_name="acme/web", host="github", url="https://github.example/acme/web"
    )
    api = Repository.objects.create(
        full_name="acme/api", host="gitlab", url="https://gitlab.example/acme/api"
    )
    prs = {
        "alice_ai": make_pr(
            web, 1, alice, merged=at(3), title="Speed up checkout", ai_assisted=True, ai_tools=["Claude Code"]
        ),
        "alice_reverted": make_pr(
            web,
            2,
            alice,
            merged=at(4),
            title="Risky cart change",
            reverted_at=at(6),
            additions=900,
            deletions=300,
        ),
        "bob": make_pr(api, 3, bob, merged=at(5), title="Search ranking tweak"),
        "carol": make_pr(web, 4, carol, merged=at(6), title="Platform logging"),
        "carol_open": make_pr(web, 5, carol, merged=None, title="Draft platform idea", state="open"),
        "dave_may": make_pr(web, 6, dave, merged=at(20, month=5), title="Checkout coupons"),
        "dave_june": make_pr(api, 7, dave, merged=at(10), title="Search facets by dave-branch"),
        "bot": make_pr(web, 8, bot, merged=at(7), title="Bump lodash", is_bot=True),
    }
    AIEvidence.objects.create(
        pull_request=prs["alice_ai"],
        tool="Claude Code",
        kind="trailer",
        matched_text="Co-authored-by: Claude <noreply@anthropic.com>",
    )
    AIEvidence.objects.create(
        pull_request=prs["dave_june"], tool="aider", kind="author", matched_text="Dave Dorsey (aider)"
    )
    _snapshots(checkout, alice, bob, dave)
    _impact(checkout)
    return Org(product, checkout, search, platform, alice, bob, carol, dave, web, api, prs)


def _snapshots(checkout: Team, alice: Person, bob: Person, dave: Person) -> None:
    weekly = {
        "cycle_time_p50": [20.0, 10.0],
        "cycle_time_p75": [30.0, 20.0],
        "cycle_time_p90": [60.0, 72.0],
        "coding_time_p50": [4.0, 3.0],
        "pickup_time_p50": [5.0, 2.0],
        "rework_time_p50": [3.0, 1.0],
        "merge_wait_time_p50": [1.0, 0.5],
        # "Where the time goes": means over the same PRs, so the parts add up to the mean cycle time
        "phase_mean_coding": [4.5, 3.5],
        "phase_mean_draft": [0.5, 0.0],
        "phase_mean_pickup": [6.0, 2.5],
        "phase_mean_rework": [3.5, 1.5],
        "phase_mean_merge_wait": [1.5, 0.5],
        "phase_mean_cycle": [16.0, 8.0],
        "merged_prs": [9.0, 11.0],
        "throughput_per_engineer": [1.5, 2.75],
        "revert_rate": [0.0, None],
        "time_to_revert_p50": [None, 30.0],
        "ai_assisted_share": [0.25, 0.5],
        "pr_size_p50": [120.0, 80.0],
        "pr_size_p75": [300.0, 200.0],
        "pr_size_p90": [900.0, 700.0],
    }
    for metric, values in weekly.items():
        make_series(
            metric=metric, values=values, start=dt.date(2025, 6, 2), period="week", n=11, team=checkout
        )
    for metric, may, june in (
        ("cycle_time_p50", 30.0, 12.5),
        ("merged_prs", 40.0, 42.0),
        ("revert_rate", 0.1, 0.05),
        ("ai_assisted_share", 0.2, 0.375),
        ("throughput_per_engineer", 2.0, 2.1),
        ("ai_adoption_any_share", 0.3, 0.5),
    ):
        make_series(
            metric=metric, values=[may, june], start=dt.date(2025, 5, 1), period="month", n=42, team=checkout
        )
        make_series(metric=metric, values=[may, june], start=dt.date(2025, 5, 1), period="month", n=99)
    make_snapshot(metric="merged_prs", value=9.0, period_start=dt.date(2025, 6, 2), period="week", n=9)
    for person, merged in ((alice, 7.0), (bob, 5.0), (dave, 3.0)):
        for metric, value in (
            ("merged_prs", merged),
            ("cycle_time_p50", 11.0 + merged),
            ("ai_adoption_level", 2.0),
        ):
            MetricSnapshot.objects.create(
                scope="person",
                person=person,
                period="month",
                period_start=dt.date(2025, 6, 1),
                metric=metric,
                value=value,
                n=1,
                definition_version="1.1",
            )


def _impact(checkout: Team) -> None:
    common = {"n_treated": 120}
    for outcome, unit, rows in (
        (
            "cycle_time",
            "percent_change",
            {"adjusted": (-13.2, -18.6, -7.6), "naive": (-39.3, -43.6, -34.7), "did": (-4.9, -16.5, 8.3)},
        ),
        ("revert_rate", "percentage_points", {"adjusted": (0.2, -1.8, 2.2), "naive": (0.2, -1.3, 1.6)}),
    ):
        for method, (estimate, low, high) in rows.items():
            make_estimate(
                outcome=outcome,
                method=method,
                unit=unit,
                estimate=estimate,
                ci_low=low,
                ci_high=high,
                **common,
            )
    make_estimate(rule="trailer", estimate=-10.3, ci_low=-16.4, ci_high=-3.8, **common)
    make_estimate(scope="team", team=checkout, status="not enough data", **common)
    make_estimate(
        outcome="detection_coverage",
        method="coverage",
        unit="percent",
        status="not enough data",
        n=0,
        n_treated=0,
        n_clusters=0,
    )
    AIRoiMonth.objects.create(
        month=dt.date(2025, 6, 1),
        tool="Claude Code",
        ai_prs=15,
        spend=380.0,
        measured_hours=18.3,
        measured_hours_low=9.8,
        measured_hours_high=27.4,
        measured_net=1450.0,
        measured_net_low=600.0,
        measured_net_high=2358.0,
    )


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # Pages cache what they computed under keys that follow the data; each test starts without any.
    cache.clear()


def page(client: Client, url: str) -> str:
    """The page's HTML, asserting it answered 200."""
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def client_for(user: AbstractUser) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clients(org: Org) -> dict[str, Client]:
    """One logged-in client per role; "checkout" manages Checkout only, "product" Product and below."""
    return {
        "admin": client_for(make_user("root", superuser=True)),
        "checkout": client_for(make_user("mia", "manager", (org.checkout,))),
        "product": client_for(make_user("pat", "manager", (org.product,))),
        "executive": client_for(make_user("eve", "executive")),
        "viewer": client_for(make_user("vic", "viewer")),
    }
