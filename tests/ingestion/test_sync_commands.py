"""add_source, list_sources, sync, rotate_keys, setup_schedules; and the encryption of secrets at rest."""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from metrics.core import crypto
from metrics.core.models import DataSource
from metrics.ingestion.sync_sources import WEBHOOK_SECRET_OPTION, source_secret, source_webhook_secret
from tests import redis_dbs
from tests.fakes.github import FakeGitHub
from tests.fakes.github_data import populate

pytestmark = pytest.mark.django_db
OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
TOKEN = "ghp_TestTokenThatMustNeverBeShown"


@pytest.fixture(autouse=True)
def encryption_key(settings: Any) -> None:
    settings.SEXTANT_ENCRYPTION_KEYS = OLD_KEY


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_add_source_reads_the_token_from_the_environment_and_stores_it_encrypted(monkeypatch: Any) -> None:
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    monkeypatch.setenv("GH_HOOK", "hook-secret")
    out = run(
        "add_source",
        "github",
        "acme",
        "--org",
        "acme",
        "--api-url",
        "https://ghe.acme.test/api/v3",
        "--token-env",
        "GH_TOKEN",
        "--webhook-secret-env",
        "GH_HOOK",
        "--interval",
        "30",
    )
    source = DataSource.objects.get(name="acme")
    assert (
        out.strip()
        == "added github source acme (org acme), token stored encrypted, webhook secret stored encrypted"
    )
    assert TOKEN not in source.secret_encrypted and source_secret(source) == TOKEN
    assert source_webhook_secret(source) == "hook-secret"
    assert source.options["org"] == "acme" and source.options["api_url"] == "https://ghe.acme.test/api/v3"
    assert source.sync_interval_minutes == 30
    listing = run("list_sources")
    assert "acme" in listing and "set" in listing
    assert TOKEN not in listing and source.secret_encrypted not in listing
    assert source.options[WEBHOOK_SECRET_OPTION] not in listing


def test_add_source_options_of_every_kind(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("T", "secret")
    run("add_source", "github", "two", "--repo", "acme/api", "--repo", "acme/web", "--token-env", "T")
    run(
        "add_source",
        "gitlab",
        "gl",
        "--group",
        "acme/platform",
        "--api-url",
        "https://gl.test",
        "--token-env",
        "T",
    )
    run("add_source", "copilot", "cp", "--org", "acme", "--token-env", "T")
    run("add_source", "git", "local", "--path", str(tmp_path))
    options = dict(DataSource.objects.values_list("name", "options"))
    assert options["two"] == {"repos": ["acme/api", "acme/web"]}
    assert options["gl"] == {"group": "acme/platform", "api_url": "https://gl.test"}
    assert options["cp"] == {"org": "acme"}
    assert options["local"] == {"path": str(tmp_path.resolve())}
    assert DataSource.objects.get(name="local").secret_encrypted == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["github", "x", "--org", "acme"], "no token given: pass --token-env VAR"),
        (
            ["github", "x", "--org", "acme", "--token-env", "UNSET_VAR"],
            "UNSET_VAR (named by --token-env) is unset",
        ),
        (
            ["github", "x", "--org", "acme", "--repo", "a/b", "--token-env", "T"],
            "exactly one of --org ORG or --repo",
        ),
        (
            ["github", "x", "--repo", "not-a-repo", "--token-env", "T"],
            "--repo 'not-a-repo' is not OWNER/REPO",
        ),
        (["gitlab", "x", "--token-env", "T"], "exactly one of --group GROUP or --project PATH"),
        (["git", "x", "--path", "/no/such/dir"], "--path '/no/such/dir' does not exist"),
        (["github", "Bad Name", "--org", "a", "--token-env", "T"], "must be a slug"),
    ],
)
def test_add_source_refuses_bad_input_with_a_clear_message(
    monkeypatch: Any, args: list[str], message: str
) -> None:
    monkeypatch.setenv("T", "secret")
    monkeypatch.delenv("UNSET_VAR", raising=False)
    with pytest.raises(CommandError) as error:
        run("add_source", *args)
    assert message in str(error.value)
    assert not DataSource.objects.exists()


def test_add_source_refuses_a_duplicate_name(monkeypatch: Any) -> None:
    monkeypatch.setenv("T", "secret")
    run("add_source", "github", "acme", "--org", "acme", "--token-env", "T")
    with pytest.raises(CommandError, match="a source named 'acme' already exists"):
        run("add_source", "github", "acme", "--org", "other", "--token-env", "T")


def test_sync_command_runs_the_service_and_prints_a_summary(monkeypatch: Any) -> None:
    with FakeGitHub() as gh:
        populate(gh, "acme/api", prs=12)
        monkeypatch.setenv("T", "test-token")
        run("add_source", "github", "acme", "--repo", "acme/api", "--api-url", gh.url, "--token-env", "T")
        out = run("sync", "acme")
        again = run("sync", "acme")
        gh.tokens.clear()
        with pytest.raises(CommandError) as error:
            run("sync", "acme", "--full")
    assert out.startswith("acme: 12 new and 0 updated PRs, ") and "3 API requests (0 not modified)" in out
    assert again.strip().endswith("1 API requests (0 not modified)") and "0 new and 0 updated PRs" in again
    assert "sync of acme failed: GitHub rejected the credentials (401 Bad credentials)" in str(error.value)
    with pytest.raises(CommandError, match="no source named 'nope'"):
        run("sync", "nope")


def test_rotate_keys_re_encrypts_every_secret_with_the_new_key(settings: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("T", TOKEN)
    monkeypatch.setenv("H", "hook")
    run("add_source", "github", "acme", "--org", "acme", "--token-env", "T", "--webhook-secret-env", "H")
    settings.SEXTANT_ENCRYPTION_KEYS = NEW_KEY  # the old key dropped too early: nothing can be read
    with pytest.raises(
        crypto.SecretDecryptionError, match="none of the configured SEXTANT_ENCRYPTION_KEYS fits"
    ):
        source_secret(DataSource.objects.get())
    with pytest.raises(CommandError, match="nothing was changed"):
        run("rotate_keys")
    settings.SEXTANT_ENCRYPTION_KEYS = f"{NEW_KEY},{OLD_KEY}"
    assert run("rotate_keys").strip() == "re-encrypted the secrets of 1 sources with the first encryption key"
    settings.SEXTANT_ENCRYPTION_KEYS = NEW_KEY
    source = DataSource.objects.get()
    assert source_secret(source) == TOKEN and source_webhook_secret(source) == "hook"


def test_embedded_mode_generates_one_private_key_file(settings: Any, tmp_path: Path) -> None:
    settings.SEXTANT_ENCRYPTION_KEYS = ""
    settings.CELERY_BROKER_URL = ""
    settings.VAR_DIR = tmp_path
    token = crypto.encrypt("s3cret")
    key_file = tmp_path / crypto.KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert crypto.decrypt(token) == "s3cret" and crypto.configured_keys() == [key_file.read_text().strip()]
    settings.CELERY_BROKER_URL = redis_dbs.SYNC_COMMANDS
    with pytest.raises(ImproperlyConfigured, match="SEXTANT_ENCRYPTION_KEYS must be set"):
        crypto.encrypt("x")
    settings.SEXTANT_ENCRYPTION_KEYS = "not-a-key"
    with pytest.raises(ImproperlyConfigured, match="key #1 is not a Fernet key"):
        crypto.encrypt("x")


def test_setup_schedules_creates_one_periodic_task() -> None:
    assert "created periodic task" in run("setup_schedules")
    assert "updated periodic task" in run("setup_schedules", "--every", "2")
    task = PeriodicTask.objects.get(name="sextant: sync due sources")
    assert (
        task.task == "sextant.ingestion.sync_due_sources"
        and task.queue == "sync"
        and task.interval.every == 2
    )


def test_admin_sets_a_token_without_ever_showing_it(admin_client: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("T", TOKEN)
    monkeypatch.setenv("H", "whsec-Distinct")
    run("add_source", "github", "acme", "--org", "acme", "--token-env", "T", "--webhook-secret-env", "H")
    source = DataSource.objects.get()
    page = admin_client.get(f"/admin/core/datasource/{source.pk}/change/").content.decode()
    assert "token stored (encrypted)" in page and "webhook secret stored (encrypted)" in page
    for hidden in (TOKEN, source.secret_encrypted, source.options[WEBHOOK_SECRET_OPTION], "whsec-Distinct"):
        assert hidden not in page
    form = {
        "name": "acme",
        "kind": "github",
        "options": '{"org": "acme"}',
        "enabled": "on",
        "sync_interval_minutes": "15",
        "new_secret": "ghp_Replaced",
        "new_webhook_secret": "",
    }
    response = admin_client.post(f"/admin/core/datasource/{source.pk}/change/", form)
    assert response.status_code == 302
    source.refresh_from_db()
    assert source_secret(source) == "ghp_Replaced" and source_webhook_secret(source) == "whsec-Distinct"
    assert (
        source.sync_interval_minutes == 15
        and "ghp_Replaced" not in admin_client.get("/admin/core/datasource/").content.decode()
    )
