"""The GitLab connector: real python-gitlab against a fake GitLab REST API on 127.0.0.1, exact results.

The fake (tests/fakes/gitlab.py) pages with GitLab's headers (two items a page here, so every list is
paginated), checks ``PRIVATE-TOKEN``, and injects 429 + Retry-After, 5xx and dropped connections.
"""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.base import ConnectorError, SourceConfig
from connectors.gitlab import GitLabConnector
from connectors.gitlab_mrs import is_bot
from connectors.records import (
    CommitRecord,
    DeploymentRecord,
    IdentityRecord,
    PullRequestRecord,
    Record,
    RepositoryRecord,
    ReviewRecord,
    TeamMembershipRecord,
)
from tests.fakes.gitlab import M1, M2, FakeGitLab, acme, full_path
from tests.fakes.server import FakeApiServer


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, day, hour, minute, tzinfo=UTC)


def who(login: str) -> IdentityRecord:
    return IdentityRecord(name=login.title(), login=login)


@pytest.fixture
def fake(fresh_server: FakeApiServer) -> FakeGitLab:
    gitlab = acme(fresh_server)
    gitlab.max_per_page = 2
    return gitlab


def connector(fake: FakeGitLab, *, token: str | None = None, **options: object) -> GitLabConnector:
    opts = {"api_url": fake.url, "group": "acme", "max_retries": 3, **options}
    secret = fake.token if token is None else token
    return GitLabConnector(SourceConfig(kind="gitlab", name="acme-gitlab", options=opts, secret=secret))


def of(records: list[Record], kind: type) -> list:
    return [r for r in records if isinstance(r, kind)]


def prs(records: list[Record]) -> dict[tuple[str, int], PullRequestRecord]:
    return {(r.repository, r.number): r for r in of(records, PullRequestRecord)}


ADD_LOGIN = PullRequestRecord(
    repository="acme/api",
    number=1,
    title="Add login",
    author=who("alice"),
    state="merged",
    created_at=utc(1, 9),
    ready_at=None,
    first_commit_at=datetime(2024, 4, 30, 15, 0, tzinfo=timezone(timedelta(hours=2))),
    first_review_at=utc(1, 10, 30),  # bob's comment; alice's own note, the bot and system notes skipped
    approved_at=utc(1, 14),
    merged_at=utc(1, 16),
    closed_at=None,
    updated_at=utc(2, 10),
    is_draft=False,
    additions=4,
    deletions=1,
    changed_files=2,
    commits_count=2,
    head_branch="feature/login",
    base_branch="main",
    merge_sha=M1,
    body="Login form and session handling.",
    labels=("backend", "security"),
    commit_shas=("c11" + "0" * 37, "c12" + "0" * 37),
    merge_style="gitlab",
)


class TestFullSync:
    def test_merge_requests_exact(self, fake: FakeGitLab) -> None:
        found = prs(list(connector(fake).records()))
        assert sorted(found) == [("acme/api", n) for n in range(1, 6)] + [("acme/platform/infra", 1)]
        assert found["acme/api", 1] == ADD_LOGIN
        revert = found["acme/api", 2]
        # The revert MR as GitLab names it: title, branch revert-<sha8 of the reverted merge>, merge sha.
        assert (revert.title, revert.head_branch, revert.merge_sha) == (
            'Revert "Add login"',
            "revert-1a2b3c4d",
            M2,
        )
        assert (revert.ready_at, revert.first_review_at, revert.approved_at) == (
            utc(3, 9, 30),
            utc(3, 10, 45),
            utc(3, 10, 45),
        )
        assert (revert.additions, revert.deletions, revert.changed_files) == (1, 2, 1)
        draft = found["acme/api", 3]
        assert (draft.state, draft.is_draft, draft.head_branch, draft.first_review_at) == (
            "open",
            True,
            "copilot/cache",
            None,
        )
        closed = found["acme/api", 4]
        assert (closed.state, closed.closed_at, closed.merged_at, closed.commits_count) == (
            "closed",
            utc(6, 9),
            None,
            None,
        )
        squashed = found["acme/api", 5]
        assert (squashed.merge_sha, squashed.additions, squashed.deletions) == ("5c" * 20, 1, 1)
        old = found["acme/platform/infra", 1]  # no /approvals, no /diffs: approval from the system note
        assert (old.approved_at, old.first_review_at, old.additions, old.changed_files) == (
            utc(2, 10),
            utc(2, 10),
            None,
            None,
        )

    def test_commits_reviews_members_deployments(self, fake: FakeGitLab) -> None:
        records = list(connector(fake).records())
        commits = {c.sha[:3]: c for c in of(records, CommitRecord)}
        assert sorted(commits) == ["c11", "c12", "c21", "c31", "c51", "d11"]
        # Landed: merged into the default branch without squash; squashed and open MRs' commits did not.
        assert {k for k, c in commits.items() if c.on_default_branch} == {"c11", "c12", "c21", "d11"}
        assert commits["c12"].message.endswith("Co-authored-by: Claude <noreply@anthropic.com>\n")
        assert commits["c11"].author == IdentityRecord(name="Alice", email="alice@example.com")
        assert of(records, ReviewRecord) == [
            ReviewRecord("acme/api", 1, who("bob"), "APPROVED", utc(1, 14), "approval:2"),
            ReviewRecord("acme/api", 1, who("bob"), "COMMENTED", utc(1, 10, 30), "note:4"),
            ReviewRecord("acme/api", 1, who("carol"), "COMMENTED", utc(1, 11), "note:5"),
            ReviewRecord("acme/api", 2, who("alice"), "APPROVED", utc(3, 10, 45), "approval:1"),
            ReviewRecord("acme/platform/infra", 1, who("carol"), "APPROVED", utc(2, 10), "approval:3"),
        ]
        # The bot and the blocked member are left out; a subgroup's team has the group as parent.
        assert of(records, TeamMembershipRecord) == [
            TeamMembershipRecord("Acme", (who("alice"),), "Alice", ""),
            TeamMembershipRecord("Platform", (who("bob"),), "Bob", "Acme"),
            TeamMembershipRecord("Platform", (who("carol"),), "Carol", "Acme"),
        ]
        assert of(records, DeploymentRecord) == [
            DeploymentRecord(
                "acme/api", "102", "staging", M1, "failure", utc(1, 16, 30), None, False, "gitlab"
            ),
            DeploymentRecord(
                "acme/api", "101", "production", M1, "success", utc(1, 17), utc(1, 17, 4), True, "gitlab"
            ),
            # "live" is production by its tier, read from the environments list.
            DeploymentRecord("acme/api", "103", "live", M2, "in_progress", utc(3, 12), None, True, "gitlab"),
        ]

    def test_deleted_project_is_recorded_and_the_sync_goes_on(self, fake: FakeGitLab) -> None:
        sync = connector(fake)
        records = list(sync.records())
        assert sync.problems == [
            "project acme/gone skipped: /projects/13/merge_requests: 404 Project Not Found"
        ]
        assert [r.full_name for r in of(records, RepositoryRecord)] == ["acme/api", "acme/platform/infra"]

    def test_every_list_is_paginated_with_link_headers(self, fake: FakeGitLab) -> None:
        list(connector(fake).records())
        pages = [full_path(entry) for entry in fake.requests_to(r"/projects/11/merge_requests\?")]
        assert len(pages) == 3 and pages[1].endswith("page=2") and pages[2].endswith("page=3")
        assert len(fake.requests_to(r"/projects/11/merge_requests/1/notes")) == 4  # 7 notes, 2 a page
        assert not fake.requests_to(r"/projects/12/environments")  # no deployments: no environments call
        # /approvals only for merge requests whose notes show an approval (!1 and !2 here)
        approvals = [e.path for e in fake.requests_to(r"/projects/11/merge_requests/\d+/approvals")]
        assert approvals == [f"/api/v4/projects/11/merge_requests/{n}/approvals" for n in (1, 2)]

    def test_checkpoint_after_a_full_sync(self, fake: FakeGitLab) -> None:
        sync = connector(fake)
        list(sync.records())
        assert sync.checkpoint["projects"]["acme/api"] == {
            "mrs": "2024-05-07T10:00:00.000Z",
            "mrs_seen": [1005],
            "deployments": "2024-05-03T12:01:00.000Z",
            "deployments_seen": [103],
        }
        assert sync.checkpoint["projects"]["acme/platform/infra"] == {
            "mrs": "2024-05-02T12:00:00.000Z",
            "mrs_seen": [2001],
        }


class TestFaults:
    def test_429_5xx_and_a_dropped_connection_are_retried_with_the_same_result(
        self, fake: FakeGitLab
    ) -> None:
        clean = list(connector(fake).records())
        fake.server.reset_log()
        fake.fail(r"/api/v4/projects/11/merge_requests", 429, {"Retry-After": "1"}, first_page=True)
        fake.fail(r"/api/v4/projects/11/merge_requests/1/commits", 502)
        fake.fail(r"/api/v4/projects/11/merge_requests/2/notes", 0)
        fake.fail(r"/api/v4/projects/11/deployments", 503, first_page=True)
        started = time.monotonic()
        assert list(connector(fake).records()) == clean
        assert time.monotonic() - started >= 1.0  # Retry-After was obeyed
        first_page = r"/projects/11/merge_requests\?per_page=100"
        assert [e.status for e in fake.requests_to(first_page)] == [429, 200]
        assert [e.status for e in fake.requests_to(r"/projects/11/merge_requests/1/commits")] == [502, 200]
        notes = fake.requests_to(r"/projects/11/merge_requests/2/notes")
        assert [e.status for e in notes] == [None, 200]  # None: dropped
        assert [e.status for e in fake.requests_to(r"/projects/11/deployments\?per_page=100")] == [503, 200]

    def test_revoked_token_is_permanent_without_retries(self, fake: FakeGitLab) -> None:
        with pytest.raises(ConnectorError) as info:
            list(connector(fake, token="glpat-revoked-secret").records())
        assert info.value.permanent
        assert "401 Unauthorized" in str(info.value) and "revoked-secret" not in str(info.value)
        assert [e.status for e in fake.server.requests] == [401]

    def test_check_reports_a_bad_token(self, fake: FakeGitLab) -> None:
        connector(fake).check()
        with pytest.raises(ConnectorError) as info:
            connector(fake, token="nope").check()
        assert info.value.permanent

    def test_a_long_retry_after_ends_the_run_as_temporary(self, fake: FakeGitLab) -> None:
        fake.fail(r"/api/v4/groups/1/members", 429, {"Retry-After": "3600"})
        started = time.monotonic()
        with pytest.raises(ConnectorError) as info:
            list(connector(fake).records())
        assert time.monotonic() - started < 5
        assert not info.value.permanent and info.value.retry_after == 3600
        assert len(fake.requests_to(r"/groups/1/members")) == 1

    def test_a_far_ratelimit_reset_is_temporary_too(self, fake: FakeGitLab) -> None:
        fake.fail(r"/api/v4/groups/acme", 429, {"RateLimit-Reset": str(int(time.time()) + 1800)})
        with pytest.raises(ConnectorError) as info:
            list(connector(fake).records())
        assert not info.value.permanent and 1790 <= (info.value.retry_after or 0) <= 1800

    def test_persistent_502_gives_up_after_bounded_retries(self, fake: FakeGitLab) -> None:
        fake.fail(r"/api/v4/projects/11/merge_requests/3/diffs", 502, times=100)
        with pytest.raises(ConnectorError) as info:
            list(connector(fake, max_retries=2).records())
        assert not info.value.permanent and "502" in str(info.value)
        assert len(fake.requests_to(r"/merge_requests/3/diffs")) == 3

    def test_persistent_dropped_connections_give_up(self, fake: FakeGitLab) -> None:
        fake.fail(r"/api/v4/groups/acme", 0, times=100)
        with pytest.raises(ConnectorError) as info:
            list(connector(fake, max_retries=2).records())
        assert not info.value.permanent and "cannot reach GitLab" in str(info.value)
        assert len(fake.requests_to(r"/groups/acme")) == 3


class TestProjectsAndConfiguration:
    def test_listed_projects_skip_a_missing_one(self, fake: FakeGitLab) -> None:
        sync = connector(fake, group="", projects=["acme/api", "acme/missing", "acme/platform/infra"])
        records = list(sync.records())
        assert sync.problems == [
            "project acme/missing skipped: /projects/acme%2Fmissing: 404 Project Not Found"
        ]
        assert {r.repository for r in of(records, PullRequestRecord)} == {"acme/api", "acme/platform/infra"}
        assert not of(records, TeamMembershipRecord)

    def test_only_missing_projects_is_an_error(self, fake: FakeGitLab) -> None:
        with pytest.raises(ConnectorError, match="no project could be read") as info:
            list(connector(fake, group="", project="acme/missing").records())
        assert info.value.permanent

    def test_unknown_group_and_missing_options(self, fake: FakeGitLab) -> None:
        with pytest.raises(ConnectorError, match="group 'nobody' does not exist"):
            list(connector(fake, group="nobody").records())
        with pytest.raises(ConnectorError, match="set a 'group' or a 'project'"):
            connector(fake, group="")

    def test_only_repositories_reads_one_project_and_no_members(self, fake: FakeGitLab) -> None:
        sync = connector(fake, only_repositories=["acme/platform/infra"])
        records = list(sync.records())
        assert list(prs(records)) == [("acme/platform/infra", 1)]
        assert not of(records, TeamMembershipRecord) and not sync.problems
        assert not fake.requests_to(r"/members|/projects/1[13]/")

    def test_api_requests_are_counted(self, fake: FakeGitLab) -> None:
        fake.fail(r"/api/v4/projects/11/merge_requests/1/commits", 502)
        sync = connector(fake)
        list(sync.records())
        assert len(fake.server.requests) == 42  # 41 for the whole group, and the retried 502
        assert sync.counts == {"api_requests": 42}

    def test_an_api_url_with_api_v4_is_not_doubled(self, fake: FakeGitLab) -> None:
        sync = connector(fake, api_url=f"{fake.url}/api/v4/", project="acme/api", group="")
        assert len(prs(list(sync.records()))) == 5

    def test_bots(self) -> None:
        assert is_bot({"username": "project_42_bot_9f8e7d"}) and is_bot({"username": "x", "bot": True})
        assert is_bot({"username": "renovate-bot"}) and not is_bot({"username": "abbott"})


class TestIncremental:
    def test_a_resync_with_nothing_changed_reads_only_the_lists(self, fake: FakeGitLab) -> None:
        first = connector(fake)
        list(first.records())
        fake.server.reset_log()
        again = connector(fake, checkpoint=copy.deepcopy(first.checkpoint))
        records = list(again.records())
        assert not of(records, PullRequestRecord) and not of(records, DeploymentRecord)
        assert not fake.requests_to(r"/merge_requests/\d+/")  # no merge request read again
        assert [e.path for e in fake.requests_to(r"/projects/1[12]/")] == [
            "/api/v4/projects/11/merge_requests",
            "/api/v4/projects/11/deployments",
            "/api/v4/projects/12/merge_requests",
            "/api/v4/projects/12/deployments",
        ]
        listed = full_path(fake.requests_to(r"/projects/11/merge_requests")[0])
        assert "updated_after=2024-05-07T09%3A59%3A59" in listed  # the bookmark less one second

    def test_only_the_updated_merge_request_is_read(self, fake: FakeGitLab) -> None:
        first = connector(fake)
        list(first.records())
        fake.projects[0].merge_requests[2].update(
            updated_at="2024-05-08T09:00:00.000Z", draft=False, title="Cache lookups"
        )
        again = connector(fake, checkpoint=copy.deepcopy(first.checkpoint))
        changed = prs(list(again.records()))
        assert list(changed) == [("acme/api", 3)]
        assert (changed["acme/api", 3].title, changed["acme/api", 3].is_draft) == ("Cache lookups", False)
        assert again.checkpoint["projects"]["acme/api"]["mrs"] == "2024-05-08T09:00:00.000Z"

    def test_an_interrupted_sync_resumes_from_its_checkpoint(self, fake: FakeGitLab) -> None:
        # Two merge requests updated at the same instant, and the interruption falls between them.
        api = fake.projects[0]
        api.merge_requests[3]["updated_at"] = api.merge_requests[2]["updated_at"]  # !4 as !3
        full = prs(list(connector(fake).records()))
        first = connector(fake)
        consumed: list[Record] = []
        records = first.records()
        for record in records:
            if isinstance(record, PullRequestRecord) and record.number == 4:
                break  # the worker dies as !4 arrives: !3 is complete, !4 is not
            consumed.append(record)
        records.close()
        saved = copy.deepcopy(first.checkpoint)
        assert saved["projects"]["acme/api"] == {"mrs": "2024-05-04T09:00:00.000Z", "mrs_seen": [1003]}
        resumed = list(connector(fake, checkpoint=saved).records())
        before, after = prs(consumed), prs(resumed)
        assert sorted(before) == [("acme/api", 1), ("acme/api", 2), ("acme/api", 3)]
        # !3 shares !4's time and is skipped as already read; !4, at the bookmark but unread, is not lost.
        assert sorted(after) == [("acme/api", 4), ("acme/api", 5), ("acme/platform/infra", 1)]
        assert {**before, **after} == full
