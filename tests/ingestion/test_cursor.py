"""The Cursor connector against a fake Cursor Admin and AI Code Tracking API on 127.0.0.1 (documented
shapes): members as seats, daily usage, usage events per model with their cost, code tracking per commit;
pagination, 429/5xx/dropped connections, a bad key, no Enterprise plan; exact stored values and a resume
after a kill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.base import ConnectorError, SourceConfig
from connectors.cursor import CursorConnector
from metrics.ingestion.models import AIModelUsageDay, AISeat, AIUsageDay, CommitAIAttribution
from metrics.ingestion.sync import source_sync
from metrics.ingestion.sync_sources import source_create
from tests.fakes.cursor import KEY, FakeCursor, commit, event, ms, usage_row
from tests.fakes.server import FakeApiServer

TODAY = datetime.now(UTC).date()
D1, D2 = TODAY - timedelta(days=9), TODAY - timedelta(days=2)  # two windows of 7 days apart
SONNET, GPT = "claude-4-sonnet", "gpt-5"
DAILY, EVENTS, COMMITS = (
    "/teams/daily-usage-data",
    "/teams/filtered-usage-events",
    "/analytics/ai-code/commits",
)


class Killed(Exception):
    pass


@pytest.fixture
def fake(fresh_server: FakeApiServer) -> FakeCursor:
    fake = FakeCursor(fresh_server)
    fake.members = [
        {"name": "Ann", "email": "ann@example.com", "role": "owner"},
        {"name": "Bob", "email": "bob@example.com", "role": "member"},
    ]
    fake.usage = [
        usage_row(D1, "ann@example.com", totalLinesAdded=500, totalLinesDeleted=80, acceptedLinesAdded=300,
                  acceptedLinesDeleted=20, totalTabsShown=120, totalTabsAccepted=45, chatRequests=6,
                  composerRequests=4, agentRequests=9, totalAccepts=13, totalRejects=2, usageBasedReqs=3),
        usage_row(D2, "bob@example.com", totalLinesAdded=40, acceptedLinesAdded=12, totalTabsShown=30,
                  totalTabsAccepted=10, agentRequests=2),
    ]  # fmt: skip
    fake.events = [
        event(D1, 9, "ann@example.com", SONNET, (1000, 200, 50, 4000), 12.5),
        event(D1, 10, "ann@example.com", SONNET, (500, 100, 0, 1000), 6.25),
        event(D1, 11, "ann@example.com", GPT, (300, 30, 0, 0), 2.0),
        event(D2, 15, "bob@example.com", GPT, (100, 10, 0, 0), 0.75),
    ]
    fake.commits = [
        commit("a" * 40, D1, "ann@example.com", "acme/api", tab=10, composer=60, human=30),
        commit("b" * 40, D1, "ann@example.com", "acme/api", tab=0, composer=0, human=25),
        commit("c" * 40, D2, "bob@example.com", "acme/web", tab=4, composer=0, human=4),
    ]
    return fake


def connector(fake: FakeCursor, key: str = KEY, **options: object) -> CursorConnector:
    opts = {"api_url": fake.url, "since": D1.isoformat(), "page_size": 2, "max_retries": 3, **options}
    return CursorConnector(SourceConfig(kind="cursor", name="cur", options=opts, secret=key))


def test_one_window_reads_usage_events_pages_and_commits(fake: FakeCursor, server: FakeApiServer) -> None:
    c = connector(fake)
    pages = list(c.pages())
    assert len(pages) == 3  # members, then two 7-day windows (D1's and D2's)
    assert c.checkpoint == {"next_day": TODAY.isoformat()}
    body = server.requests[1].body  # the first POST: events of the first window, page 1
    assert b'"startDate": %d' % ms(D1) in body or b'"startDate":%d' % ms(D1) in body
    # window 1: 2 event pages (3 events, pages of 2), daily, 1 commit page + 1 (2 commits fill the page)
    assert server.count("POST", EVENTS) == 2 + 1 and server.count("POST", DAILY) == 2
    assert server.requests[0].headers["authorization"].startswith("Basic ")


def test_429_5xx_and_dropped_connections_are_retried_to_the_same_result(
    fake: FakeCursor, server: FakeApiServer
) -> None:
    clean = list(connector(fake).records())
    server.fault("POST", DAILY, status=429, retry_after=0)
    server.fault("POST", EVENTS, status=500)
    server.fault("GET", COMMITS, drop=True)
    assert list(connector(fake).records()) == clean


def test_bad_key_is_permanent_and_no_enterprise_plan_is_a_problem(
    fake: FakeCursor, server: FakeApiServer
) -> None:
    with pytest.raises(ConnectorError) as bad:
        list(connector(fake, key="key_wrong_wrong_wrong").records())
    assert bad.value.permanent and "401" in str(bad.value) and "key_wrong" not in str(bad.value)
    fake.code_tracking = False
    c = connector(fake)
    records = list(c.records())
    assert records and len(c.problems) == 1 and "Enterprise" in c.problems[0]
    assert server.count("GET", COMMITS, 403) == 1  # asked once, not for every window


def test_connection_check(fake: FakeCursor, server: FakeApiServer) -> None:
    connector(fake).check()
    assert server.count("GET", "/teams/members") == 1
    with pytest.raises(ConnectorError, match="401"):
        connector(fake, key="key_bad_bad_bad_bad").check()


@pytest.mark.django_db
def test_sync_stores_exact_values_and_resumes_after_a_kill(fake: FakeCursor, server: FakeApiServer) -> None:
    source = source_create(
        kind="cursor", name="cur", options={"api_url": fake.url, "since": D1.isoformat(), "page_size": 2},
        secret=KEY,
    )  # fmt: skip
    calls: list[int] = []

    def kill_in_second_window(stage: str, done: int, total: int | None) -> None:
        calls.append(done)
        if len(calls) == 2:
            raise Killed

    with pytest.raises(Killed):
        source_sync(source=source, progress=kill_in_second_window, task_id="t1")
    source.refresh_from_db()
    assert source.checkpoint == {"next_day": (D1 + timedelta(days=7)).isoformat()}
    assert list(AIUsageDay.objects.values_list("day", flat=True)) == [D1]
    server.reset_log()
    source_sync(source=source, task_id="t1")
    assert server.count("POST", DAILY) == 1  # only the window that was not stored
    ann = AIUsageDay.objects.get(tool="Cursor", user_key="email:ann@example.com", day=D1)
    assert (ann.lines_added, ann.lines_removed, ann.suggestions, ann.acceptances) == (300, 20, 120, 45)
    assert (ann.requests, ann.chat_turns, ann.tool_accepts, ann.tool_rejects) == (19, 6, 13, 2)
    assert ann.cost == Decimal("0.21")  # 12.5 + 6.25 + 2.0 cents
    assert ann.extra["totalLinesAdded"] == 500 and ann.extra["usageBasedReqs"] == 3
    bob = AIUsageDay.objects.get(tool="Cursor", user_key="email:bob@example.com", day=D2)
    assert (bob.lines_added, bob.requests, bob.cost) == (12, 2, Decimal("0.01"))
    sonnet = AIModelUsageDay.objects.get(tool="Cursor", model=SONNET, day=D1)
    assert (sonnet.requests, sonnet.input_tokens, sonnet.output_tokens) == (2, 1500, 300)
    assert (sonnet.cache_read_tokens, sonnet.cache_write_tokens, sonnet.cost) == (5000, 50, Decimal("0.1875"))
    assert sorted(AISeat.objects.filter(tool="Cursor").values_list("user_key", "plan")) == [
        ("email:ann@example.com", "owner"),
        ("email:bob@example.com", "member"),
    ]
    a = CommitAIAttribution.objects.get(sha="a" * 40, source="cursor")
    assert (a.lines_added, a.ai_lines_added, a.repository, a.lines_deleted) == (100, 70, "acme/api", 3)
    assert a.detail == {
        "tab_lines_added": 10, "composer_lines_added": 60, "non_ai_lines_added": 30,
        "tab_lines_deleted": 1, "composer_lines_deleted": 1, "non_ai_lines_deleted": 1,
    }  # fmt: skip
    assert CommitAIAttribution.objects.count() == 3
