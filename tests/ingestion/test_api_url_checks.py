"""``api_url`` checks (issue 15, finding 8): only http(s); link-local and cloud metadata addresses refused
unless SEXTANT_ALLOW_METADATA_HOSTS; loopback and private ranges allowed.  Every entry point (add_source,
the settings page, source_create) and every sync or connection test of an already stored source."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from metrics.core.models import DataSource
from metrics.ingestion.models import SyncRun
from metrics.ingestion.sync import source_sync
from metrics.ingestion.sync_sources import SourceConfigError, source_create

pytestmark = pytest.mark.django_db
BAD = [
    ("file:///etc/passwd", "http:// or https://"),
    ("gopher://127.0.0.1:70/_x", "http:// or https://"),
    ("ftp://gitlab.example.test", "http:// or https://"),
    ("http://169.254.169.254/latest/meta-data", "metadata"),
    ("http://[fe80::1]/api", "link-local"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://metadata.google.internal/computeMetadata/v1", "metadata"),
    ("https://user:pw@gitlab.example.test", "user name"),
    ("http:///nohost", "host"),
]
GOOD = [
    "http://127.0.0.1:9",
    "http://10.1.2.3:8080",
    "https://192.168.1.5/api/v3",
    "https://localhost",
    "https://gitlab.internal.test",
    "https://api.github.com",
]


@pytest.fixture(autouse=True)
def encryption_key(settings: Any) -> None:
    settings.SEXTANT_ENCRYPTION_KEYS = Fernet.generate_key().decode()


@pytest.mark.parametrize(("url", "named"), BAD)
@pytest.mark.parametrize("kind", ["github", "gitlab", "copilot"])
def test_source_create_refuses_bad_api_urls_with_one_line(kind: str, url: str, named: str) -> None:
    options = {"group": "acme"} if kind == "gitlab" else {"org": "acme"}
    with pytest.raises(SourceConfigError) as caught:
        source_create(kind=kind, name="s", options={**options, "api_url": url}, secret="tok")
    assert named in str(caught.value) and "api_url" in str(caught.value) and "\n" not in str(caught.value)
    assert "pw" not in str(caught.value)
    assert not DataSource.objects.exists()


@pytest.mark.parametrize("url", GOOD)
def test_loopback_private_and_public_hosts_are_allowed(url: str) -> None:
    source_create(kind="gitlab", name="s", options={"group": "acme", "api_url": url}, secret="tok")


def test_the_admin_setting_allows_metadata_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEXTANT_ALLOW_METADATA_HOSTS", "true")
    source_create(
        kind="github", name="s", options={"org": "a", "api_url": "http://169.254.169.254"}, secret="t"
    )
    with pytest.raises(SourceConfigError):  # the scheme rule stays
        source_create(kind="github", name="t", options={"org": "a", "api_url": "file:///x"}, secret="t")


def test_add_source_command_gives_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GL_TOKEN", "tok")
    with pytest.raises(CommandError) as caught:
        call_command(
            "add_source",
            "gitlab",
            "gl",
            "--group",
            "acme",
            "--api-url",
            "gopher://x:70/",
            "--token-env",
            "GL_TOKEN",
            stdout=StringIO(),
        )
    assert "http:// or https://" in str(caught.value)
    assert not DataSource.objects.exists()


def test_settings_page_form_shows_the_error(client: Client) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-Long-enough-1")
    client.force_login(admin)
    response = client.post(
        "/settings/sources/",
        {"kind": "github", "name": "gh", "org": "acme", "api_url": "http://169.254.169.254/", "token": "tok"},
    )
    assert response.status_code == 400 and b"metadata address" in response.content
    assert not DataSource.objects.exists()


@pytest.mark.parametrize("kind", ["github", "gitlab", "copilot"])
@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:70/", "http://169.254.169.254"])
def test_a_stored_bad_url_fails_its_sync_with_a_permanent_one_line_error(kind: str, url: str) -> None:
    options = {"group": "acme"} if kind == "gitlab" else {"org": "acme"}
    source = source_create(kind=kind, name="s", options=options, secret="tok")
    DataSource.objects.filter(pk=source.pk).update(options={**options, "api_url": url})  # e.g. older data
    with pytest.raises(Exception) as caught:
        source_sync(source=source)
    run = SyncRun.objects.get(data_source=source)
    assert type(caught.value).__name__ == "ConnectorError" and caught.value.permanent  # type: ignore[attr-defined]
    assert run.status == "failed" and "api_url" in run.error and "internal error" not in run.error


def test_sync_now_on_a_stored_bad_url_is_not_a_500(client: Client, settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-Long-enough-1")
    client.force_login(admin)
    source = source_create(kind="github", name="gh", options={"org": "acme"}, secret="tok")
    DataSource.objects.filter(pk=source.pk).update(options={"org": "acme", "api_url": "file:///etc/passwd"})
    response = client.post(f"/settings/sources/{source.pk}/sync/", follow=True)
    assert response.status_code == 200 and b"http:// or https://" in response.content
