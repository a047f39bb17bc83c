"""POST /webhooks/github: signature, replay, event filtering, malformed bodies; a valid event syncs."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from metrics.core.models import DataSource
from metrics.ingestion.models import PullRequest, SyncRun, WebhookDelivery
from metrics.ingestion.sync_sources import source_create
from tests.fakes.github import FakeGitHub
from tests.fakes.github_data import populate

pytestmark = pytest.mark.django_db
SECRET = "It's a Secret to Everybody"
KEY = Fernet.generate_key().decode()
PAYLOAD = {
    "action": "opened",
    "number": 3,
    "pull_request": {"number": 3},
    "repository": {"full_name": "acme/api"},
}


@pytest.fixture(autouse=True)
def encryption_key(settings: Any) -> None:
    settings.SEXTANT_ENCRYPTION_KEYS = KEY


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(
    client: Client,
    body: bytes,
    *,
    event: str = "pull_request",
    delivery: str = "d-1",
    signature: str | None = None,
) -> Any:
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body) if signature is None else signature,
    }
    return client.post("/webhooks/github", data=body, content_type="application/json", headers=headers)


def make_source(api_url: str = "http://127.0.0.1:9") -> DataSource:
    return source_create(
        kind="github",
        name="acme",
        options={"org": "acme", "api_url": api_url},
        secret="test-token",
        webhook_secret=SECRET,
    )


def test_signature_example_from_githubs_documentation() -> None:
    # docs.github.com "Validating webhook deliveries": this secret and body give this signature.
    assert sign(b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_a_valid_event_is_recorded_and_syncs_its_repository(
    client: Client, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with FakeGitHub() as gh:
        populate(gh, "acme/api", prs=4)
        source = make_source(gh.url)
        body = json.dumps(PAYLOAD).encode()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = post(client, body)
    assert response.status_code == 202
    assert response.json() == {"status": "queued", "repository": "acme/api", "sources": ["acme"]}
    assert len(callbacks) == 1 and WebhookDelivery.objects.get().delivery_id == "d-1"
    assert PullRequest.objects.count() == 4
    run = SyncRun.objects.get(data_source=source)
    assert run.source == "acme:acme/api" and run.status == "succeeded"


def test_a_bad_or_missing_signature_is_401_and_stores_nothing(
    client: Client, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    make_source()
    body = json.dumps(PAYLOAD).encode()
    with django_capture_on_commit_callbacks() as callbacks:
        forged = post(client, body, signature=sign(body, "guessed"))
        missing = post(client, body, signature="")
        tampered = post(client, body + b" ", signature=sign(body))
    assert forged.status_code == missing.status_code == tampered.status_code == 401
    assert not WebhookDelivery.objects.exists() and callbacks == []


def test_a_replayed_delivery_is_ignored(
    client: Client, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    make_source()
    body = json.dumps(PAYLOAD).encode()
    with django_capture_on_commit_callbacks() as callbacks:
        first = post(client, body, delivery="abc")
        replay = post(client, body, delivery="abc")
    assert first.status_code == 202 and replay.status_code == 200
    assert replay.json() == {"status": "duplicate", "delivery": "abc"}
    assert WebhookDelivery.objects.count() == 1 and len(callbacks) == 1


def test_unknown_events_ping_and_other_repositories_are_acknowledged_and_ignored(
    client: Client, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    make_source()
    elsewhere = json.dumps({**PAYLOAD, "repository": {"full_name": "other/repo"}}).encode()
    with django_capture_on_commit_callbacks() as callbacks:
        star = post(client, json.dumps(PAYLOAD).encode(), event="star")
        ping = post(client, b'{"zen": "Keep it logically awesome."}', event="ping", delivery="p")
        other = post(client, elsewhere, delivery="o")
    assert star.status_code == 202 and star.json() == {"status": "ignored", "event": "star"}
    assert ping.status_code == 200 and ping.json() == {"status": "pong"}
    assert other.status_code == 202 and other.json()["status"] == "ignored"
    assert not WebhookDelivery.objects.exists() and callbacks == []


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_a_malformed_body_is_400(client: Client, body: bytes) -> None:
    make_source()
    response = post(client, body)
    assert response.status_code == 400 and "JSON" in response.json()["error"]
    assert not WebhookDelivery.objects.exists()


def test_only_post_is_allowed(client: Client) -> None:
    assert client.get("/webhooks/github").status_code == 405
