"""Settings · data sources: a GitHub App source added on the page (issue 21), tested and synced against
the fake GitHub; its private key is stored encrypted and never shown or echoed."""

from __future__ import annotations

import pytest
from django.test import Client

from metrics.core import crypto
from metrics.core.models import DataSource
from metrics.ingestion.models import PullRequest
from tests.connectors.test_github_auth import app_keys
from tests.fakes.github import App, FakeGitHub
from tests.fakes.github_data import populate

pytestmark = pytest.mark.django_db


def test_an_app_source_added_on_the_page_connects_and_syncs(admin_client: Client) -> None:
    private, public = app_keys()
    with FakeGitHub(tokens=()) as gh:
        populate(gh, "acme/api", prs=6)
        gh.app = App(app_id=42, installation_id=4242, public_key_pem=public, accounts=("acme/api",))
        form = {"kind": "github", "name": "acme-app", "repos": "acme/api", "api_url": gh.url}
        added = admin_client.post(
            "/settings/sources/", {**form, "app_id": "42", "private_key": private, "interval": "60"}
        )
        assert added.status_code == 302, added.content.decode()[-1500:]
        source = DataSource.objects.get(name="acme-app")
        tested = admin_client.post(f"/settings/sources/{source.pk}/test/", follow=True).content.decode()
        synced = admin_client.post(f"/settings/sources/{source.pk}/sync/", follow=True).content.decode()
        looked_up = gh.server.count("GET", r"/repos/acme/api/installation", status=200)
    page = admin_client.get("/settings/sources/").content.decode()
    assert source.options["app_id"] == "42" and "installation_id" not in source.options
    assert crypto.decrypt(source.secret_encrypted, what="key") == private.strip()
    assert "acme-app: the connection works." in tested and "acme-app: synced (" in synced
    assert PullRequest.objects.filter(repository__full_name="acme/api").count() == 6 and looked_up == 2
    assert "GitHub App 42, key stored, encrypted" in page and "Replace key" in page
    key_body = private.splitlines()[1]
    assert all(key_body not in html for html in (tested, synced, page))


def test_an_app_source_without_a_pem_key_is_400_and_the_key_field_is_not_echoed(admin_client: Client) -> None:
    response = admin_client.post(
        "/settings/sources/",
        {"kind": "github", "name": "gh", "org": "acme", "app_id": "42", "private_key": "ghp_echo_me"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "needs the App&#x27;s private key (the PEM file GitHub generated)" in html
    assert "ghp_echo_me" not in html and 'value="42"' in html and not DataSource.objects.exists()
