"""GitHub connector checkpoints: resuming a pass, changes during a pass, deployments and team changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from connectors.base import SourceConfig
from connectors.github import GitHubConnector
from connectors.records import DeploymentRecord, PullRequestRecord, Record, TeamMembershipRecord
from tests.fakes.github import Deployment, FakeGitHub
from tests.fakes.github_data import populate, populate_teams


def connector(gh: FakeGitHub, **options: Any) -> GitHubConnector:
    options = {"repos": ["acme/api"], "api_url": gh.url, "page_size": 10, **options}
    return GitHubConnector(SourceConfig(kind="github", name="t", options=options, secret="test-token"))


def numbers(records: list[Record]) -> list[int]:
    return [r.number for r in records if isinstance(r, PullRequestRecord)]


def test_a_pass_stopped_after_two_pages_resumes_after_them() -> None:
    with FakeGitHub() as gh:
        repo = populate(gh, "acme/api", prs=45)
        first = connector(gh)
        pages = first.pages()
        seen = numbers(next(pages)) + numbers(next(pages))  # then the process dies
        checkpoint = first.checkpoint
        # while it was down, one pull request already read and one not yet read were updated
        newest = max(p.updated_at for p in repo.prs.values())
        for number in (seen[0], 5):
            repo.prs[number].updated_at = newest + timedelta(minutes=number)
        gh.operations.clear()
        resumed = connector(gh, checkpoint=checkpoint)
        rest = numbers([r for page in resumed.pages() for r in page])
        after_resume = [v["after"] for name, v in gh.operations if name == "PullRequests"]
        follow_up = connector(gh, checkpoint=resumed.checkpoint)
        caught_up = numbers([r for page in follow_up.pages() for r in page])
    assert checkpoint["repos"]["acme/api"]["prs"]["cursor"] == after_resume[0]
    assert len(seen) == 20 and len(rest) == 25 - 1  # #5 moved above the cursor: not in this pass...
    assert 5 not in rest and {seen[0], 5} <= set(caught_up)  # ...but newer than its bookmark: the next one
    assert sorted(set(seen) | set(rest) | set(caught_up)) == list(range(1, 46))


def test_new_deployments_and_status_changes_are_read_on_an_otherwise_unchanged_repository() -> None:
    with FakeGitHub() as gh:
        repo = populate(gh, "acme/api", prs=30)
        first = connector(gh)
        list(first.pages())
        last = max(d.created_at for d in repo.deployments)
        sha = repo.prs[30].merge_commit.oid if repo.prs[30].merge_commit else "f" * 40
        repo.deployments.append(
            Deployment(
                9001,
                "production",
                sha,
                last + timedelta(hours=1),
                [("IN_PROGRESS", last + timedelta(hours=1))],
            )
        )
        second = connector(gh, checkpoint=first.checkpoint)
        added = [r for page in second.pages() for r in page if isinstance(r, DeploymentRecord)]
        repo.deployments[-1].statuses.append(("SUCCESS", last + timedelta(hours=1, minutes=5)))
        third = connector(gh, checkpoint=second.checkpoint)
        finished = [r for page in third.pages() for r in page if isinstance(r, DeploymentRecord)]
        fourth = connector(gh, checkpoint=third.checkpoint)
        nothing = [r for page in fourth.pages() for r in page]
    assert [(d.external_id, d.status) for d in added if d.external_id == "github:9001"] == [
        ("github:9001", "in_progress")
    ]
    done = next(d for d in finished if d.external_id == "github:9001")
    assert done.status == "success" and done.finished_at == last + timedelta(hours=1, minutes=5)
    assert nothing == []


def test_team_changes_add_and_end_memberships() -> None:
    with FakeGitHub() as gh:
        populate(gh, "acme/api", prs=3)
        teams = populate_teams(gh, "acme")
        first = connector(gh, repos=None, org="acme", teams_interval_minutes=0)
        list(first.pages())
        teams[2].members.remove("dev08")
        teams[2].members.append("dev01")
        second = connector(gh, repos=None, org="acme", teams_interval_minutes=0, checkpoint=first.checkpoint)
        changes = [r for page in second.pages() for r in page if isinstance(r, TeamMembershipRecord)]
        not_modified = gh.server.count("GET", status=304)
    web = {(m.identities[0].login, m.end is not None) for m in changes}
    assert {m.team for m in changes} == {"Web"} and not_modified == 3  # teams list + 2 unchanged teams
    assert ("dev08", True) in web and ("dev01", False) in web and ("dev09", False) in web
