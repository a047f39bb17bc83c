"""OTLP/HTTP request bodies as telemetry points: decoding (protobuf or JSON, gzip) and the known names.

Pure functions, no Django: the receiver (``metrics/ingestion/otlp_receiver.py``) authenticates, limits
sizes and stores; this module turns an ``ExportMetricsServiceRequest`` / ``ExportLogsServiceRequest``
(opentelemetry-proto; the OTLP/HTTP specification: https://opentelemetry.io/docs/specs/otlp/#otlphttp) into
``Point`` values and says which tool, person and usage field each belongs to.

* Metrics: every data point of a sum or gauge (its value), and of a histogram (its sum), with the
  resource's, the scope's and the point's attributes merged (the point's win).  ``cumulative`` is true for a
  sum with cumulative temporality: its value is a running total since ``start_ns``.
* Logs: every log record, value 1, named by its ``event_name`` (else its ``event.name`` attribute, else
  the body when a string, else ``log``); numbers among its attributes stay in ``attributes``.
* ``series``: sha256 of signal, name and attributes (minus the per-export noise of ``session.id``-free
  timestamps): the same series sent again has the same key, so a retried export stores nothing twice.

Known names (``KNOWN``) map a point to (tool, usage field); the person is ``user.email``, else
``user.account_uuid`` / ``user.id``.  Unknown names are stored too, with an empty tool.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
CLAUDE_CODE, GEMINI_CLI, CODEX = "Claude Code", "Gemini CLI", "Codex"


class OtlpError(Exception):
    """A request the receiver must refuse; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Mapping:
    """A known name: its tool, and the usage field each point feeds (``by`` an attribute's value)."""

    tool: str
    field: str = ""  # a usage field, when it does not depend on an attribute
    by: str = ""  # the attribute whose value picks the field
    fields: dict[str, str] = dataclasses.field(default_factory=dict)  # attribute value -> usage field
    model_field: str = ""  # the per-model field (cost, input_tokens, ...) fed too, from ``model``


KNOWN: dict[str, Mapping] = {
    # Claude Code (https://docs.claude.com/en/docs/claude-code/monitoring-usage)
    "claude_code.session.count": Mapping(CLAUDE_CODE, "sessions"),
    "claude_code.lines_of_code.count": Mapping(
        CLAUDE_CODE, by="type", fields={"added": "lines_added", "removed": "lines_removed"}
    ),
    "claude_code.commit.count": Mapping(CLAUDE_CODE, "commits"),
    "claude_code.pull_request.count": Mapping(CLAUDE_CODE, "pull_requests"),
    "claude_code.cost.usage": Mapping(CLAUDE_CODE, "cost", model_field="cost"),
    "claude_code.token.usage": Mapping(
        CLAUDE_CODE,
        by="type",
        fields={
            "input": "input_tokens",
            "output": "output_tokens",
            "cacheRead": "cache_read_tokens",
            "cacheCreation": "cache_write_tokens",
        },
        model_field="*",
    ),
    "claude_code.code_edit_tool.decision": Mapping(
        CLAUDE_CODE, by="decision", fields={"accept": "tool_accepts", "reject": "tool_rejects"}
    ),
    "claude_code.active_time.total": Mapping(CLAUDE_CODE, "active_seconds"),
    # Gemini CLI (https://github.com/google-gemini/gemini-cli/blob/main/docs/cli/telemetry.md)
    "gemini_cli.session.count": Mapping(GEMINI_CLI, "sessions"),
    "gemini_cli.lines.changed": Mapping(
        GEMINI_CLI, by="type", fields={"added": "lines_added", "removed": "lines_removed"}
    ),
    "gemini_cli.token.usage": Mapping(
        GEMINI_CLI,
        by="type",
        fields={"input": "input_tokens", "output": "output_tokens", "cache": "cache_read_tokens"},
        model_field="*",
    ),
    "gemini_cli.api.request.count": Mapping(GEMINI_CLI, "requests"),
    "gemini_cli.tool.call.count": Mapping(
        GEMINI_CLI, by="decision", fields={"accept": "tool_accepts", "reject": "tool_rejects"}
    ),
    # Codex CLI log events (https://github.com/openai/codex/blob/main/docs/config.md#otel)
    "codex.conversation_starts": Mapping(CODEX, "sessions"),
    "codex.api_request": Mapping(CODEX, "requests"),
    "codex.tool_decision": Mapping(
        CODEX,
        by="decision",
        fields={
            "approved": "tool_accepts",
            "approved_for_session": "tool_accepts",
            "denied": "tool_rejects",
            "abort": "tool_rejects",
        },
    ),
}
USER_ATTRIBUTES = ("user.email", "user.account_uuid", "user.account_id", "user.id")
USAGE_FIELDS = (
    "sessions",
    "lines_added",
    "lines_removed",
    "commits",
    "pull_requests",
    "requests",
    "tool_accepts",
    "tool_rejects",
    "input_tokens",
    "output_tokens",
)
MODEL_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost")
# What the known names and person attributes above decide, as a short digest: a series stored under another
# version is classified again when it is next sent (the receiver keeps what a series feeds with it).
KNOWN_VERSION = hashlib.sha256(
    json.dumps(
        [sorted((name, dataclasses.asdict(m)) for name, m in KNOWN.items()), USER_ATTRIBUTES], sort_keys=True
    ).encode("utf-8")
).hexdigest()[:16]


class Point(NamedTuple):  # a tuple: the cheapest object to make, some hundred thousand a minute
    signal: str  # metric | log
    name: str
    series: str
    start_ns: int
    time_ns: int
    value: float
    cumulative: bool
    unit: str
    attributes: dict[str, Any]

    @property
    def day(self) -> date:
        return _day_of(self.time_ns)

    @property
    def mapping(self) -> Mapping | None:
        return KNOWN.get(self.name)

    @property
    def tool(self) -> str:
        mapping = self.mapping
        return mapping.tool if mapping is not None else ""

    @property
    def user(self) -> tuple[str, str]:
        """("email", x) or ("login", x) for the person, or ("", "") when the point names nobody."""
        for name in USER_ATTRIBUTES:
            value = str(self.attributes.get(name) or "").strip()
            if value:
                return ("email", value) if name == "user.email" and "@" in value else ("login", value)
        return "", ""

    @property
    def usage_field(self) -> str:
        mapping = self.mapping
        if mapping is None:
            return ""
        if mapping.by:
            return mapping.fields.get(str(self.attributes.get(mapping.by, "")), "")
        return mapping.field

    @property
    def model_field(self) -> str:
        mapping = self.mapping
        if mapping is None or not mapping.model_field:
            return ""
        return self.usage_field if mapping.model_field == "*" else mapping.model_field


@lru_cache(maxsize=4096)
def _day_of(time_ns: int) -> date:
    """The UTC day of a point's time (cached: the points of one export share their time)."""
    return datetime.fromtimestamp(time_ns / 1e9, tz=UTC).date()


def _value(any_value: AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(any_value.kvlist_value.values)
    if kind == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, kind)


def _attributes(items: Any) -> dict[str, Any]:
    attributes = {}
    for kv in items:
        if isinstance(kv, KeyValue):
            value = kv.value
            # Most attributes are strings: read them without the general case's calls.
            is_string = value.WhichOneof("value") == "string_value"
            attributes[kv.key] = value.string_value if is_string else _value(value)
    return attributes


_SERIES_TEXT = json.JSONEncoder(sort_keys=True, default=str, separators=(",", ":")).encode  # one encoder


def _series(signal: str, name: str, attributes: dict[str, Any]) -> str:
    for value in attributes.values():
        if type(value) is not str:  # 1, 1.0 and True are equal keys of a cache, not the same text
            return _series_text(signal, name, attributes)
    return _series_of(signal, name, tuple(attributes.items()))


@lru_cache(maxsize=16384)
def _series_of(signal: str, name: str, items: tuple[tuple[str, str], ...]) -> str:
    """The series key of string attributes given as items (remembered: an exporter sends the same series
    in every export, and the key costs a sorted JSON text and a hash)."""
    return _series_text(signal, name, dict(items))


def _series_text(signal: str, name: str, attributes: dict[str, Any]) -> str:
    text = _SERIES_TEXT([signal, name, attributes])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def decode(signal: str, body: bytes, *, content_type: str, content_encoding: str, max_bytes: int) -> Any:
    """The export request in ``body``; raises OtlpError 400 (malformed), 413 (too large), 415 (type)."""
    encoding = content_encoding.strip().lower()
    if encoding == "gzip":
        try:
            stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
            body = stream.decompress(body, max_bytes + 1)
            if len(body) > max_bytes or stream.unconsumed_tail:
                raise OtlpError(413, f"the decompressed body is larger than {max_bytes} bytes")
            if not stream.eof:  # a cut-off stream would parse as a part of the request
                raise OtlpError(400, "the gzip body is truncated")
        except (zlib.error, gzip.BadGzipFile, EOFError) as exc:
            raise OtlpError(400, f"the body is not valid gzip ({exc})") from None
    elif encoding not in ("", "identity"):
        raise OtlpError(415, f"Content-Encoding {content_encoding!r} is not supported (gzip or none)")
    message = ExportMetricsServiceRequest() if signal == "metrics" else ExportLogsServiceRequest()
    media = content_type.split(";")[0].strip().lower()
    try:
        if media == PROTOBUF:
            message.ParseFromString(body)
        elif media == JSON:
            json_format.Parse(body.decode("utf-8"), message, ignore_unknown_fields=True)
        else:
            raise OtlpError(415, f"Content-Type {content_type!r} is not supported ({PROTOBUF} or {JSON})")
    except (DecodeError, json_format.ParseError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        kind = "protobuf" if media == PROTOBUF else "JSON"
        raise OtlpError(400, f"the body is not a valid OTLP {signal} request ({kind}: {exc})"[:300]) from None
    return message


def response_body(signal: str, content_type: str) -> tuple[bytes, str]:
    """The success answer, in the request's encoding (an empty ``Export*ServiceResponse``)."""
    message = ExportMetricsServiceResponse() if signal == "metrics" else ExportLogsServiceResponse()
    if content_type.split(";")[0].strip().lower() == JSON:
        return json_format.MessageToJson(message).encode("utf-8"), JSON
    return message.SerializeToString(), PROTOBUF


def metric_points(request: ExportMetricsServiceRequest) -> Iterator[Point]:
    for resource_metrics in request.resource_metrics:
        resource = _attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = _attributes(scope_metrics.scope.attributes)
            for metric in scope_metrics.metrics:
                yield from _metric(metric, {**resource, **scope})


def _metric(metric: Any, inherited: dict[str, Any]) -> Iterator[Point]:
    kind = metric.WhichOneof("data")
    name = metric.name
    named = (name, name[:200], metric.unit[:50])
    if kind in ("sum", "gauge"):
        data = getattr(metric, kind)
        cumulative = kind == "sum" and (
            data.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
        )
        for point in data.data_points:
            value = point.as_double if point.WhichOneof("value") == "as_double" else float(point.as_int)
            yield _point(named, inherited, point, value, cumulative)
    elif kind in ("histogram", "exponential_histogram"):
        data = getattr(metric, kind)
        cumulative = data.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
        for point in data.data_points:
            yield _point(named, inherited, point, float(point.sum), cumulative)
    elif kind == "summary":
        for point in metric.summary.data_points:
            yield _point(named, inherited, point, float(point.sum), True)


def _point(
    named: tuple[str, str, str], inherited: dict[str, Any], point: Any, value: float, cumulative: bool
) -> Point:
    """One data point of a metric; ``named``: the metric's name, its stored name and unit (cut to size)."""
    name, stored, unit = named
    attributes = {**inherited, **_attributes(point.attributes)}
    time_ns = int(point.time_unix_nano)
    if not time_ns:
        raise OtlpError(400, f"a data point of {name!r} has no time_unix_nano")
    series = _series("metric", name, attributes)
    return Point(
        "metric",
        stored,
        series,
        int(point.start_time_unix_nano),
        time_ns,
        value,
        cumulative,
        unit,
        attributes,
    )


def log_points(request: ExportLogsServiceRequest) -> Iterator[Point]:
    for resource_logs in request.resource_logs:
        resource = _attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            scope = _attributes(scope_logs.scope.attributes)
            for record in scope_logs.log_records:
                attributes = {**resource, **scope, **_attributes(record.attributes)}
                body = _value(record.body)
                event = record.event_name or attributes.get("event.name")
                name = str(event or (body if isinstance(body, str) and body else "log"))
                moment = int(record.time_unix_nano or record.observed_time_unix_nano)
                if not moment:
                    raise OtlpError(400, f"log record {name!r} has neither time_unix_nano nor observed_time")
                identity = {
                    **attributes,
                    "_body": body,
                    "_trace": record.trace_id.hex(),
                    "_span": record.span_id.hex(),
                }
                yield Point(
                    signal="log",
                    name=name[:200],
                    series=_series("log", name, identity),
                    start_ns=0,
                    time_ns=moment,
                    value=1.0,
                    cumulative=False,
                    unit="",
                    attributes=attributes,
                )
