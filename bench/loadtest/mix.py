"""What the load-test clients request: the targets in the database and the weighted mix of endpoints."""

from __future__ import annotations

import datetime as dt
import random
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

JSON, CSV, HTML = "application/json", "text/csv", "text/html"


@dataclass(frozen=True)
class Targets:
    """What the data holds, so every URL names something that exists."""

    leaf_teams: list[str]
    parent_teams: list[str]
    repositories: list[str]
    survey_round: int | None
    newest: dt.date  # newest merge date


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str  # "api" (token) or "page" (session cookie)
    weight: int
    content_type: str
    path: Callable[[random.Random], str]
    follow_next: bool = False  # also GET the JSON "next" link (a cursor page), recorded as "<name> next"


def targets() -> Targets:
    """Read the targets from the database of the configured Django settings."""
    from django.db.models import Max

    from metrics.core.models import Repository, Team
    from metrics.ingestion.models import PullRequest, SurveyRound

    teams = list(Team.objects.values_list("id", "slug", "parent_id"))
    parents = {parent for _, _, parent in teams if parent is not None}
    newest = PullRequest.objects.aggregate(newest=Max("merged_at"))["newest"]
    survey_round = SurveyRound.objects.order_by("-opened_at").values_list("id", flat=True).first()
    return Targets(
        leaf_teams=sorted(slug for pk, slug, _ in teams if pk not in parents),
        parent_teams=sorted(slug for pk, slug, _ in teams if pk in parents),
        repositories=sorted(Repository.objects.values_list("full_name", flat=True)),
        survey_round=survey_round,
        newest=newest.date() if newest else dt.datetime.now(dt.UTC).date(),
    )


def mix(t: Targets) -> list[Endpoint]:
    """The weighted mix: about 60% REST export, 40% pages."""
    if not t.leaf_teams or not t.repositories:
        raise SystemExit("the database has no teams or repositories to load")
    groups = t.parent_teams or t.leaf_teams

    def q(path: str, **params: object) -> str:
        return f"{path}?{urllib.parse.urlencode(params)}" if params else path

    def days(n: int) -> str:
        return (t.newest - dt.timedelta(days=n)).isoformat()

    def leaf(r: random.Random) -> str:
        return r.choice(t.leaf_teams)

    def group(r: random.Random) -> str:
        return r.choice(groups)

    def repo(r: random.Random) -> str:
        return r.choice(t.repositories)

    api = "/api/v1"
    endpoints = [
        Endpoint(
            "api pull-requests team+since",
            "api",
            12,
            JSON,
            lambda r: q(f"{api}/pull-requests/", team=leaf(r), since=days(365), page_size=50),
            follow_next=True,
        ),
        Endpoint(
            "api pull-requests repo+state+ai",
            "api",
            7,
            JSON,
            lambda r: q(
                f"{api}/pull-requests/",
                repository=repo(r),
                state="merged",
                ai_assisted="true",
                since=days(60),
                page_size=500,
            ),
        ),
        Endpoint(
            "api pull-requests csv",
            "api",
            5,
            CSV,
            lambda r: q(f"{api}/pull-requests/", team=leaf(r), since=days(90), format="csv"),
        ),
        Endpoint(
            "api metrics team week",
            "api",
            9,
            JSON,
            lambda r: q(f"{api}/metrics/", team=group(r), period="week", since=days(180)),
        ),
        Endpoint(
            "api metrics org month",
            "api",
            4,
            JSON,
            lambda r: q(
                f"{api}/metrics/",
                scope="organization",
                period="month",
                metric=r.choice(["cycle_time_p50", "merged_prs", "revert_rate"]),
            ),
        ),
        Endpoint(
            "api metrics csv",
            "api",
            4,
            CSV,
            lambda r: q(f"{api}/metrics/", team=leaf(r), period="month", format="csv"),
        ),
        Endpoint("api teams", "api", 3, JSON, lambda r: q(f"{api}/teams/", page_size=1000)),
        Endpoint("api people team", "api", 3, JSON, lambda r: q(f"{api}/people/", team=group(r))),
        Endpoint("api repositories", "api", 2, JSON, lambda r: f"{api}/repositories/"),
        Endpoint(
            "api reviews team+since",
            "api",
            3,
            JSON,
            lambda r: q(f"{api}/reviews/", team=leaf(r), since=days(90)),
        ),
        Endpoint("api ai-impact", "api", 3, JSON, lambda r: f"{api}/ai-impact/"),
        Endpoint("page overview", "page", 9, HTML, lambda r: r.choice(["/", "/", "/?period=week"])),
        Endpoint(
            "page team dashboard",
            "page",
            12,
            HTML,
            lambda r: f"/teams/{r.choice([leaf(r), leaf(r), group(r)])}/",
        ),
        Endpoint(
            "page pr explorer",
            "page",
            12,
            HTML,
            lambda r: q(
                "/prs/",
                **r.choice(
                    [
                        {},
                        {"team": group(r), "state": "merged"},
                        {"team": leaf(r), "ai": "yes", "merged_from": days(90)},
                        {"repository": repo(r), "sort": "-size", "page": 2},
                        {"state": "open"},
                    ]
                ),
            ),
        ),
        Endpoint("page ai impact", "page", 6, HTML, lambda r: "/ai-impact/"),
    ]
    if t.survey_round is not None:
        endpoints.append(
            Endpoint(
                "api survey-results",
                "api",
                2,
                JSON,
                lambda r: q(f"{api}/survey-results/", round=t.survey_round),
            )
        )
    return endpoints
