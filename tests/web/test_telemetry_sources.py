"""Adding the AI telemetry sources (Cursor, Claude Code, the OTLP receiver) from the settings page and
``manage.py add_source``: tokens stored encrypted and never shown, bad input a 400 naming the problem."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from metrics.core.models import DataSource
from metrics.ingestion.sync import sources_due
from metrics.ingestion.sync_sources import source_secret

pytestmark = pytest.mark.django_db
TOKEN = "key_cursor_secret_0123456789"


def test_settings_page_adds_cursor_claude_and_otlp_sources(admin_client: Client) -> None:
    response = admin_client.post(
        "/settings/sources/", {"kind": "cursor", "name": "cur", "since": "2026-10-01", "token": TOKEN}
    )
    assert response.status_code == 302
    cursor = DataSource.objects.get(name="cur")
    assert cursor.options == {"since": "2026-10-01"} and TOKEN not in cursor.secret_encrypted
    assert source_secret(cursor) == TOKEN
    assert (
        admin_client.post(
            "/settings/sources/", {"kind": "otlp", "name": "tools", "token": "t0k3n-abcdef"}
        ).status_code
        == 302
    )
    page = admin_client.get("/settings/sources/").content.decode()
    assert TOKEN not in page and "t0k3n-abcdef" not in page and "pushed to /otlp/tools/v1/metrics" in page
    assert sources_due() == [cursor.pk]  # the receiver is pushed to: never scheduled
    bad = admin_client.post(
        "/settings/sources/",
        {"kind": "claude_code", "name": "cc", "since": "May 1", "token": "sk-ant-admin-x1"},
    )
    assert (
        bad.status_code == 400
        and "is not a date" in bad.content.decode()
        and "sk-ant-admin-x1" not in bad.content.decode()
    )
    missing = admin_client.post("/settings/sources/", {"kind": "claude_code", "name": "cc"})
    assert missing.status_code == 400 and "needs a token" in missing.content.decode()


def test_add_source_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", "sk-ant-admin01-abcdef")
    out = io.StringIO()
    call_command(
        "add_source",
        "claude_code",
        "claude",
        "--token-env",
        "ANTHROPIC_ADMIN_KEY",
        "--since",
        "2026-09-01",
        stdout=out,
    )
    assert "token stored encrypted" in out.getvalue()
    assert DataSource.objects.get(name="claude").options == {"since": "2026-09-01"}
    monkeypatch.setenv("GH_TOKEN", "ghp_abcdefghijklmnopqrstuvwxyz0123")
    call_command(
        "add_source", "copilot", "ent", "--enterprise", "acme-corp", "--token-env", "GH_TOKEN", stdout=out
    )
    assert DataSource.objects.get(name="ent").options == {"enterprise": "acme-corp"}
    with pytest.raises(CommandError, match="--org ORG or --enterprise"):
        call_command(
            "add_source", "copilot", "both", "--org", "a", "--enterprise", "b", "--token-env", "GH_TOKEN"
        )
