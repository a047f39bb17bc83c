"""GitHub connector: GitHub App installation auth, Enterprise Server base URLs, GITHUB_API_URL."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.base import SourceConfig
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
