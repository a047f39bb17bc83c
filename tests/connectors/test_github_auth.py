"""GitHub connector: GitHub App installation auth, Enterprise Server base URLs, GITHUB_API_URL."""

from __future__ import annotations

import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.base import ConnectorError, SourceConfig
from connectors.github import GitHubConnector
from connectors.records import PullRequestRecord, TeamMembershipRecord
from tests.fakes.github import App, FakeGitHub
from tests.fakes.github_data import populate, populate_teams


def app_keys() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def read(options: dict[str, Any], secret: str = "test-token") -> tuple[GitHubConnector, list[Any]]:  # noqa: S107
    c = GitHubConnector(SourceConfig(kind="github", name="t", options=options, secret=secret))
    return c, [r for page in c.pages() for r in page]


def test_github_app_installation_token_is_minted_from_the_private_key_and_used() -> None:
    private, public = app_keys()
    with FakeGitHub(tokens=()) as gh:
        populate(gh, "acme/api", prs=5)
        gh.app = App(app_id=123, installation_id=456, public_key_pem=public)
        _, records = read(
            {"repos": ["acme/api"], "api_url": gh.url, "app_id": "123", "installation_id": "456"},
            secret=private,
        )
        minted = gh.server.count("POST", r"/app/installations/456/access_tokens", status=201)
        used = {r.headers.get("authorization") for r in gh.server.requests if r.path == "/graphql"}
    assert len([r for r in records if isinstance(r, PullRequestRecord)]) == 5
    assert minted == 1 and gh.app.minted == ["ghs_installation1"] and used == {"token ghs_installation1"}


def test_enterprise_server_urls_work_unchanged() -> None:
    with FakeGitHub(enterprise=True) as gh:
        populate(gh, "acme/api", prs=8)
        populate_teams(gh, "acme")
        c, records = read({"org": "acme", "api_url": gh.url})
        again, nothing = read(
            {"org": "acme", "api_url": gh.url, "checkpoint": c.checkpoint, "teams_interval_minutes": 0}
        )
        paths = {r.path for r in gh.server.requests}
        url = gh.url
    assert url.endswith("/api/v3") and "/api/graphql" in paths and "/api/v3/orgs/acme/teams" in paths
    assert len([r for r in records if isinstance(r, PullRequestRecord)]) == 8
    assert len([r for r in records if isinstance(r, TeamMembershipRecord)]) == 12
    assert nothing == [] and again.counts["api_not_modified"] == 4


def test_github_api_url_from_the_environment(monkeypatch: Any) -> None:
    with FakeGitHub() as gh:
        populate(gh, "acme/api", prs=3)
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        _, records = read({"repos": ["acme/api"]})
    assert len([r for r in records if isinstance(r, PullRequestRecord)]) == 3


# --- GitHub App: installation discovery, token refresh, the installation's own rate limit (issue 21) ---


def pr_numbers(records: list[Any]) -> list[tuple[str, int]]:
    return sorted((r.repository, r.number) for r in records if isinstance(r, PullRequestRecord))


def graphql_tokens(gh: FakeGitHub) -> list[str]:
    return [str(r.headers.get("authorization")) for r in gh.server.requests if r.path == "/graphql"]


def test_the_installation_is_discovered_from_the_org_with_a_jwt_signed_by_the_app_key() -> None:
    private, public = app_keys()
    with FakeGitHub(tokens=()) as gh:
        populate(gh, "acme/api", prs=4)
        populate_teams(gh, "acme")
        gh.app = App(app_id=77, installation_id=9001, public_key_pem=public, accounts=("acme",))
        c, records = read({"org": "acme", "api_url": gh.url, "app_id": "77"}, secret=private)
        looked_up = gh.server.count("GET", r"/orgs/acme/installation", status=200)
        minted = gh.server.count("POST", r"/app/installations/9001/access_tokens", status=201)
    assert (looked_up, minted) == (1, 1)
    assert pr_numbers(records) == [("acme/api", n) for n in range(1, 5)]
    assert len([r for r in records if isinstance(r, TeamMembershipRecord)]) == 12
    # The installation's own limit (12,500 here), not the 5,000 of a personal token, is what it reads.
    assert c.counts["rate_limit_limit"] == 12500 and c.counts["rate_limit_remaining"] == 12500 - gh.app.used


def test_an_app_not_installed_on_the_repository_is_a_clear_error() -> None:
    private, public = app_keys()
    with FakeGitHub(tokens=()) as gh:
        populate(gh, "acme/api", prs=2)
        gh.app = App(app_id=77, installation_id=9001, public_key_pem=public, accounts=("other",))
        with pytest.raises(ConnectorError, match="GitHub App 77 is not installed on repository acme/api"):
            read({"repos": ["acme/api"], "api_url": gh.url, "app_id": "77"}, secret=private)
        _, wrong_public = app_keys()
        gh.app = App(app_id=77, installation_id=9001, public_key_pem=wrong_public)
        with pytest.raises(ConnectorError, match=r"answered 401 .* \(check the App id and its private key\)"):
            read({"repos": ["acme/api"], "api_url": gh.url, "app_id": "77"}, secret=private)
        with pytest.raises(ConnectorError, match="private key is not a PEM RSA key"):
            read({"repos": ["acme/api"], "api_url": gh.url, "app_id": "77"}, secret="ghp_not-a-key")
        assert gh.app.minted == []


def test_a_token_near_its_expiry_is_replaced_before_github_would_refuse_it() -> None:
    private, public = app_keys()
    with FakeGitHub(tokens=()) as gh:
        populate(gh, "acme/api", prs=45, seed=3)
        gh.app = App(app_id=5, installation_id=6, public_key_pem=public, lifetime=61.0)
        app = gh.app

        def linger_on_second_page(operation: str, variables: dict[str, Any]) -> None:
            if operation == "PullRequests" and variables.get("after") and len(app.minted) == 1:
                # The first token enters its last minute (the refresh margin): sleep until then.
                time.sleep(max(0.0, app.expires[app.minted[0]] - 60.0 - time.time()) + 0.05)

        gh.hooks.append(linger_on_second_page)
        options = {"repos": ["acme/api"], "api_url": gh.url, "app_id": "5", "installation_id": "6"}
        c, records = read({**options, "page_size": 20, "app_token_refresh_seconds": 60}, secret=private)
        tokens = graphql_tokens(gh)
    assert pr_numbers(records) == [("acme/api", n) for n in range(1, 46)]
    assert len(app.minted) >= 2 and app.rejected == [] and c.counts["app_tokens_minted"] == len(app.minted)
    assert tokens[0] == "token ghs_installation1" and tokens[-1] == f"token {app.minted[-1]}"


def test_a_token_github_refuses_as_expired_is_minted_again_and_the_request_repeated() -> None:
    private, public = app_keys()
    with FakeGitHub(tokens=()) as gh:
        populate(gh, "acme/api", prs=45, seed=3)
        gh.app = App(app_id=5, installation_id=6, public_key_pem=public)
        app = gh.app

        def expire_after_second_page(operation: str, variables: dict[str, Any]) -> None:
            if operation == "PullRequests" and variables.get("after") and len(app.minted) == 1:
                app.expire_all()  # the server's clock is ahead: the token dies 59 minutes early

        gh.hooks.append(expire_after_second_page)
        options = {"repos": ["acme/api"], "api_url": gh.url, "app_id": "5", "installation_id": "6"}
        c, records = read({**options, "page_size": 20}, secret=private)
        refused = gh.server.count("POST", r"/graphql", status=401)
    assert pr_numbers(records) == [("acme/api", n) for n in range(1, 46)]
    assert app.minted == ["ghs_installation1", "ghs_installation2"] and app.rejected == ["ghs_installation1"]
    assert refused == 1 and c.counts["app_token_rejections"] == 1 and c.counts["app_tokens_minted"] == 2


def test_an_installation_whose_fresh_token_is_refused_too_fails_permanently() -> None:
    private, public = app_keys()
    with FakeGitHub(tokens=()) as gh:
        populate(gh, "acme/api", prs=3)
        gh.app = App(app_id=5, installation_id=6, public_key_pem=public, lifetime=0.0)  # born expired
        with pytest.raises(ConnectorError, match="even after minting a new one") as caught:
            read({"repos": ["acme/api"], "api_url": gh.url, "app_id": "5", "installation_id": "6"}, private)
    assert caught.value.permanent and gh.app.minted == ["ghs_installation1", "ghs_installation2"]
    assert "BEGIN" not in str(caught.value)


def test_an_app_on_enterprise_server_uses_api_v3_for_the_app_and_api_graphql_with_the_same_token() -> None:
    private, public = app_keys()
    with FakeGitHub(tokens=(), enterprise=True) as gh:
        populate(gh, "acme/api", prs=3)
        gh.app = App(app_id=8, installation_id=80, public_key_pem=public)
        _, records = read({"repos": ["acme/api"], "api_url": gh.url, "app_id": "8"}, secret=private)
        app_paths = [
            r.path for r in gh.server.requests if "/app" in r.path or r.path.endswith("/installation")
        ]
        graphql = {r.headers.get("authorization") for r in gh.server.requests if r.path == "/api/graphql"}
    assert pr_numbers(records) == [("acme/api", 1), ("acme/api", 2), ("acme/api", 3)]
    assert app_paths == ["/api/v3/repos/acme/api/installation", "/api/v3/app/installations/80/access_tokens"]
    assert graphql == {"token ghs_installation1"}
