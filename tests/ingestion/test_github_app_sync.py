"""Issue 21 acceptance: a GitHub App sync through the fake GitHub, whose installation token expires
mid-sync (refused with 401 by the fake), stores exactly what a personal-token sync of the same data
stores; the App's private key is stored encrypted and never leaves in a run's text."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from metrics.core.models import DataSource
from metrics.ingestion.models import PullRequest, SyncRun
from metrics.ingestion.sync import source_sync
from metrics.ingestion.sync_sources import SourceConfigError, source_create
from tests.connectors.test_github_auth import app_keys
from tests.fakes.github import App, FakeGitHub
from tests.fakes.state import database_state
from tests.ingestion.test_sync import fill, wipe

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def encryption_key(settings: Any) -> None:
    settings.SEXTANT_ENCRYPTION_KEYS = Fernet.generate_key().decode()


def test_an_app_sync_whose_token_expires_mid_sync_stores_exactly_what_a_token_sync_stores() -> None:
    private, public = app_keys()
    with FakeGitHub() as gh:
        fill(gh)  # acme/api (50 PRs, large ones paginated), acme/web (10), teams
        gh.app = App(app_id=321, installation_id=654, public_key_pem=public, accounts=("acme",))
        app = gh.app
        pages: list[Any] = []

        def expire_on_third_page(operation: str, variables: dict[str, Any]) -> None:
            if operation == "PullRequests":
                pages.append(variables.get("after"))
                if len(pages) == 3:
                    app.expire_all()  # the token in use dies between this page and the next request

        gh.hooks.append(expire_on_third_page)
        common = {"org": "acme", "api_url": gh.url, "backoff_seconds": 0.01, "page_size": 20}
        source = source_create(
            kind="github", name="acme-app", options={**common, "app_id": "321"}, secret=private
        )
        stored = DataSource.objects.get(pk=source.pk)
        assert "PRIVATE KEY" not in stored.secret_encrypted and "PRIVATE KEY" not in str(stored.options)
        run = source_sync(source=source)
        by_app = database_state()
        gh.hooks.clear()
        wipe()
        token_source = source_create(kind="github", name="acme-token", options=common, secret="test-token")
        token_run = source_sync(source=token_source)
        by_token = database_state()
    fake_prs = [p for r in gh.repos.values() for p in r.prs.values()]
    assert run.status == token_run.status == SyncRun.Status.SUCCEEDED and run.error == ""
    assert by_app == by_token and PullRequest.objects.count() == len(fake_prs) == 60
    assert app.rejected == ["ghs_installation1"] and app.minted == ["ghs_installation1", "ghs_installation2"]
    assert run.counts["app_token_rejections"] == 1 and run.counts["app_tokens_minted"] == 2
    assert run.counts["rate_limit_limit"] == 12500
    assert gh.server.count("GET", r"/orgs/acme/installation", status=200) == 1


def test_an_app_source_needs_its_private_key_and_a_numeric_app_id() -> None:
    with pytest.raises(SourceConfigError, match="needs a token"):
        source_create(kind="github", name="a", options={"org": "acme", "app_id": "12"}, secret="")
    with pytest.raises(SourceConfigError, match="app_id '12x' is not a number"):
        source_create(kind="github", name="a", options={"org": "acme", "app_id": "12x"}, secret="k")
    with pytest.raises(SourceConfigError, match=r"private key \(the PEM file"):
        source_create(kind="github", name="a", options={"org": "acme", "app_id": "12"}, secret="ghp_x")
    assert DataSource.objects.count() == 0
