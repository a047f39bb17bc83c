"""Webhook replays (issue 15, findings 16 and 18): the same signed body under a fresh delivery id is a
duplicate, not a second sync; an overlong delivery id is refused instead of being cut (and colliding)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from metrics.ingestion.models import WebhookDelivery
from metrics.ingestion.sync_sources import source_create
from tests.ingestion.test_webhooks import PAYLOAD, encryption_key, make_source, post  # noqa: F401

pytestmark = pytest.mark.django_db
GITLAB_SECRET = "gitlab-hook-secret"
MR_EVENT = {
    "object_kind": "merge_request",
    "project": {"id": 12, "path_with_namespace": "acme/infra"},
    "object_attributes": {"iid": 1, "action": "approved"},
}


def gitlab_post(client: Client, body: bytes, headers: dict[str, str]) -> Any:
    headers = {"X-Gitlab-Token": GITLAB_SECRET, "X-Gitlab-Event": "Merge Request Hook", **headers}
    return client.post("/webhooks/gitlab", data=body, content_type="application/json", headers=headers)


@pytest.fixture
def gitlab_source() -> None:
    source_create(
        kind="gitlab",
        name="acme-gitlab",
        options={"group": "acme", "api_url": "http://127.0.0.1:9"},
        secret="t",
        webhook_secret=GITLAB_SECRET,
    )


def test_github_same_body_with_a_fresh_delivery_id_is_a_duplicate(
    client: Client, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    make_source()
    body = json.dumps(PAYLOAD).encode()
    with django_capture_on_commit_callbacks() as callbacks:
        first = post(client, body, delivery="id-1")
        replay = post(client, body, delivery="id-2")
        other = post(client, json.dumps({**PAYLOAD, "action": "closed"}).encode(), delivery="id-3")
    assert first.status_code == 202 and other.status_code == 202
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    assert len(callbacks) == 2 and WebhookDelivery.objects.count() == 2


def test_github_overlong_delivery_ids_are_refused_not_cut(
    client: Client, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    make_source()
    with django_capture_on_commit_callbacks() as callbacks:
        first = post(client, json.dumps(PAYLOAD).encode(), delivery="x" * 200 + "a")
        second = post(client, json.dumps({**PAYLOAD, "action": "closed"}).encode(), delivery="x" * 200 + "b")
    assert first.status_code == second.status_code == 400
    assert "X-GitHub-Delivery" in first.json()["error"] and "200" in first.json()["error"]
    assert callbacks == [] and not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("header", ["X-Gitlab-Event-UUID", "Idempotency-Key", None])
def test_gitlab_same_body_again_is_a_duplicate(
    client: Client,
    gitlab_source: None,
    django_capture_on_commit_callbacks: Callable[..., Any],
    header: str | None,
) -> None:
    body = json.dumps(MR_EVENT).encode()
    with django_capture_on_commit_callbacks() as callbacks:
        first = gitlab_post(client, body, {header: "u-1"} if header else {})
        replay = gitlab_post(client, body, {header: "u-2"} if header else {})
    assert first.status_code == 202
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    assert len(callbacks) == 1 and WebhookDelivery.objects.count() == 1


def test_gitlab_overlong_delivery_ids_are_refused(client: Client, gitlab_source: None) -> None:
    response = gitlab_post(client, json.dumps(MR_EVENT).encode(), {"X-Gitlab-Event-UUID": "u" * 201})
    assert response.status_code == 400 and "200" in response.json()["error"]
    assert not WebhookDelivery.objects.exists()
