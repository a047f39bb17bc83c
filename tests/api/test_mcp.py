"""The read-only MCP server at /mcp, driven by the official MCP client (``mcp.ClientSession`` over
``streamable_http_client``) against the live Django server on 127.0.0.1, on the demo organization.

Each tool's rows are compared with the REST export's rows for the same filters and the same token (one
set of access rules, one privacy floor); a viewer's token must never receive a person's name or money;
a revoked token gets a 401 and nothing else; every call is in the audit log.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.test import Client
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from metrics.api.mcp import AUDIT_TYPE, TOOLS
from metrics.api.tokens import api_token_create, api_token_revoke
from metrics.core.models import AuditLog, Person, Team
from metrics.ingestion.models import AIRoiMonth
from tests.fakes.gunicorn import gunicorn

ROOT = Path(__file__).resolve().parents[2]
TOOL_NAMES = {"list_teams", "team_metrics", "ai_impact", "ai_roi", "find_pull_requests"}
MONEY = ("spend", "measured_net", "measured_net_low", "measured_net_high", "reported_net")


@pytest.fixture
def demo(transactional_db: None) -> None:
    call_command("load_demo", "--seed", "7", "--small", stdout=StringIO(), stderr=StringIO())


async def _session_calls(url: str, raw: str, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Initialize, list the tools, make the calls: {"tools": [...], call index: CallToolResult}."""
    out: dict[str, Any] = {}
    async with (
        httpx.AsyncClient(headers={"Authorization": f"Bearer {raw}"}, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        out["tools"] = (await session.list_tools()).tools
        for i, (name, arguments) in enumerate(calls):
            out[i] = await session.call_tool(name, arguments)
    return out


def mcp(url: str, raw: str, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    # In a thread of its own: Playwright's sync API (the browser tests) may keep a loop on this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _session_calls(f"{url}/mcp", raw, calls)).result()


def api(raw: str, path: str) -> list[dict[str, Any]]:
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(f"/api/v1/{path}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _team() -> Team:
    team = Team.objects.filter(parent__isnull=False).order_by("slug").first()
    assert team is not None
    return team


def _calls(team: Team) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("list_teams", {}),
        ("team_metrics", {"team": team.slug, "period": "month", "metric": "merged_prs"}),
        ("ai_impact", {"scope": "organization", "outcome": "cycle_time"}),
        ("ai_roi", {"limit": 200}),
        ("find_pull_requests", {"team": team.slug, "state": "merged", "limit": 50}),
    ]


def _rows(result: Any) -> list[dict[str, Any]]:
    assert not result.isError, result.content
    # The structured content and its JSON text are the same rows.
    assert json.loads(result.content[0].text) == result.structuredContent
    return result.structuredContent["rows"]


def test_admin_lists_the_tools_and_each_call_matches_the_api(live_server: Any, demo: None) -> None:
    token, raw = api_token_create(name="assistant", role="admin")
    team = _team()
    got = mcp(live_server.url, raw, _calls(team))
    assert {t.name for t in got["tools"]} == TOOL_NAMES == set(TOOLS)
    assert all(t.description and t.inputSchema["type"] == "object" for t in got["tools"])

    teams, metrics, impact, roi, prs = (_rows(got[i]) for i in range(5))
    assert teams == sorted(api(raw, "teams/?limit=1000"), key=lambda r: r["id"])
    expected_metrics = api(raw, f"metrics/?team={team.slug}&period=month&scope=team&metric=merged_prs")
    key = lambda r: (r["period_start"], r["metric"])  # noqa: E731
    assert sorted(metrics, key=key) == sorted(expected_metrics, key=key) and metrics
    assert impact == api(raw, "ai-impact/?scope=organization&outcome=cycle_time") and impact
    assert roi == sorted(api(raw, "ai-roi/?limit=1000"), key=lambda r: (r["month"], r["id"]))[:200] and roi
    expected_prs = api(raw, f"pull-requests/?team={team.slug}&state=merged&limit=1000")
    assert {r["id"] for r in prs} <= {r["id"] for r in expected_prs} and len(prs) == min(
        50, len(expected_prs)
    )
    by_id = {r["id"]: r for r in expected_prs}
    assert all(r == by_id[r["id"]] for r in prs)
    # An admin does receive names and money: the viewer test below could fail.
    assert all(r["author"] and r["head_branch"] for r in prs) and any(r["spend"] is not None for r in roi)

    audited = list(AuditLog.objects.filter(object_type=AUDIT_TYPE).order_by("id"))
    assert [(a.action, a.object_id) for a in audited] == [("mcp_list", "*")] + [
        ("mcp_call", name) for name, _ in _calls(team)
    ]
    assert all(a.changes["token"] == token.prefix and a.changes["role"] == "admin" for a in audited)
    assert audited[2].changes["arguments"] == _calls(team)[1][1]
    assert audited[2].changes["outcome"] == f"ok: {len(metrics)} rows"
    assert not any(raw in json.dumps(a.changes) or raw in a.object_repr for a in audited)
    # No event stream offered (stateless): GET is a 405, as the transport specification asks.
    stream = httpx.get(f"{live_server.url}/mcp", headers={"Authorization": f"Bearer {raw}"})
    assert stream.status_code == 405 and "POST" in stream.headers["Allow"]


def test_a_viewer_token_never_receives_names_or_money(live_server: Any, demo: None) -> None:
    _token, raw = api_token_create(name="viewer assistant", role="viewer")
    team = _team()
    got = mcp(live_server.url, raw, _calls(team))
    everything = json.dumps([got[i].structuredContent for i in range(5)])
    names = [p.display_name for p in Person.objects.filter(is_bot=False) if len(p.display_name) >= 4]
    assert names and not [n for n in names if n in everything]
    # The privacy floor of the API: the same metric rows as the viewer's /api/v1/metrics/.
    expected = api(raw, f"metrics/?team={team.slug}&period=month&scope=team&metric=merged_prs")
    key = lambda r: (r["period_start"], r["metric"])  # noqa: E731
    assert sorted(_rows(got[1]), key=key) == sorted(expected, key=key)
    roi, prs = _rows(got[3]), _rows(got[4])
    assert roi and all(r[m] is None for r in roi for m in MONEY)
    assert AIRoiMonth.objects.filter(spend__isnull=False).exists()  # there was money to hide
    assert prs and all(r["author"] is None and r["head_branch"] is None for r in prs)


def test_team_scope_and_bad_arguments_are_refused_by_name(live_server: Any, demo: None) -> None:
    team = _team()
    other = Team.objects.exclude(pk=team.pk).exclude(parent=team).exclude(pk=team.parent_id).first()
    assert other is not None
    _token, raw = api_token_create(name="scoped", role="manager", team_slugs=[team.slug])
    got = mcp(
        live_server.url,
        raw,
        [
            ("team_metrics", {"team": other.slug, "period": "week"}),
            ("team_metrics", {"team": team.slug, "period": "fortnight"}),
            ("find_pull_requests", {"since": "yesterday"}),
            ("list_teams", {}),
        ],
    )
    assert (
        got[0].isError
        and f"team: {other.slug!r} is outside this token's team scope" in got[0].content[0].text
    )
    assert got[1].isError and got[1].content[0].text.startswith("period:")
    assert got[2].isError and got[2].content[0].text.startswith("since:")
    assert {r["slug"] for r in _rows(got[3])} == {team.slug} | {
        t.slug for t in Team.objects.filter(parent=team)
    }
    outcomes = list(
        AuditLog.objects.filter(object_type=AUDIT_TYPE, action="mcp_call").values_list("changes", flat=True)
    )
    assert sum(c["outcome"].startswith("refused") for c in outcomes) == 3


def test_a_revoked_or_unknown_token_gets_nothing(live_server: Any, demo: None) -> None:
    token, raw = api_token_create(name="gone", role="admin")
    api_token_revoke(tokens=[token])
    with pytest.raises(BaseException) as caught:  # the client's task group wraps the HTTP error
        mcp(live_server.url, raw, [("list_teams", {})])
    assert "401" in repr(caught.value.exceptions if hasattr(caught.value, "exceptions") else caught.value)
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "list_teams", "arguments": {}},
    }
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    for authorization in ({"Authorization": f"Bearer {raw}"}, {"Authorization": "Bearer sxt_0_unknown"}, {}):
        response = httpx.post(f"{live_server.url}/mcp", json=body, headers={**headers, **authorization})
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
        assert set(response.json()) == {"detail"}
        assert not any(t.slug in response.text for t in Team.objects.all())
    # Only the revoked token's two requests are recorded (an unknown token has no one to name).
    audited = AuditLog.objects.filter(object_type=AUDIT_TYPE)
    assert [(a.action, a.changes["token"]) for a in audited] == [("mcp_denied", token.prefix)] * 2


def test_mcp_shares_the_tokens_api_rate(live_server: Any, transactional_db: None, monkeypatch: Any) -> None:
    monkeypatch.setenv("SEXTANT_API_RATE", "3/min")
    _token, raw = api_token_create(name="busy", role="viewer")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert [client.get("/api/v1/teams/").status_code for _ in range(2)] == [200, 200]
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream", "Authorization": f"Bearer {raw}"}
    first = httpx.post(f"{live_server.url}/mcp", json=body, headers=headers)
    assert first.status_code == 200 and [t["name"] for t in first.json()["result"]["tools"]]
    throttled = httpx.post(f"{live_server.url}/mcp", json=body, headers=headers)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1


SETUP = """
import json
from metrics.api.tokens import api_token_create, api_token_revoke
from tests.factories import make_team
make_team(name="Payments", slug="payments")
make_team(name="Search", slug="search")
_, admin = api_token_create(name="gunicorn admin", role="admin")
gone, revoked = api_token_create(name="gunicorn revoked", role="admin")
api_token_revoke(tokens=[gone])
print(json.dumps({"admin": admin, "revoked": revoked}))
"""


def test_mcp_under_gunicorn_as_the_docker_image_runs_it(tmp_path: Path) -> None:
    """docker/entrypoint.sh's gunicorn (metrics/gunicorn_conf.py: gthread workers) serves /mcp too."""
    env = {**os.environ, "SEXTANT_VAR_DIR": str(tmp_path / "var"), "GUNICORN_WORKERS": "2"}
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, capture_output=True)
    made = subprocess.run([*manage, "shell", "-c", SETUP], cwd=ROOT, env=env, check=True, capture_output=True)
    tokens = json.loads(made.stdout.decode().strip().splitlines()[-1])
    with gunicorn(env) as base:
        got = mcp(
            base,
            tokens["admin"],
            [("list_teams", {}), ("team_metrics", {"team": "search", "period": "week"})],
        )
        assert {t.name for t in got["tools"]} == TOOL_NAMES
        assert [r["slug"] for r in _rows(got[0])] == ["payments", "search"]
        assert _rows(got[1]) == []  # no snapshots yet: an empty answer, not an error
        refused = httpx.post(f"{base}/mcp", json={}, headers={"Authorization": f"Bearer {tokens['revoked']}"})
        assert refused.status_code == 401 and refused.json() == {"detail": "API token revoked."}
