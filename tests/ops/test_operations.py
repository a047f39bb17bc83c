"""Health check, request ids, JSON logs with redaction, security headers, login throttling, audit log."""

from __future__ import annotations

import json
import logging

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

from metrics.core.models import AuditLog, DataSource
from metrics.core.observability import ContextFilter, JsonFormatter, redact

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_broker_and_sources(admin_client: Client) -> None:
    DataSource.objects.create(name="gh", kind="github")
    response = admin_client.get("/healthz")  # source names for staff only (tests/ops/test_healthz.py)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"]["ok"] is True
    assert body["sources"] == [
        {
            "name": "gh",
            "kind": "github",
            "enabled": True,
            "last_success_at": None,
            "minutes_since_success": None,
            "failing": False,
        }
    ]


def test_healthz_is_503_when_the_broker_is_unreachable(client: Client, settings: object) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # type: ignore[attr-defined]
    from metrics.celery import app

    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = None
    assert response.status_code == 503 and response.json()["broker"]["ok"] is False


def test_request_id_is_echoed_or_generated(client: Client) -> None:
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz", HTTP_X_REQUEST_ID="bad id; drop table")["X-Request-ID"]
    assert len(generated) == 32 and generated != "bad id; drop table"


def test_security_headers(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"


def test_json_log_lines_carry_ids_and_never_secrets() -> None:
    record = logging.LogRecord(
        "sextant",
        logging.ERROR,
        __file__,
        1,
        "sync failed with token %s",
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789",),
        None,
    )
    ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "sync failed with token [redacted]" and line["level"] == "ERROR"
    assert redact("https://x/api?private_token=glpat-abc&x=1") == "https://x/api?[redacted]&x=1"
    assert redact("Authorization: Bearer sxt_0123456789abcdefghij") == "Authorization: [redacted]"


def test_login_is_throttled_after_repeated_failures(client: Client, settings: object) -> None:
    cache.clear()
    User.objects.create_user("ann", password="a-good-password-123")
    for _ in range(5):
        assert client.post("/accounts/login/", {"username": "ann", "password": "wrong"}).status_code == 200
    blocked = client.post("/accounts/login/", {"username": "ann", "password": "a-good-password-123"})
    assert blocked.status_code == 429 and "Too many failed sign-in attempts" in blocked.content.decode()
    cache.clear()
    assert (
        client.post("/accounts/login/", {"username": "ann", "password": "a-good-password-123"}).status_code
        == 302
    )


def test_audit_log_records_changes_without_secret_values(admin_client: Client) -> None:
    source = DataSource.objects.create(
        name="gl",
        kind="gitlab",
        secret_encrypted="ciphertext-1",
        options={"group": "acme", "webhook_secret_encrypted": "ciphertext-3"},
    )
    source.secret_encrypted = "ciphertext-2"
    source.sync_interval_minutes = 30
    source.save()
    source.checkpoint = {"cursor": "x"}
    source.save(update_fields=["checkpoint"])  # a sync's bookkeeping: no entry
    source.delete()
    entries = list(AuditLog.objects.filter(object_type="core.DataSource").order_by("id"))
    assert [e.action for e in entries] == ["create", "update", "delete"]
    assert entries[0].changes["secret_encrypted"] == "[changed]"
    # an encrypted secret inside a JSON field is left out too; the rest of the field is kept
    assert "acme" in json.dumps(entries[0].changes["options"])
    assert entries[1].changes == {
        "secret_encrypted": {"from": "[changed]", "to": "[changed]"},
        "sync_interval_minutes": {"from": 60, "to": 30},
    }
    assert "ciphertext" not in json.dumps([e.changes for e in entries])


def test_mapping_style_log_arguments_are_formatted_and_redacted() -> None:
    record = logging.LogRecord(
        "celery",
        logging.INFO,
        __file__,
        1,
        "Task %(name)s[%(id)s] received",
        ({"name": "sextant.sync", "id": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"},),
        None,
    )
    ContextFilter().filter(record)
    assert json.loads(JsonFormatter().format(record))["message"] == "Task sextant.sync[[redacted]] received"
