"""A read-only MCP server at ``/mcp`` (the official ``mcp`` Python SDK, streamable HTTP transport).

AI assistants ask Sextant for figures through the Model Context Protocol.  The server is the SDK's
low-level ``Server`` behind its ``StreamableHTTPSessionManager`` in stateless JSON mode (each HTTP request
is a whole exchange: no session to keep between gunicorn workers), mounted in the Django app as one view,
so it runs wherever Sextant's web process runs (``make run``'s runserver, gunicorn in docker/, ASGI).

- Authentication: ``Authorization: Bearer <API token>``, the API's own tokens, checked before the SDK sees
  the request (a missing, unknown or revoked token gets a 401 and nothing else), counted in the one
  sign-in throttle like the API's bearer tokens; requests share the token's API rate
  (``SEXTANT_API_RATE``).
- Access: the token's ``Access`` (``metrics/core/access.py``); every tool reads through the API's
  selectors and columns (``metrics/api/selectors.py``, ``columns.py``), so the team scope, the privacy
  floor (``MIN_GROUP_SIZE``), names (admin and manager tokens only) and money (not for viewers) follow
  exactly the rules of ``/api/v1/``.  Filters are the API's filter serializers: a bad value is an error
  naming the argument.
- Audit: every tool call and tool listing is an ``AuditLog`` row (``object_type`` ``mcp.tool``) with the
  token's prefix, the arguments and the outcome, and so is each request of a revoked token; the token
  itself never.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema
from asgiref.sync import async_to_sync, sync_to_async
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from rest_framework import serializers

from metrics.api import column_types as coltypes
from metrics.api import columns as cols
from metrics.api import filters as flt
from metrics.api import selectors
from metrics.api.access import TokenRateThrottle
from metrics.api.models import ApiToken
from metrics.api.tokens import api_token_find, api_token_touch
from metrics.core import access as core_access
from metrics.core import auth_throttle
from metrics.core.access import Access
from metrics.core.models import AuditLog

MAX_ROWS = 200  # per tool call; ``truncated`` says when more matched
AUDIT_TYPE = "mcp.tool"


@dataclass(frozen=True)
class Caller:
    token: ApiToken
    access: Access


_caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("sextant_mcp_caller")


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    properties: dict[str, Any]
    required: tuple[str, ...]
    filter_class: type[serializers.Serializer]
    selector: Callable[[Access, dict[str, Any]], QuerySet]
    columns: tuple[coltypes.Column, ...]
    fixed: tuple[tuple[str, str], ...] = ()  # filter values the tool always applies
    ordering: tuple[str, ...] = ("id",)

    def definition(self) -> types.Tool:
        schema = {
            "type": "object",
            "properties": self.properties,
            "required": list(self.required),
            "additionalProperties": False,
        }
        return types.Tool(name=self.name, description=self.description, inputSchema=schema)


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _enum(values: list[str] | tuple[str, ...], description: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values), "description": description}


TEAM = _text("team slug (list_teams gives them); includes its sub-teams")
LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_ROWS, "description": f"rows (at most {MAX_ROWS})"}

TOOLS = {
    t.name: t
    for t in (
        Tool(
            "list_teams",
            "The teams this token may see: slug, name, parent.",
            {"team": TEAM, "limit": LIMIT},
            (),
            flt.TeamFilter,
            selectors.team_rows,
            cols.TEAMS,
        ),
        Tool(
            "team_metrics",
            "A team's metric values per ISO week or calendar month (long format: metric, value, n, "
            "provisional).  Groups below the privacy floor are left out.",
            {
                "team": TEAM,
                "period": _enum(("week", "month"), "week (ISO, Monday) or month"),
                "since": _text("first period_start, YYYY-MM-DD"),
                "until": _text("last period_start, YYYY-MM-DD"),
                "metric": _text("one metric name, e.g. cycle_time_p50 (default: all)"),
                "limit": LIMIT,
            },
            ("team", "period"),
            flt.MetricFilter,
            selectors.metric_rows,
            cols.METRICS,
            fixed=(("scope", "team"),),
            ordering=("period_start", "metric", "id"),
        ),
        Tool(
            "ai_impact",
            "Effect of AI assistance on cycle time and revert rate, with 95% intervals and n "
            "(organization, or one team).",
            {
                "team": TEAM,
                "scope": _enum(("organization", "team"), "organization or team estimates"),
                "outcome": _enum(("cycle_time", "revert_rate", "detection_coverage"), "which outcome"),
                "method": _enum(("adjusted", "naive", "did", "coverage"), "which estimator"),
                "limit": LIMIT,
            },
            (),
            flt.AIImpactFilter,
            selectors.ai_impact_rows,
            cols.AI_IMPACT,
        ),
        Tool(
            "ai_roi",
            "AI ROI per month and tool: hours saved (measured and self-reported, with intervals), seats, "
            "spend and net value (money only for admin, manager and executive tokens).",
            {
                "team": TEAM,
                "tool": _text("AI tool key, e.g. copilot"),
                "since": _text("first month, YYYY-MM-DD"),
                "until": _text("last month, YYYY-MM-DD"),
                "limit": LIMIT,
            },
            (),
            flt.AIRoiFilter,
            selectors.ai_roi_rows,
            cols.AI_ROI,
            ordering=("month", "id"),
        ),
        Tool(
            "find_pull_requests",
            "Pull requests by filters, newest merge first: repository, state, AI flags, phase spans in "
            "hours; the author (a pseudonym) and branch only for admin and manager tokens.",
            {
                "team": TEAM,
                "repository": _text("owner/name"),
                "state": _enum(("open", "merged", "closed"), "PR state"),
                "ai_assisted": {"type": "boolean", "description": "AI-assisted PRs only (or only not)"},
                "is_bot": {"type": "boolean", "description": "bot PRs only (or only not)"},
                "since": _text("merged at or after (YYYY-MM-DD or ISO 8601)"),
                "until": _text("merged at or before (YYYY-MM-DD or ISO 8601)"),
                "limit": LIMIT,
            },
            (),
            flt.PullRequestFilter,
            selectors.pull_request_rows,
            cols.PULL_REQUESTS,
            ordering=("-merged_at", "-id"),
        ),
    )
}


class ToolError(ValueError):
    """A refused or malformed call: the message names the argument."""


def _filters(tool: Tool, arguments: dict[str, Any], access: Access) -> dict[str, Any]:
    data = {k: v for k, v in arguments.items() if k != "limit"}
    data.update(dict(tool.fixed))
    parsed = tool.filter_class(data=data)
    if not parsed.is_valid():
        raise ToolError(flt._first_error(parsed.errors))
    values = dict(parsed.validated_data)
    team = values.get("team")
    if team is not None and not access.allows_team(team.id):
        raise ToolError(f"team: {team.slug!r} is outside this token's team scope")
    return values


def run_tool(name: str, arguments: dict[str, Any], access: Access) -> dict[str, Any]:
    """The rows ``access`` may read: the API's selector, columns and serializer (same fields, same nulls)."""
    tool = TOOLS.get(name)
    if tool is None:
        raise ToolError(f"unknown tool {name!r}; tools: {', '.join(TOOLS)}")
    limit = int(arguments.get("limit") or MAX_ROWS)
    if not 1 <= limit <= MAX_ROWS:
        raise ToolError(f"limit: must be between 1 and {MAX_ROWS}")
    rows = tool.selector(access, _filters(tool, arguments, access)).order_by(*tool.ordering)
    fields = coltypes.json_values(tool.columns, access)
    page = list(rows.values("id", **fields)[: limit + 1])
    serializer = coltypes.make_serializer(f"Mcp{tool.name}", tool.columns)
    out = coltypes.json_rows(serializer, page[:limit])
    # Dates, decimals: JSON text the client can read (the structured content is plain JSON).
    return {"rows": json.loads(json.dumps(out, cls=DjangoJSONEncoder)), "truncated": len(page) > limit}


def _audit(caller: Caller, action: str, tool: str, arguments: dict[str, Any], outcome: str) -> None:
    token = caller.token
    AuditLog.objects.create(
        actor_id=token.created_by_id,
        action=action,
        object_type=AUDIT_TYPE,
        object_id=tool,
        object_repr=f"API token {token.prefix} ({token.name})"[:300],
        changes={
            "token": token.prefix,
            "role": caller.access.role,
            "arguments": arguments,
            "outcome": outcome,
        },
    )


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    caller = _caller.get()
    try:
        tool = TOOLS.get(name)
        if tool is not None:
            try:  # here rather than in the SDK, so that a refused call is audited too
                jsonschema.validate(arguments, tool.definition().inputSchema)
            except jsonschema.ValidationError as exc:
                where = ".".join(str(p) for p in exc.absolute_path)
                raise ToolError(f"{where}: {exc.message}" if where else exc.message) from exc
        result = run_tool(name, arguments, caller.access)
    except ToolError as exc:
        _audit(caller, "mcp_call", name, arguments, f"refused: {exc}"[:500])
        raise
    _audit(caller, "mcp_call", name, arguments, f"ok: {len(result['rows'])} rows")
    return result


def _list(audited: bool) -> types.ListToolsResult:
    if audited:
        _audit(_caller.get(), "mcp_list", "*", {}, f"ok: {len(TOOLS)} tools")
    return types.ListToolsResult(tools=[t.definition() for t in TOOLS.values()])


server: Server = Server("sextant", instructions="Sextant's engineering metrics and AI ROI, read-only.")


@server.list_tools()
async def list_tools(request: types.ListToolsRequest) -> types.ListToolsResult:
    # The ORM in the request's own thread (async_to_sync below keeps it waiting for us).  The SDK also
    # lists the tools itself (request None) to look a tool up: that is not a client's call.
    return await sync_to_async(_list, thread_sensitive=True)(request is not None)


@server.call_tool(validate_input=False)
async def call_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return await sync_to_async(_call, thread_sensitive=True)(name, arguments)


async def _serve(scope: dict[str, Any], body: bytes, caller: Caller) -> tuple[int, list, bytes]:
    """One HTTP exchange through the SDK's transport (stateless, JSON responses)."""
    _caller.set(caller)
    manager = StreamableHTTPSessionManager(
        app=server,
        json_response=True,
        stateless=True,
        # Django already checked the Host header against ALLOWED_HOSTS.
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    sent = False
    status, headers, chunks = 500, [], []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], message.get("headers", [])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    async with manager.run():
        await manager.handle_request(scope, receive, send)
    return status, headers, b"".join(chunks)


def _unauthorized(message: str) -> JsonResponse:
    response = JsonResponse({"detail": message}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="mcp"'
    return response


def _token(request: HttpRequest) -> ApiToken | JsonResponse:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return _unauthorized("Authentication required: send Authorization: Bearer <API token>.")
    if auth_throttle.is_blocked(request, None):
        auth_throttle.mark_blocked(request)
        return JsonResponse({"detail": "Too many failed sign-in attempts."}, status=429)
    token = api_token_find(raw=raw.strip())
    if token is None:
        auth_throttle.record(request, None)
        return _unauthorized("Invalid API token.")
    if token.revoked_at is not None:
        # A revoked token still in use is worth knowing about: recorded, and answered with nothing.
        _audit(Caller(token, core_access.for_token(token)), "mcp_denied", "*", {}, "refused: token revoked")
        return _unauthorized("API token revoked.")
    throttle = TokenRateThrottle()  # the API's per-token bucket: one rate for /api/v1/ and /mcp
    if not throttle.allow_request(_TokenRequest(token), None):
        response = JsonResponse({"detail": "Request was throttled."}, status=429)
        response["Retry-After"] = str(max(1, int(throttle.wait() or 1)))
        return response
    api_token_touch(token=token)
    return token


@dataclass(frozen=True)
class _TokenRequest:
    """What ``TokenRateThrottle`` reads of a request: the token in ``auth``."""

    auth: ApiToken


def _scope(request: HttpRequest) -> dict[str, Any]:
    headers = [
        (key[5:].replace("_", "-").lower().encode("latin-1"), str(value).encode("latin-1"))
        for key, value in request.META.items()
        if key.startswith("HTTP_")
    ]
    for key, name in (("CONTENT_TYPE", b"content-type"), ("CONTENT_LENGTH", b"content-length")):
        if request.META.get(key):
            headers.append((name, str(request.META[key]).encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.path.encode(),
        "root_path": "",
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "server": (request.get_host().rsplit(":", 1)[0], int(request.get_port())),
        "client": (auth_throttle.client_address(request), 0),
    }


@csrf_exempt
def mcp_endpoint(request: HttpRequest) -> HttpResponse:
    """``/mcp``: the token's access, then the SDK's streamable HTTP transport."""
    token = _token(request)
    if isinstance(token, JsonResponse):
        return token
    if request.method == "GET":
        # No server-to-client event stream here (stateless): the transport's answer to GET is then 405.
        response = JsonResponse({"detail": "This MCP endpoint takes POST requests only."}, status=405)
        response["Allow"] = "POST, DELETE"
        return response
    caller = Caller(token=token, access=core_access.for_token(token))
    status, headers, body = async_to_sync(_serve)(_scope(request), request.body, caller)
    response = HttpResponse(body, status=status)
    for name, value in headers:
        key = name.decode("latin-1")
        if key.lower() not in ("content-length", "transfer-encoding", "connection"):
            response[key] = value.decode("latin-1")
    return response
