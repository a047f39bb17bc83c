"""The status bar's stamps: on every page, and as JSON for sextant.js to keep them current."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from metrics.ingestion.models import PendingChange, SnapshotState

pytestmark = pytest.mark.django_db


def test_the_stamps_follow_the_recomputes_without_a_reload(admin_client: Client, client: Client) -> None:
    assert client.get("/freshness/").status_code == 302  # signed-in users only
    empty = admin_client.get("/freshness/").json()
    assert empty["computed"] is None and empty["models"] is None and empty["updating"] is False
    cells = timezone.now() - dt.timedelta(minutes=3)
    models = timezone.now() - dt.timedelta(hours=2)
    SnapshotState.objects.create(pk=1, cells_computed_at=cells, models_computed_at=models)
    PendingChange.objects.create(scope={"prs": [1]}, reason="a webhook's sync")
    status = admin_client.get("/freshness/")
    assert status["Cache-Control"] == "no-store"
    body = status.json()
    assert body["computed"] == cells.isoformat() and body["computed_ago"] == "3 min ago"
    assert body["models"] == models.isoformat() and body["models_ago"] == "2 h ago"
    assert body["updating"] is True
    page = admin_client.get("/").content.decode()
    assert 'data-freshness-url="/freshness/"' in page
    assert "AI impact computed" in page and "2 h ago" in page
