"""The Copilot connector against a fake GitHub API on 127.0.0.1 serving the sample payloads of
``../shared/data/copilot`` byte for byte; every number below is read from those files."""

from __future__ import annotations

import copy
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import ConnectorError, SourceConfig
from connectors.copilot import CopilotConnector
from connectors.copilot_reports import report_rows
from connectors.records import AISeatRecord, AIUsageRecord, IdentityRecord, Record, TeamMembershipRecord
from tests.fakes.copilot import ENTERPRISE, ORG, FakeCopilot
from tests.fakes.server import FakeApiServer

# daily_active_users of organization-28-day-report.json, 2026-03-29 .. 2026-04-25
ACTIVE_USERS = [0, 1, 4, 3, 4, 3, 0, 0, 2, 3, 2, 4, 3, 1, 1, 2, 4, 4, 4, 4, 4, 2, 4, 4, 3, 3, 4, 2]
SEAT_LOGINS = [
    "monalisa",
    "defunkt",
    "codertocat",
    "octocat",
    "octokitten",
    "hubot",
    "alicechen",
    "bobmartinez",
    "newjoiner",
]
# organization-1-day-report.json = the last day of the 28-day report
APRIL_25 = AIUsageRecord(
    tool="GitHub Copilot",
    day=date(2026, 4, 25),
    user=None,
    active=True,
    active_users=2,
    suggestions=25,
    acceptances=24,
    lines_suggested=0,
    lines_accepted=435,
    chat_turns=24,
    source="copilot-reports",
    lines_added=435,
    lines_removed=29,
    pull_requests=0,
    extra=tuple(
        (f"pr.{name}", 0.0)
        for name in (
            "total_applied_suggestions",
            "total_copilot_applied_suggestions",
            "total_copilot_suggestions",
            "total_created",
            "total_created_by_copilot",
            "total_merged",
            "total_merged_created_by_copilot",
            "total_merged_reviewed_by_copilot",
            "total_reviewed",
            "total_reviewed_by_copilot",
            "total_suggestions",
        )
    ),
)


@pytest.fixture
def fake(fresh_server: FakeApiServer, shared_dir: Path) -> FakeCopilot:
    return FakeCopilot(fresh_server, shared_dir / "data" / "copilot")


def connector(fake: FakeCopilot, *, token: str | None = None, **options: object) -> CopilotConnector:
    opts = {"org": ORG, "api_url": fake.url, "max_retries": 3, **options}
    secret = fake.token if token is None else token
    return CopilotConnector(SourceConfig(kind="copilot", name="copilot", options=opts, secret=secret))


def usage(records: list[Record], *, org: bool) -> list[AIUsageRecord]:
    return [r for r in records if isinstance(r, AIUsageRecord) and (r.user is None) == org]


def statuses(server: FakeApiServer, suffix: str) -> list[int | None]:
    return [r.status for r in server.requests if r.path.endswith(suffix)]


class TestReports:
    def test_first_sync_reads_the_28_day_reports_seats_and_teams(self, fake: FakeCopilot) -> None:
        sync = connector(fake)
        records = list(sync.records())
        days = usage(records, org=True)
        assert [r.day for r in days] == [date(2026, 3, 29) + timedelta(days=n) for n in range(28)]
        assert [r.active_users for r in days] == ACTIVE_USERS
        assert days[-1] == APRIL_25
        assert sum(r.suggestions or 0 for r in days) == 3440
        assert sum(r.lines_accepted or 0 for r in days) == 62998
        users = usage(records, org=False)
        assert len(users) == 107 and all(r.active for r in users)
        assert Counter(r.user.login for r in users if r.user) == {
            "alicechen": 18,
            "bobmartinez": 11,
            "codertocat": 4,
            "defunkt": 14,
            "hubot": 13,
            "monalisa": 3,
            "octocat": 26,
            "octokitten": 18,
        }
        monalisa = [r for r in users if r.user == IdentityRecord(login="monalisa")]
        assert [(r.day, r.suggestions, r.lines_accepted) for r in monalisa] == [
            (date(2026, 4, 9), 23, 26),
            (date(2026, 4, 10), 19, 37),
            (date(2026, 4, 24), 107, 1295),
        ]
        assert sync.checkpoint == {"api": "reports", "last_day": "2026-04-25"} and not sync.problems

    def test_pull_request_fields_of_the_reports(self, fake: FakeCopilot) -> None:
        days = usage(list(connector(fake).records()), org=True)
        april_16 = next(r for r in days if r.day == date(2026, 4, 16))
        extra = dict(april_16.extra)
        assert april_16.pull_requests == 1 and extra["pr.total_merged_created_by_copilot"] == 2
        assert extra["pr.median_minutes_to_merge_copilot_authored"] == 403.74
        assert sum(r.pull_requests or 0 for r in days) == 5  # total_created_by_copilot over the 28 days

    def test_enterprise_reports(self, fake: FakeCopilot, server: FakeApiServer) -> None:
        sync = connector(fake, org="", enterprise=ENTERPRISE)
        days = usage(list(sync.records()), org=True)
        assert len(days) == 28 and days[-1] == APRIL_25
        assert server.count(
            "GET", f"/enterprises/{ENTERPRISE}/copilot/metrics/reports/enterprise-28-day/latest"
        )
        assert not server.count("GET", f"/orgs/{ORG}/copilot/metrics/reports/.*")
        with pytest.raises(ConnectorError, match="'org' or the 'enterprise'"):
            connector(fake, enterprise=ENTERPRISE)

    def test_seats(self, fake: FakeCopilot) -> None:
        seats = [r for r in connector(fake).records() if isinstance(r, AISeatRecord)]
        assert [s.user.login for s in seats] == SEAT_LOGINS
        assert seats[0] == AISeatRecord(
            tool="GitHub Copilot",
            user=IdentityRecord(login="monalisa"),
            assigned_at=datetime(2026, 1, 3, 9, tzinfo=UTC),
            last_activity_at=datetime(2026, 5, 1, 12, tzinfo=UTC),
            plan="enterprise",
            cancelled_at=None,
        )
        assert seats[-1].last_activity_at is None and Counter(s.plan for s in seats) == {
            "business": 5,
            "enterprise": 4,
        }

    def test_seats_are_paginated(self, fake: FakeCopilot, server: FakeApiServer) -> None:
        fake.max_per_page = 4
        seats = [r for r in connector(fake).records() if isinstance(r, AISeatRecord)]
        assert [s.user.login for s in seats] == SEAT_LOGINS
        assert server.count("GET", r".*/billing/seats") == 3  # 4 + 4 + 1, following Link: rel="next"

    def test_user_teams_ndjson_become_memberships(self, fake: FakeCopilot) -> None:
        teams = [r for r in connector(fake).records() if isinstance(r, TeamMembershipRecord)]
        assert Counter(t.team for t in teams) == {"the-a-team": 4, "frontend-team": 3, "backend-team": 2}
        monalisa = (IdentityRecord(login="monalisa"),)
        assert teams[0] == TeamMembershipRecord(team="the-a-team", identities=monalisa)

    def test_downloads_never_carry_the_token(self, fake: FakeCopilot, server: FakeApiServer) -> None:
        sync = connector(fake)
        list(sync.records())
        downloads = [r for r in server.requests if r.path.startswith("/mock-data/")]
        api = [r for r in server.requests if not r.path.startswith("/mock-data/")]
        assert len(downloads) == 3 and not any("authorization" in r.headers for r in downloads)
        assert all(r.headers["authorization"] == f"Bearer {fake.token}" for r in api)
        assert sync.counts == {"api_requests": 4, "report_downloads": 3}

    def test_incremental_reads_each_new_day_until_one_is_missing(self, fake: FakeCopilot) -> None:
        sync = connector(fake, checkpoint={"api": "reports", "last_day": "2026-04-24"})
        records = list(sync.records())
        assert usage(records, org=True) == [APRIL_25]
        assert [(r.user.login, r.suggestions) for r in usage(records, org=False) if r.user] == [
            ("hubot", 25),
            ("octocat", 0),
        ]
        assert sync.checkpoint == {"api": "reports", "last_day": "2026-04-25"}
        again = connector(fake, checkpoint=copy.deepcopy(sync.checkpoint))
        assert not usage(list(again.records()), org=True)  # 2026-04-26 is not produced: nothing new

    def test_ndjson_and_json_report_files(self) -> None:
        ndjson = (
            '{"day": "2026-04-01", "daily_active_users": 3}\n\n'
            '{"day": "2026-04-02", "daily_active_users": 5}\n'
        )
        assert [r["daily_active_users"] for r in report_rows(ndjson, "f")] == [3, 5]
        assert report_rows('{"day_totals": [{"day": "2026-04-01"}]}', "f") == [{"day": "2026-04-01"}]
        with pytest.raises(ConnectorError, match=r"report f\.ndjson, line 2: not JSON"):
            report_rows('{"day": "2026-04-01"}\n{"day": \n', "f.ndjson")


class TestLegacyAndFallback:
    def test_older_metrics_api_when_reports_are_absent(self, fake: FakeCopilot) -> None:
        fake.reports = False
        sync = connector(fake)
        days = usage(list(sync.records()), org=True)
        assert len(days) == 21 and (days[0].day, days[-1].day) == (date(2024, 11, 4), date(2024, 11, 24))
        assert days[0] == AIUsageRecord(
            tool="GitHub Copilot",
            day=date(2024, 11, 4),
            user=None,
            active=True,
            active_users=4,
            suggestions=21,
            acceptances=11,
            lines_suggested=82,
            lines_accepted=20,
            chat_turns=44,
            source="copilot-metrics",
        )
        assert days[2].active_users == 29
        assert (sum(d.suggestions or 0 for d in days), sum(d.acceptances or 0 for d in days)) == (21255, 6665)
        assert sum(d.chat_turns or 0 for d in days) == 2036  # IDE chats 2035 + one github.com chat
        assert sync.checkpoint == {"api": "legacy", "last_day": "2024-11-24"}

    def test_legacy_incremental_asks_since_the_next_day(
        self, fake: FakeCopilot, server: FakeApiServer
    ) -> None:
        sync = connector(fake, metrics_api="legacy", checkpoint={"api": "legacy", "last_day": "2024-11-20"})
        days = usage(list(sync.records()), org=True)
        assert [d.day.day for d in days] == [21, 22, 23, 24]
        assert [r.query.get("since") for r in server.requests if r.path.endswith("/copilot/metrics")] == [
            ["2024-11-21"]
        ]

    def test_no_metrics_at_all_is_a_clear_permanent_error(self, fake: FakeCopilot) -> None:
        fake.reports = fake.legacy = False
        with pytest.raises(ConnectorError, match="usage metrics are not available for octodemo") as info:
            list(connector(fake).records())
        assert info.value.permanent


class TestFaults:
    def test_429_502_and_dropped_connections_are_retried_with_the_same_result(
        self, fake: FakeCopilot, server: FakeApiServer
    ) -> None:
        clean = list(connector(fake).records())
        server.reset_log()
        server.fault("GET", r".*/billing/seats", status=429, retry_after=1)
        server.fault("GET", r".*/organization-28-day/latest", status=502)
        server.fault("GET", r"/mock-data/new-api/organization-users-28-day-report.json", drop=True)
        server.fault("GET", r".*/user-teams-1-day", status=403, retry_after=0)  # secondary rate limit
        started = time.monotonic()
        assert list(connector(fake).records()) == clean
        assert time.monotonic() - started >= 1.0
        assert statuses(server, "/billing/seats") == [429, 200]
        assert statuses(server, "organization-28-day/latest") == [502, 200]
        assert statuses(server, "users-28-day-report.json") == [None, 200]  # None: dropped
        assert statuses(server, "user-teams-1-day") == [403, 200]

    def test_bad_token_is_permanent_and_not_retried(self, fake: FakeCopilot, server: FakeApiServer) -> None:
        with pytest.raises(ConnectorError, match="401 Bad credentials") as info:
            list(connector(fake, token="ghp-revoked").records())
        assert info.value.permanent and "ghp-revoked" not in str(info.value)
        assert len(server.requests) == 1

    def test_long_waits_and_persistent_errors_are_temporary(
        self, fake: FakeCopilot, server: FakeApiServer
    ) -> None:
        server.fault("GET", r".*/billing/seats", status=429, retry_after=3600)
        with pytest.raises(ConnectorError) as info:
            list(connector(fake).records())
        assert not info.value.permanent and info.value.retry_after == 3600 and len(server.requests) == 1
        server.reset_log()
        server.fault("GET", r".*/billing/seats", status=503, times=10)
        with pytest.raises(ConnectorError, match="503") as info:
            list(connector(fake, max_retries=2).records())
        assert not info.value.permanent and len(server.requests) == 3

    def test_an_expired_download_link_is_temporary(self, fake: FakeCopilot, server: FakeApiServer) -> None:
        server.fault(
            "GET",
            r"/mock-data/new-api/organization-28-day-report.json",
            status=403,
            times=10,
            body="<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
        )
        with pytest.raises(ConnectorError, match="report file /mock-data") as info:
            list(connector(fake).records())
        assert not info.value.permanent
