#!/usr/bin/env python
"""Benchmark: AI-tool telemetry, 90 days of daily usage for 5,000 users from each source, ingested.

Each source is read over real HTTP on 127.0.0.1 from the test fakes (tests/fakes: the vendors' documented
shapes) into a fresh SQLite database (or, with ``--database-url``, an empty PostgreSQL database) through the
production path (``source_sync`` for Cursor and Claude Code, the OTLP receiver's view behind a WSGI server
for OpenTelemetry, ``manage.py import_amazon_q`` for Amazon Q Developer's CSV):

* Claude Code: 90 days x 5,000 users, one record each with one model: usage days and per-model days;
* Cursor: 5,000 members, daily usage and one usage event per user and day (7-day windows, events in pages
  of 1,000);
* OpenTelemetry: per day and user, ``claude_code.lines_of_code.count`` (added) and
  ``claude_code.cost.usage`` data points, 1,000 users a protobuf request;
* Amazon Q Developer: one CSV of 450,000 rows.

Target: each source under 60 s.  Printed per source: requests (HTTP requests the server answered), rows
stored, wall seconds and the CPU seconds of this process (the fakes and the receiver run in it too: on a
shared, oversubscribed machine the CPU time is the steadier figure; on PostgreSQL the database server's CPU
is not in it), and the ratio to a baseline measured in the same run: ``records_ingest`` of the same number
of plain ``AIUsageRecord`` rows (no HTTP, no parsing), in pages of 5,000.  What a client would have ready
before it sends (the OTLP exporters' serialized requests, Amazon Q's CSV file) is built before the clock
starts and its time printed apart; so are the fakes' encoded answers to the requests the Claude Code and
Cursor syncs will send (a vendor's server does that work on its own machine; the fakes answer any other
request as usual, and the line says how many there were).  The OTLP receiver's WSGI server sends with
TCP_NODELAY, as the fakes do (no 40 ms delayed-ACK stall per request), and answers on one thread, which keeps
its database connection from request to request as a gunicorn thread does (``CONN_MAX_AGE``); Django's
threaded development server started a thread, so a new database connection, for every request.

Usage: python bench/telemetry.py [--users 5000] [--days 90] [--sources claude_code,cursor,otlp,amazon_q]
       [--database-url postgres://.../empty_db]
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.github_requests import setup_django  # noqa: E402

TARGET_SECONDS = 60.0
PAGE_SIZE = 1000  # the vendors' largest page
WINDOW_DAYS = 7  # Cursor's default window
OTLP_TOKEN = "bench-otlp-token"  # noqa: S105 - the benchmark's own receiver token


def email(i: int) -> str:
    return f"dev{i:05d}@example.com"


def _request_key(request: Any) -> tuple[Any, ...]:
    """What tells two requests apart for the fakes: method, path, query, JSON body and credentials."""
    body = json.dumps(request.json(), sort_keys=True) if request.body else ""
    query = tuple(sorted((name, tuple(values)) for name, values in request.query.items()))
    credentials = tuple(request.header(name) for name in ("authorization", "x-api-key", "anthropic-version"))
    return request.method, request.path, query, body, credentials


class Ahead:
    """The fake's answers to the requests a sync will send, encoded before the clock starts (a vendor's
    server does that work on its own machine, not on ours); any other request is answered as usual."""

    def __init__(self, server: Any, headers: dict[str, str]) -> None:
        self.server, self.headers, self.answers = server, headers, {}
        self.missed = 0  # requests answered while the clock ran (none in a plain run)
        self.original = server.answer
        server.answer = self.answer

    def build(self, method: str, path: str, query: dict[str, Any], body: Any = None) -> Any:
        """The fake's answer (body still a dict) to one request, kept encoded for the sync."""
        from tests.fakes.server import FakeRequest, FakeResponse

        request = FakeRequest(
            method,
            path,
            {name: [str(value)] for name, value in query.items()},
            {name.lower(): value for name, value in self.headers.items()},
            json.dumps(body).encode() if body is not None else b"",
        )
        response = self.original(request)
        self.answers[_request_key(request)] = FakeResponse(
            response.status, response.encoded(), dict(response.headers)
        )
        return response

    def served(self) -> int:
        """Requests the server answered; says so when some were not built ahead."""
        if self.missed:
            print(f"  ({self.missed} requests were not built ahead: answered while the clock ran)")
        return int(self.server.count())

    def answer(self, request: Any) -> Any:
        found = self.answers.get(_request_key(request))
        if found is None:
            self.missed += 1
            return self.original(request)
        return found


def baseline(users: int, days: list[date]) -> float:
    """``records_ingest`` of users x days plain usage records, in pages of 5,000: the floor of any source."""
    from connectors.records import AIUsageRecord, IdentityRecord
    from metrics.ingestion.services import records_ingest

    started = time.perf_counter()
    page: list[Any] = []
    for day in days:
        for i in range(users):
            page.append(
                AIUsageRecord(tool="Baseline", day=day, user=IdentityRecord(email=email(i)), lines_added=i)
            )
            if len(page) == 5000:
                records_ingest(records=page, derive=False)
                page = []
    if page:
        records_ingest(records=page, derive=False)
    return time.perf_counter() - started


def claude_code_fake(users: int, days: list[date]) -> Any:
    """The fake Anthropic API serving 90 days x ``users`` records, its answers to the sync built ahead."""
    from tests.fakes.anthropic import KEY, PATH, FakeAnthropic, record
    from tests.fakes.server import FakeApiServer

    cache: dict[str, list[dict[str, Any]]] = {}

    wanted = {d.isoformat() for d in days}

    def rows_of(day: str) -> list[dict[str, Any]]:
        if day not in wanted:
            return []
        if day not in cache:
            cache.clear()
            d = date.fromisoformat(day)
            model = (("claude-sonnet-4-5", 1000, 200, 0, 0, 3.5),)
            cache[day] = [
                record(d, email(i), sessions=1 + i % 3, added=i % 200, removed=i % 50, commits=i % 2,
                       accepted=i % 7, rejected=i % 2, models=model)
                for i in range(users)
            ]  # fmt: skip
        return cache[day]

    server = FakeApiServer(auto_etag=False)
    fake = FakeAnthropic(server)
    fake.rows_of = rows_of  # type: ignore[method-assign]
    ahead = Ahead(server, {"x-api-key": KEY, "anthropic-version": "2023-06-01"})
    for day in [*days, days[-1] + timedelta(days=1)]:  # through today, as the sync reads
        query: dict[str, Any] = {"starting_at": day.isoformat(), "limit": PAGE_SIZE}
        while True:
            answer = ahead.build("GET", PATH, query).body
            if not answer["has_more"]:
                break
            query = {**query, "page": answer["next_page"]}
    return ahead


def claude_code(ahead: Ahead, days: list[date]) -> tuple[int, int]:
    from metrics.ingestion.models import AIUsageDay
    from metrics.ingestion.sync import source_sync
    from metrics.ingestion.sync_sources import source_create
    from tests.fakes.anthropic import KEY

    with ahead.server as server:
        source = source_create(
            kind="claude_code",
            name="bench-claude",
            secret=KEY,
            options={"api_url": server.url, "since": days[0].isoformat(), "page_size": PAGE_SIZE},
        )
        run = source_sync(source=source)
        assert run.status == "succeeded", run.error
        stored = AIUsageDay.objects.filter(tool="Claude Code").count()
        return ahead.served(), stored


def cursor_fake(users: int, days: list[date]) -> Any:
    """The fake Cursor Admin API serving ``users`` members' 90 days, its answers to the sync built ahead."""
    from tests.fakes.cursor import KEY, FakeCursor, event, ms, usage_row
    from tests.fakes.server import FakeApiServer

    def between(start: int, end: int) -> list[date]:
        return [
            d
            for d in days
            if start <= int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000) <= end
        ]

    events: dict[tuple[int, int], list[dict[str, Any]]] = {}

    def usage_rows(start: int, end: int) -> list[dict[str, Any]]:
        return [
            usage_row(d, email(i), acceptedLinesAdded=i % 300, totalTabsShown=i % 40, chatRequests=i % 5)
            for d in between(start, end)
            for i in range(users)
        ]

    def event_rows(start: int, end: int) -> list[dict[str, Any]]:
        if (start, end) not in events:
            events.clear()
            events[(start, end)] = [
                event(d, 12, email(i), "claude-4-sonnet", (1000, 100, 0, 500), 2.5)
                for d in between(start, end)
                for i in range(users)
            ]
        return events[(start, end)]

    server = FakeApiServer(auto_etag=False)
    fake = FakeCursor(server)
    fake.members = [{"name": f"Dev {i}", "email": email(i), "role": "member"} for i in range(users)]
    fake.usage_rows = usage_rows  # type: ignore[method-assign]
    fake.event_rows = event_rows  # type: ignore[method-assign]
    fake.code_tracking = False
    ahead = Ahead(server, {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()})
    ahead.build("GET", "/teams/members", {})
    start, today = days[0], days[-1] + timedelta(days=1)
    while start <= today:  # the sync's 7-day windows through today
        end = min(start + timedelta(days=WINDOW_DAYS), today + timedelta(days=1))
        span = {"startDate": ms(start), "endDate": ms(end) - 1}
        page, more = 1, True
        while more:
            body = {**span, "page": page, "pageSize": PAGE_SIZE}
            answer = ahead.build("POST", "/teams/filtered-usage-events", {}, body).body
            more = answer["pagination"]["hasNextPage"]
            page += 1
        ahead.build("POST", "/teams/daily-usage-data", {}, span)
        if start == days[0]:  # AI code tracking: 403 (not Enterprise), asked once
            last = (end - timedelta(days=1)).isoformat()
            query = {"startDate": start.isoformat(), "endDate": last, "page": 1, "pageSize": PAGE_SIZE}
            ahead.build("GET", "/analytics/ai-code/commits", query)
        start = end
    return ahead


def cursor(ahead: Ahead, days: list[date]) -> tuple[int, int]:
    from metrics.ingestion.models import AIUsageDay
    from metrics.ingestion.sync import source_sync
    from metrics.ingestion.sync_sources import source_create
    from tests.fakes.cursor import KEY

    with ahead.server as server:
        source = source_create(
            kind="cursor",
            name="bench-cursor",
            secret=KEY,
            options={"api_url": server.url, "since": days[0].isoformat(), "page_size": PAGE_SIZE},
        )
        run = source_sync(source=source)
        assert run.status == "succeeded", run.error
        return ahead.served(), AIUsageDay.objects.filter(tool="Cursor").count()


def otlp_requests(users: int, days: list[date]) -> list[bytes]:
    """The exporters' requests: per day and 1,000 users, one ``ExportMetricsServiceRequest`` (protobuf)."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, Metric

    def kv(key: str, value: str) -> KeyValue:
        return KeyValue(key=key, value=AnyValue(string_value=value))

    delta = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
    bodies = []
    for day in days:
        moment = int(datetime(day.year, day.month, day.day, 18, tzinfo=UTC).timestamp() * 1e9)
        for first in range(0, users, 1000):
            request = ExportMetricsServiceRequest()
            resource = request.resource_metrics.add()
            resource.resource.attributes.append(kv("service.name", "claude-code"))
            scope = resource.scope_metrics.add()
            lines = Metric(name="claude_code.lines_of_code.count", unit="count")
            lines.sum.aggregation_temporality = delta
            cost = Metric(name="claude_code.cost.usage", unit="USD")
            cost.sum.aggregation_temporality = delta
            for i in range(first, min(first + 1000, users)):
                point = lines.sum.data_points.add()
                point.attributes.extend([kv("user.email", email(i)), kv("type", "added")])
                point.start_time_unix_nano, point.time_unix_nano, point.as_int = (
                    moment - 10**12,
                    moment,
                    i % 200,
                )
                point = cost.sum.data_points.add()
                point.attributes.extend([kv("user.email", email(i)), kv("model", "claude-sonnet-4-5")])
                point.start_time_unix_nano, point.time_unix_nano, point.as_double = (
                    moment - 10**12,
                    moment,
                    0.5,
                )
            scope.metrics.extend([lines, cost])
            bodies.append(request.SerializeToString())
    return bodies


def otlp(bodies: list[bytes]) -> tuple[int, int]:
    import requests
    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
    from django.core.wsgi import get_wsgi_application

    from metrics.ingestion.models import AIUsageDay
    from metrics.ingestion.sync_sources import source_create

    class Quiet(WSGIRequestHandler):
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def log_message(self, format: str, *args: Any) -> None:
            return None

    source_create(kind="otlp", name="bench-otlp", options={}, secret=OTLP_TOKEN)
    httpd = WSGIServer(("127.0.0.1", 0), Quiet)
    httpd.set_app(get_wsgi_application())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/otlp/bench-otlp/v1/metrics"
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {OTLP_TOKEN}", "Content-Type": "application/x-protobuf"}
    )
    sent = 0
    try:
        for body in bodies:
            response = session.post(url, data=body, timeout=120)
            assert response.status_code == 200, response.text[:200]
            sent += 1
    finally:
        httpd.shutdown()
        httpd.server_close()
    return sent, AIUsageDay.objects.filter(tool="Claude Code", source="otlp").count()


def amazon_q_file(users: int, days: list[date], tmp: str) -> Path:
    """Amazon Q Developer's by-user report: one row per user and day."""
    path = Path(tmp) / "by_user_analytic.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        columns = [
            "Inline_SuggestionsCount",
            "Inline_AcceptanceCount",
            "Inline_AICodeLines",
            "Chat_AICodeLines",
        ]
        writer.writerow(["UserId", "Date", *columns, "Chat_MessagesSent"])
        for day in days:
            for i in range(users):
                writer.writerow([f"q-{i:05d}", day.isoformat(), i % 30, i % 9, i % 80, i % 11, i % 4])
    return path


def amazon_q(path: Path) -> tuple[int, int]:
    from django.core.management import call_command

    from metrics.ingestion.models import AIUsageDay

    call_command("import_amazon_q", str(path), verbosity=0)
    return 0, AIUsageDay.objects.filter(tool="Amazon Q Developer").count()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--sources", default="claude_code,cursor,otlp,amazon_q")
    parser.add_argument("--database-url", default="", help="an empty database (default: a fresh SQLite one)")
    args = parser.parse_args()
    today = datetime.now(UTC).date()
    # The window ends yesterday (a run reads through today, which has no data here).
    days = [today - timedelta(days=args.days - n) for n in range(args.days)]
    wanted = [s.strip() for s in args.sources.split(",") if s.strip()]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(tmp, args.database_url)
        from metrics.ingestion.models import AIUsageDay

        if AIUsageDay.objects.exists():
            print(f"{args.database_url}: not empty; the benchmark needs an empty database")
            return 2
        logging.getLogger("metrics.ingestion.otlp_receiver").setLevel(logging.WARNING)  # a line a request
        vendor = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
        cpu_started = time.process_time()
        base = baseline(args.users, days)
        base_cpu = time.process_time() - cpu_started
        rows = args.users * args.days
        scale = f"{args.users} users x {args.days} days = {rows} usage days on {vendor}"
        print(f"{scale}; target {TARGET_SECONDS:.0f} s")
        label = "baseline records_ingest"
        print(f"{label:<26} {'':>9} {rows:>8} rows  {base:6.1f} s ({base_cpu:6.1f} s CPU)  ratio 1.00")
        prepare: dict[str, Callable[[], Any]] = {
            "claude_code": lambda: claude_code_fake(args.users, days),
            "cursor": lambda: cursor_fake(args.users, days),
            "otlp": lambda: otlp_requests(args.users, days),
            "amazon_q": lambda: amazon_q_file(args.users, days, tmp),
        }
        runners: dict[str, Callable[[Any], tuple[int, int]]] = {
            "claude_code": lambda ahead: claude_code(ahead, days),
            "cursor": lambda ahead: cursor(ahead, days),
            "otlp": otlp,
            "amazon_q": amazon_q,
        }
        for name in wanted:
            built = time.perf_counter()
            given = prepare[name]() if name in prepare else None
            built = time.perf_counter() - built
            started, cpu_started = time.perf_counter(), time.process_time()
            requests_, stored = runners[name](given)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            met = seconds < TARGET_SECONDS and stored == rows
            ok = ok and met
            shown = f"{requests_} req" if requests_ else "file"
            before = f"  (input built first: {built:.1f} s, not counted)" if name in prepare else ""
            print(
                f"{name:<26} {shown:>9} {stored:>8} rows  {seconds:6.1f} s ({cpu:6.1f} s CPU)  "
                f"ratio {seconds / base:4.2f}  "
                f"{'met' if met else 'MISSED'}{before}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
