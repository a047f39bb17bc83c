"""The OTLP/HTTP receiver, fed over real HTTP (Django's live server on 127.0.0.1) by the official
OpenTelemetry SDK exporters (protobuf, plain and gzip) and by hand-written OTLP JSON bodies; refusals (bad
token 401, malformed 400, oversized 413) store nothing."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader, MetricExportResult
from opentelemetry.sdk.resources import Resource

from metrics.core.models import Identity
from metrics.ingestion.models import AIModelUsageDay, AIUsageDay, TelemetryPoint, TelemetrySeries
from metrics.ingestion.sync_sources import source_create

TOKEN = "otlp-token-6f1d2c9a"
pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 60  # seconds: the live server's first request imports the whole site (slow on a loaded machine)


@pytest.fixture
def base(live_server: Any) -> str:
    source_create(kind="otlp", name="tools", options={}, secret=TOKEN)
    return f"{live_server.url}/otlp/tools"


def _export(
    base: str, record: Any, *, token: str = TOKEN, cumulative: bool = False, gzip_: bool = False
) -> Any:
    """Run ``record(meter)`` in a fresh SDK pipeline; export what it collected with OTLPMetricExporter."""
    temporality = AggregationTemporality.CUMULATIVE if cumulative else AggregationTemporality.DELTA
    reader = InMemoryMetricReader(preferred_temporality={Counter: temporality})
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource.create({"service.name": "claude-code", "os.type": "linux"})
    )
    record(provider.get_meter("com.anthropic.claude_code"))
    data = reader.get_metrics_data()
    exporter = OTLPMetricExporter(
        endpoint=f"{base}/v1/metrics",
        headers={"Authorization": f"Bearer {token}"},
        compression=Compression.Gzip if gzip_ else Compression.NoCompression,
        timeout=TIMEOUT,
    )
    try:
        return exporter.export(data)
    finally:
        exporter.shutdown()
        provider.shutdown()


ANN = {"user.email": "ann@example.com", "user.account_uuid": "u-ann", "session.id": "s1"}


def claude_day(meter: Any) -> None:
    lines = meter.create_counter("claude_code.lines_of_code.count", unit="count")
    lines.add(120, {**ANN, "type": "added"})
    lines.add(30, {**ANN, "type": "removed"})
    meter.create_counter("claude_code.cost.usage", unit="USD").add(
        1.25, {**ANN, "model": "claude-sonnet-4-5"}
    )
    tokens = meter.create_counter("claude_code.token.usage", unit="tokens")
    tokens.add(4000, {**ANN, "type": "input", "model": "claude-sonnet-4-5"})
    tokens.add(900, {**ANN, "type": "output", "model": "claude-sonnet-4-5"})
    meter.create_counter("claude_code.commit.count").add(2, ANN)
    meter.create_counter("claude_code.pull_request.count").add(1, ANN)
    meter.create_counter("acme.custom.widgets").add(7, ANN)  # unknown: kept, not dropped


def test_sdk_protobuf_export_lands_as_daily_usage_per_person_and_tool(base: str) -> None:
    assert _export(base, claude_day) == MetricExportResult.SUCCESS
    day = AIUsageDay.objects.get(tool="Claude Code", user_key="email:ann@example.com")
    assert day.day == datetime.now(UTC).date()
    assert (day.lines_added, day.lines_removed, day.commits, day.pull_requests) == (120, 30, 2, 1)
    assert (day.input_tokens, day.output_tokens, day.cost) == (4000, 900, Decimal("1.25"))
    assert day.source == "otlp" and day.person is not None
    assert Identity.objects.filter(person=day.person, key="email:ann@example.com").exists()
    model = AIModelUsageDay.objects.get(tool="Claude Code", model="claude-sonnet-4-5")
    assert (model.input_tokens, model.output_tokens, model.cost) == (4000, 900, Decimal("1.2500"))
    unknown = TelemetryPoint.objects.select_related("series").get(series__name="acme.custom.widgets")
    assert (unknown.value, unknown.series.tool, unknown.series.usage_field) == (7.0, "", "")
    assert unknown.series.attributes["service.name"] == "claude-code"  # resource attributes kept (its series)


def test_a_second_export_adds_up_and_a_repeated_one_does_not(base: str) -> None:
    assert _export(base, claude_day, gzip_=True) == MetricExportResult.SUCCESS
    assert _export(base, claude_day) == MetricExportResult.SUCCESS  # a later interval: delta points again
    day = AIUsageDay.objects.get(tool="Claude Code", user_key="email:ann@example.com")
    assert (day.lines_added, day.cost) == (240, Decimal("2.50"))
    # The same request sent twice (an exporter's retry after a lost answer) stores nothing more.
    now = time.time_ns()
    body = _json_metrics(
        name="claude_code.lines_of_code.count", value=5, attributes={**ANN, "type": "added"}, time_ns=now
    )
    for _ in range(2):
        assert _post(base, "metrics", body).status_code == 200
    assert AIUsageDay.objects.get(tool="Claude Code", user_key="email:ann@example.com").lines_added == 245


def test_cumulative_sums_count_their_growth_not_their_running_total(base: str) -> None:
    def first(meter: Any) -> None:
        meter.create_counter("claude_code.session.count").add(3, ANN)

    reader = InMemoryMetricReader(preferred_temporality={Counter: AggregationTemporality.CUMULATIVE})
    provider = MeterProvider(metric_readers=[reader])
    counter = provider.get_meter("m").create_counter("claude_code.session.count")
    exporter = OTLPMetricExporter(
        endpoint=f"{base}/v1/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=TIMEOUT
    )
    counter.add(3, ANN)
    assert exporter.export(reader.get_metrics_data()) == MetricExportResult.SUCCESS
    time.sleep(0.01)
    counter.add(2, ANN)  # the running total is now 5
    assert exporter.export(reader.get_metrics_data()) == MetricExportResult.SUCCESS
    exporter.shutdown()
    assert AIUsageDay.objects.get(tool="Claude Code", user_key="email:ann@example.com").sessions == 5
    assert (
        TelemetryPoint.objects.filter(series__name="claude_code.session.count", cumulative=True).count() == 2
    )


def _cumulative_body(points: list[tuple[int, int, int]]) -> dict:
    """A JSON export of one cumulative ``claude_code.session.count`` series: (start_ns, time_ns, value)."""
    data = [
        {
            "attributes": [{"key": "user.email", "value": {"stringValue": "ann@example.com"}}],
            "startTimeUnixNano": str(start),
            "timeUnixNano": str(at),
            "asInt": str(value),
        }
        for start, at, value in points
    ]
    metric = {
        "name": "claude_code.session.count",
        "unit": "1",
        "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": data},
    }
    return {"resourceMetrics": [{"resource": {"attributes": []}, "scopeMetrics": [{"metrics": [metric]}]}]}


def test_a_cumulative_series_across_midnight_counts_each_day_its_own_growth(base: str) -> None:
    def ns(day: int, hour: int) -> int:
        return int(datetime(2026, 11, day, hour, tzinfo=UTC).timestamp() * 1e9)

    start, restart = ns(2, 20), ns(4, 9)
    exports = [
        [(start, ns(2, 22), 3)],  # 3 sessions on the 2nd
        [(start, ns(3, 1), 5), (start, ns(3, 23), 9)],  # one request, two points: +6 on the 3rd
        [(start, ns(3, 23) + 1, 9), (start, ns(4, 2), 10)],  # the 3rd unchanged, +1 on the 4th
        [(restart, ns(4, 10), 2)],  # the process restarted: a new running total, +2 on the 4th
        [(start, ns(4, 2), 10)],  # a repeated point changes nothing
    ]
    for body in exports:
        assert _post(base, "metrics", _cumulative_body(body)).status_code == 200
    days = AIUsageDay.objects.filter(tool="Claude Code", user_key="email:ann@example.com")
    assert {d.day.day: d.sessions for d in days} == {2: 3, 3: 6, 4: 3}


def _json_metrics(*, name: str, value: int, attributes: dict[str, str], time_ns: int | None = None) -> dict:
    moment = time_ns or int(datetime(2026, 11, 3, 15, tzinfo=UTC).timestamp() * 1e9)
    return {
        "resourceMetrics": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "gemini-cli"}}]},
                "scopeMetrics": [
                    {
                        "scope": {"name": "gemini-cli"},
                        "metrics": [
                            {
                                "name": name,
                                "unit": "1",
                                "sum": {
                                    "aggregationTemporality": 1,
                                    "isMonotonic": True,
                                    "dataPoints": [
                                        {
                                            "attributes": [
                                                {"key": k, "value": {"stringValue": v}}
                                                for k, v in attributes.items()
                                            ],
                                            "startTimeUnixNano": str(moment - 60_000_000_000),
                                            "timeUnixNano": str(moment),
                                            "asInt": str(value),
                                        }
                                    ],
                                },
                            }
                        ],
                    }
                ],
            }
        ]
    }


def _post(base: str, signal: str, body: Any, *, token: str = TOKEN, **headers: str) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(
        f"{base}/v1/{signal}",
        data=data,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers},
        timeout=TIMEOUT,
    )


def test_json_encoding_gemini_cli_and_gzip(base: str) -> None:
    bob = {"user.email": "bob@example.com", "type": "added"}
    response = _post(
        base, "metrics", _json_metrics(name="gemini_cli.lines.changed", value=42, attributes=bob)
    )
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    zipped = gzip.compress(
        json.dumps(
            _json_metrics(name="gemini_cli.lines.changed", value=8, attributes={**bob, "type": "removed"})
        ).encode()
    )
    assert _post(base, "metrics", zipped, **{"Content-Encoding": "gzip"}).status_code == 200
    day = AIUsageDay.objects.get(tool="Gemini CLI", user_key="email:bob@example.com")
    assert (str(day.day), day.lines_added, day.lines_removed) == ("2026-11-03", 42, 8)


def test_json_logs_codex_decisions_and_unknown_events(base: str) -> None:
    moment = int(datetime(2026, 11, 4, 9, tzinfo=UTC).timestamp() * 1e9)

    def record(event: str, seconds: int, **attributes: str) -> dict:
        pairs = {"event.name": event, "user.email": "cy@example.com", **attributes}
        return {
            "timeUnixNano": str(moment + seconds * 1_000_000_000),
            "body": {"stringValue": event},
            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in pairs.items()],
        }

    body = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "codex_cli_rs"}}]
                },
                "scopeLogs": [
                    {
                        "logRecords": [
                            record("codex.tool_decision", 1, decision="approved"),
                            record("codex.tool_decision", 2, decision="approved"),
                            record("codex.tool_decision", 3, decision="denied"),
                            record("codex.conversation_starts", 4),
                            record("codex.something_new", 5),
                        ]
                    }
                ],
            }
        ]
    }
    assert _post(base, "logs", body).status_code == 200
    day = AIUsageDay.objects.get(tool="Codex", user_key="email:cy@example.com")
    assert (day.tool_accepts, day.tool_rejects, day.sessions) == (2, 1, 1)
    assert (
        TelemetryPoint.objects.filter(
            series__signal="log", series__name="codex.something_new", series__tool=""
        ).count()
        == 1
    )


def test_sdk_log_exporter_codex_and_claude_code_events(base: str) -> None:
    """The official OTLPLogExporter (protobuf): Codex decisions count; Claude Code's events are stored raw
    (their numbers are counted by its metrics, so they feed no usage field)."""
    provider = LoggerProvider(resource=Resource.create({"service.name": "codex_cli_rs"}))
    exporter = OTLPLogExporter(
        endpoint=f"{base}/v1/logs", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=TIMEOUT
    )
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("codex")
    now = time.time_ns()
    for n, decision in enumerate(("approved", "denied", "approved")):
        attributes = {"user.email": "dee@example.com", "decision": decision, "event.sequence": n}
        logger.emit(LogRecord(timestamp=now + n, event_name="codex.tool_decision", attributes=attributes))
    logger.emit(
        LogRecord(timestamp=now, event_name="claude_code.api_request", attributes={**ANN, "cost_usd": 0.02})
    )
    provider.force_flush()
    provider.shutdown()
    day = AIUsageDay.objects.get(tool="Codex", user_key="email:dee@example.com")
    assert (day.tool_accepts, day.tool_rejects) == (2, 1)
    raw = TelemetryPoint.objects.select_related("series").get(series__name="claude_code.api_request")
    assert (raw.series.signal, raw.series.tool, raw.series.attributes["cost_usd"]) == ("log", "", 0.02)
    assert not AIUsageDay.objects.filter(tool="Claude Code").exists()


def test_bad_token_malformed_and_oversized_bodies_store_nothing(base: str, settings: Any) -> None:
    body = _json_metrics(name="claude_code.commit.count", value=1, attributes=ANN)
    assert _export(base, claude_day, token="wrong-token-123") == MetricExportResult.FAILURE
    assert _post(base, "metrics", body, token="wrong-token-123").status_code == 401
    assert requests.post(f"{base}/v1/metrics", json=body, timeout=TIMEOUT).status_code == 401  # no token
    assert _post(base.replace("/tools", "/nope"), "metrics", body).status_code == 401  # no such source
    bad = _post(base, "metrics", b'{"resourceMetrics": [{"scopeMetrics": 7}]}')
    assert bad.status_code == 400 and "not a valid OTLP" in bad.json()["message"]
    assert (
        _post(base, "metrics", b"\x0a\xff\xff", **{"Content-Type": "application/x-protobuf"}).status_code
        == 400
    )
    assert _post(base, "metrics", b"not gzip", **{"Content-Encoding": "gzip"}).status_code == 400
    cut = gzip.compress(json.dumps(body).encode())[:-12]  # the stream's end (and its checksum) missing
    assert _post(base, "metrics", cut, **{"Content-Encoding": "gzip"}).status_code == 400
    no_time = _json_metrics(name="claude_code.commit.count", value=1, attributes=ANN)
    no_time["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["sum"]["dataPoints"][0].pop("timeUnixNano")
    assert _post(base, "metrics", no_time).status_code == 400
    settings.OTLP_MAX_BYTES = 2000
    big = _json_metrics(name="claude_code.commit.count", value=1, attributes={**ANN, "pad": "x" * 3000})
    assert _post(base, "metrics", big).status_code == 413
    bomb = gzip.compress(b" " * 50_000 + json.dumps(body).encode())  # small on the wire, large unzipped
    assert (
        len(bomb) < 2000 and _post(base, "metrics", bomb, **{"Content-Encoding": "gzip"}).status_code == 413
    )
    assert TelemetryPoint.objects.count() == 0 and AIUsageDay.objects.count() == 0
    assert not TelemetrySeries.objects.exists()
