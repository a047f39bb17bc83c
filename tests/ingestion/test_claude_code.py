"""The Claude Code connector against a fake Anthropic Admin API on 127.0.0.1 (documented shapes), with
pagination, 429/5xx/dropped connections and a bad key; the sync stores exact values and resumes after a
kill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.base import ConnectorError, SourceConfig
from connectors.claude_code import ClaudeCodeConnector
from connectors.records import AIModelUsageRecord, AIUsageRecord, IdentityRecord
from metrics.core.models import DataSource
from metrics.ingestion.models import AIModelUsageDay, AIUsageDay
from metrics.ingestion.sync import source_sync
from metrics.ingestion.sync_sources import source_create
from tests.fakes.anthropic import KEY, PATH, FakeAnthropic, record
from tests.fakes.server import FakeApiServer

TODAY = datetime.now(UTC).date()
D1, D2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)
SONNET = "claude-sonnet-4-5-20250929"


class Killed(Exception):
    pass


@pytest.fixture
def fake(fresh_server: FakeApiServer) -> FakeAnthropic:
    fake = FakeAnthropic(fresh_server)
    fake.add(
        # ann works in two terminals on D1: one AIUsageDay, the sums of both records
        record(D1, "ann@example.com", sessions=3, added=200, removed=40, commits=2, prs=1, accepted=10,
               rejected=2, models=((SONNET, 1000, 300, 5000, 200, 123.0),)),
        record(D1, "ann@example.com", sessions=1, added=50, removed=5, accepted=4, terminal="cli",
               models=((SONNET, 500, 100, 0, 0, 27.5), ("claude-haiku-4-5", 80, 20, 0, 0, 1.5))),
        record(D1, "bob@example.com", sessions=2, added=10, removed=0, models=((SONNET, 10, 5, 0, 0, 4.0),)),
        record(D1, None, sessions=1, added=7, removed=1, api_key="ci-bot"),
        record(D2, "bob@example.com", sessions=5, added=90, removed=30, commits=1, accepted=3, rejected=1),
        record(TODAY, "ann@example.com", sessions=1, added=1, removed=0),
    )  # fmt: skip
    return fake


def connector(fake: FakeAnthropic, key: str = KEY, **options: object) -> ClaudeCodeConnector:
    opts = {"api_url": fake.url, "since": D1.isoformat(), "page_size": 2, "max_retries": 3, **options}
    return ClaudeCodeConnector(SourceConfig(kind="claude_code", name="cc", options=opts, secret=key))


def test_records_add_up_each_actors_day_with_models_and_pages(
    fake: FakeAnthropic, server: FakeApiServer
) -> None:
    c = connector(fake)
    records = list(c.records())
    usage = [r for r in records if isinstance(r, AIUsageRecord) and r.user is not None]
    ann = next(r for r in usage if r.user == IdentityRecord(email="ann@example.com") and r.day == D1)
    assert (ann.sessions, ann.lines_added, ann.lines_removed, ann.commits, ann.pull_requests) == (
        4,
        250,
        45,
        2,
        1,
    )
    assert (ann.tool_accepts, ann.tool_rejects) == (10 + 1 + 4 + 1, 2)  # edit + write tools of both records
    assert (ann.input_tokens, ann.output_tokens, ann.cost) == (1580, 420, 1.52)  # (123 + 27.5 + 1.5) cents
    assert dict(ann.extra)["edit_tool.accepted"] == 14
    sonnet = next(r for r in records if isinstance(r, AIModelUsageRecord) and r.model == SONNET
                  and r.user == IdentityRecord(email="ann@example.com"))  # fmt: skip
    assert (sonnet.input_tokens, sonnet.cache_read_tokens, sonnet.cache_write_tokens, sonnet.cost) == (
        1500, 5000, 200, 1.505)  # fmt: skip
    bot = next(
        r for r in records if isinstance(r, AIUsageRecord) and r.user and r.user.login == "api-key/ci-bot"
    )
    assert bot.lines_added == 7
    assert c.checkpoint == {"last_day": D2.isoformat()}  # today is read, not checkpointed
    # D1 has 4 records in pages of 2 -> 2 requests; D2 and today 1 each
    assert server.count("GET", PATH) == 4 == c.counts["api_requests"]
    first = server.requests[0]
    assert first.headers["x-api-key"] == KEY and first.headers["anthropic-version"] == "2023-06-01"
    assert first.query["starting_at"] == [D1.isoformat()] and first.query["limit"] == ["2"]


def test_429_5xx_and_dropped_connections_are_retried_to_the_same_result(
    fake: FakeAnthropic, server: FakeApiServer
) -> None:
    clean = list(connector(fake).records())
    server.reset_log()
    server.fault("GET", PATH, status=429, retry_after=0)
    server.fault("GET", PATH, status=529, body={"type": "error", "error": {"type": "overloaded_error"}})
    server.fault("GET", PATH, drop=True)
    assert list(connector(fake).records()) == clean
    assert server.count("GET", PATH, 429) == 1 and server.count("GET", PATH, dropped=True) == 1


def test_bad_key_is_permanent_and_long_waits_temporary(fake: FakeAnthropic, server: FakeApiServer) -> None:
    with pytest.raises(ConnectorError) as bad:
        list(connector(fake, key="sk-ant-admin01-wrong-key").records())
    assert bad.value.permanent and "401" in str(bad.value) and "wrong-key" not in str(bad.value)
    assert server.count("GET", PATH) == 1  # not retried
    server.fault("GET", PATH, status=429, retry_after=3600)
    with pytest.raises(ConnectorError) as limited:
        list(connector(fake).records())
    assert not limited.value.permanent and limited.value.retry_after == 3600


def test_connection_check_is_one_request(fake: FakeAnthropic, server: FakeApiServer) -> None:
    connector(fake).check()
    assert server.count("GET", PATH) == 1 and server.requests[0].query["limit"] == ["1"]
    with pytest.raises(ConnectorError, match="401"):
        connector(fake, key="sk-ant-admin01-bad-key").check()


def test_malformed_answer_is_a_one_line_error(fake: FakeAnthropic, server: FakeApiServer) -> None:
    server.fault(
        "GET", PATH, status=200, body={"data": [{"actor": {"type": "user_actor"}}], "has_more": False}
    )
    with pytest.raises(ConnectorError, match="field 'email_address' is missing"):
        list(connector(fake).records())


@pytest.mark.django_db
def test_sync_stores_exact_values_and_resumes_after_a_kill(
    fake: FakeAnthropic, server: FakeApiServer
) -> None:
    source = source_create(
        kind="claude_code", name="cc", options={"api_url": fake.url, "since": D1.isoformat()}, secret=KEY
    )
    days: list[int] = []

    def kill_on_second_day(stage: str, done: int, total: int | None) -> None:
        days.append(done)
        if len(days) == 2:
            raise Killed

    with pytest.raises(Killed):
        source_sync(source=source, progress=kill_on_second_day, task_id="t1")
    source.refresh_from_db()
    assert source.checkpoint == {"last_day": D1.isoformat()}
    assert sorted(AIUsageDay.objects.values_list("day", flat=True).distinct()) == [D1]
    server.reset_log()
    run = source_sync(source=source, task_id="t1")
    assert [r.query["starting_at"][0] for r in server.requests] == [D2.isoformat(), TODAY.isoformat()]
    assert run.counts["api_requests"] == 2
    ann = AIUsageDay.objects.get(tool="Claude Code", user_key="email:ann@example.com", day=D1)
    assert (ann.sessions, ann.lines_added, ann.lines_removed, ann.commits, ann.pull_requests) == (
        4,
        250,
        45,
        2,
        1,
    )
    assert (ann.tool_accepts, ann.tool_rejects, ann.cost, ann.source) == (
        16,
        2,
        Decimal("1.52"),
        "claude-code-api",
    )
    bob = AIUsageDay.objects.get(tool="Claude Code", user_key="email:bob@example.com", day=D2)
    assert (bob.sessions, bob.lines_added, bob.commits, bob.tool_accepts, bob.cost) == (
        5,
        90,
        1,
        4,
        Decimal("0"),
    )
    assert AIUsageDay.objects.count() == 5  # ann D1, bob D1, api key D1, bob D2, ann today
    haiku = AIModelUsageDay.objects.get(model="claude-haiku-4-5")
    assert (haiku.input_tokens, haiku.output_tokens, haiku.cost) == (80, 20, Decimal("0.0150"))
    assert DataSource.objects.get(pk=source.pk).checkpoint == {"last_day": D2.isoformat()}
    # Nothing new: today is read again (its numbers still grow) and nothing is doubled.
    again = source_sync(source=source)
    assert again.counts["api_requests"] == 1 and AIUsageDay.objects.count() == 5
