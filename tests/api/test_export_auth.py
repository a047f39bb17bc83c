"""Tokens: hashed, revocable, read-only, scoped by role (names) and teams; throttled per token."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from metrics.api.models import ApiToken
from metrics.api.sql import Pseudonym, person_pseudonym
from metrics.api.tokens import api_token_create, api_token_revoke, token_hash
from metrics.core.models import Person
from tests.api.conftest import Org, TokenClient

PR_URL = "/api/v1/pull-requests/"


def ids(client: Client, endpoint: str, key: str = "id", query: str = "") -> set:
    response = client.get(f"/api/v1/{endpoint}/{query}")
    assert response.status_code == 200, response.content
    return {row[key] for row in response.json()["results"]}


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer sxt_00000000_nope", "Bearer a b", "Token x"])
def test_missing_or_bad_token_is_refused(org: Org, header: str | None) -> None:
    client = Client(HTTP_AUTHORIZATION=header) if header else Client()
    response = client.get(PR_URL)
    assert response.status_code == 403
    assert response.json()["detail"] in {
        "Authentication credentials were not provided.",
        "Invalid API token.",
        "Malformed Authorization header: expected Bearer <token>.",
    }


def test_revoked_token_is_refused(org: Org) -> None:
    token, raw = api_token_create(name="bi", role="viewer")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(PR_URL).status_code == 200
    assert api_token_revoke(tokens=[token]) == 1
    response = client.get(PR_URL)
    assert response.status_code == 403 and response.json()["detail"] == "API token revoked."


def test_token_is_stored_hashed_and_use_is_recorded(org: Org) -> None:
    token, raw = api_token_create(name="bi", role="viewer")
    assert re.fullmatch(r"sxt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", raw)
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.token_hash == token_hash(raw) and raw not in str(ApiToken.objects.values().get(pk=token.pk))
    assert stored.last_used_at is None
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(PR_URL).status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    wrong_secret = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {wrong_secret}").get(PR_URL).status_code == 403


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_tokens_are_read_only(org: Org, token_client: TokenClient, method: str) -> None:
    response = getattr(token_client("admin"), method)(PR_URL, data={}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["detail"].startswith("The API is read-only")


def test_session_user_may_browse(org: Org, admin_client: Client) -> None:
    assert len(ids(admin_client, "pull-requests")) == 7
    page = admin_client.get(PR_URL, HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and b"acme/api" in page.content


def test_basic_auth_user_is_a_viewer(org: Org) -> None:
    get_user_model().objects.create_user(username="bi", password="bi-pass-123")
    client = Client()
    assert client.login(username="bi", password="bi-pass-123")
    names = ids(client, "people", "name")
    assert names == {None}


@pytest.mark.parametrize(
    ("role", "sees_names"),
    [
        ("admin", True),
        ("manager", True),
        ("executive", False),
        ("viewer", False),
    ],
)
def test_names_only_for_roles_that_may_see_them(
    org: Org, token_client: TokenClient, role: str, sees_names: bool
) -> None:
    client = token_client(role)
    people = client.get("/api/v1/people/").json()["results"]
    expected_keys = {person_pseudonym(p.id) for p in org.people.values()}
    assert {p["person"] for p in people} == expected_keys
    names = {p["name"] for p in people}
    assert names == ({"alice", "bob", "carol", "dependabot[bot]"} if sees_names else {None})
    branches = ids(client, "pull-requests", "head_branch")
    assert (branches == {None}) is not sees_names
    authors = ids(client, "pull-requests", "author")
    if sees_names:
        assert authors <= expected_keys and all(re.fullmatch(r"person-[0-9a-f]{12}", a) for a in authors)
    else:  # repository + number name the author on the host: no pseudonym on PR rows (issue 15, #15)
        assert authors == {None}
    csv_text = b"".join(client.get("/api/v1/people/?format=csv").streaming_content).decode()
    assert ("alice" in csv_text) is sees_names


def test_sql_pseudonym_matches_python(org: Org) -> None:
    rows = Person.objects.annotate(key=Pseudonym("id")).values_list("id", "key")
    assert all(key == person_pseudonym(pk) for pk, key in rows), connection.vendor
    assert len({key for _pk, key in rows}) == len(rows)


SCOPED = {
    "platform": {
        "pull-requests": {"api#1", "api#2", "api#3", "shared#1"},
        "reviews": 1,
        "reverts": 1,
        "deployments": 1,
        "people": 2,
        "teams": 2,
        "repositories": {"acme/api", "acme/shared"},
        "metrics": 3,
    },
    "mobile": {
        "pull-requests": {"app#1", "shared#2", "shared#3"},
        "reviews": 1,
        "reverts": 0,
        "deployments": 1,
        "people": 2,
        "teams": 1,
        "repositories": {"acme/app", "acme/shared"},
        "metrics": 2,
    },
}


@pytest.mark.parametrize("team", SCOPED)
def test_team_scoped_token_sees_only_its_teams(org: Org, token_client: TokenClient, team: str) -> None:
    client = token_client("manager", teams=(team,))
    names = {pr.id: key for key, pr in org.prs.items()}
    expected = SCOPED[team]
    assert {names[i] for i in ids(client, "pull-requests")} == expected["pull-requests"]
    assert ids(client, "repositories", "full_name") == expected["repositories"]
    for endpoint in ("reviews", "reverts", "deployments", "people", "teams", "metrics"):
        response = client.get(f"/api/v1/{endpoint}/")
        assert len(response.json()["results"]) == expected[endpoint], endpoint
    metrics = client.get("/api/v1/metrics/").json()["results"]
    assert "organization" not in {m["scope"] for m in metrics}
    csv_lines = b"".join(client.get(f"{PR_URL}?format=csv").streaming_content).decode().splitlines()
    assert len(csv_lines) == 1 + len(expected["pull-requests"])


def test_out_of_scope_team_filter_is_403(org: Org, token_client: TokenClient) -> None:
    client = token_client("admin", teams=("platform-api",))
    for endpoint in ("pull-requests", "metrics", "people", "teams"):
        response = client.get(f"/api/v1/{endpoint}/?team=mobile")
        assert response.status_code == 403
        assert response.json()["detail"] == "team: 'mobile' is outside this token's team scope"
    # A parent team is outside a sub-team's scope too; the sub-team itself is fine.
    assert client.get(f"{PR_URL}?team=platform").status_code == 403
    assert client.get(f"{PR_URL}?team=platform-api").status_code == 200


def test_scoped_token_whose_teams_are_gone_sees_nothing(org: Org, token_client: TokenClient) -> None:
    client = token_client("admin", teams=("mobile",))
    org.teams["mobile"].delete()
    assert ids(client, "pull-requests") == set()
    assert ids(client, "metrics") == set()


def test_throttle_is_per_token(org: Org, token_client: TokenClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEXTANT_API_RATE", "3/min")
    first, second = token_client("viewer"), token_client("viewer")
    assert [first.get("/api/v1/teams/").status_code for _ in range(4)] == [200, 200, 200, 429]
    throttled = first.get("/api/v1/teams/")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert second.get("/api/v1/teams/").status_code == 200


def test_bad_rate_setting_names_the_variable(
    org: Org, token_client: TokenClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEXTANT_API_RATE", "lots")
    client = token_client("viewer")
    client.raise_request_exception = True
    with pytest.raises(Exception, match="SEXTANT_API_RATE must look like"):
        client.get("/api/v1/teams/")


def test_create_api_token_command(org: Org) -> None:
    out = io.StringIO()
    call_command("create_api_token", "Power BI", "--role", "executive", "--team", "platform", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(name="Power BI")
    assert token.role == "executive" and not token.all_teams
    assert list(token.teams.values_list("slug", flat=True)) == ["platform"]
    assert token.token_hash == token_hash(raw) and out.getvalue().count(raw) == 1
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert ids(client, "teams", "slug") == {"platform", "platform-api"}
    with pytest.raises(CommandError, match="no team with slug 'nope'"):
        call_command("create_api_token", "x", "--team", "nope", stdout=io.StringIO())
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("create_api_token", "x", "--role", "owner", stdout=io.StringIO())
    assert ApiToken.objects.count() == 1


def test_admin_creates_shows_once_and_revokes(org: Org, admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/api/apitoken/add/",
        {
            "name": "Tableau",
            "role": "viewer",
            "all_teams": "",
            "teams": [org.teams["mobile"].id],
        },
    )
    assert response.status_code == 200, response.content
    raw = re.search(rb"sxt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", response.content).group().decode()
    token = ApiToken.objects.get(name="Tableau")
    assert token.token_hash == token_hash(raw) and not token.all_teams
    change_page = admin_client.get(f"/admin/api/apitoken/{token.pk}/change/")
    assert raw.encode() not in change_page.content and token.prefix.encode() in change_page.content
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert ids(client, "teams", "slug") == {"mobile"}
    admin_client.post("/admin/api/apitoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]})
    assert client.get("/api/v1/teams/").status_code == 403


def test_admin_rejects_teams_on_an_unscoped_token(org: Org, admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/api/apitoken/add/",
        {
            "name": "Looker",
            "role": "viewer",
            "all_teams": "on",
            "teams": [org.teams["mobile"].id],
        },
    )
    assert response.status_code == 200 and b"either all teams or some teams" in response.content
    assert not ApiToken.objects.exists()
