"""The quick-approval thresholds on Settings > AI tools & costs: stored in the organization's settings,
read by the review-load snapshots; a bad value names the field and stores nothing."""

from __future__ import annotations

from django.test import Client

from metrics.core.models import Organization
from metrics.ingestion.agents_review import review_settings
from tests.factories import make_user
from tests.web.conftest import client_for


def test_thresholds_are_saved_and_bad_ones_rejected_whole(db: None) -> None:
    admin: Client = client_for(make_user("root", superuser=True))
    assert review_settings() == {"quick_minutes": 10.0, "large_lines": 500}
    page = admin.get("/settings/costs/")
    assert page.status_code == 200 and 'name="quick_approval_minutes" value="10"' in page.content.decode()
    saved = admin.post(
        "/settings/costs/", {"action": "review", "quick_approval_minutes": "5", "quick_approval_lines": "800"}
    )
    assert saved.status_code == 302
    assert review_settings() == {"quick_minutes": 5.0, "large_lines": 800}
    bad = admin.post(
        "/settings/costs/",
        {"action": "review", "quick_approval_minutes": "3", "quick_approval_lines": "lots"},
    )
    assert (
        bad.status_code == 400 and "large-PR lines: &#x27;lots&#x27; is not a number" in bad.content.decode()
    )
    assert Organization.objects.get().settings["quick_approval_minutes"] == 5.0  # nothing half-written
    viewer = client_for(make_user("vic", "viewer"))
    denied = viewer.post("/settings/costs/", {"action": "review", "quick_approval_minutes": "1"})
    assert denied.status_code in (302, 403) and review_settings()["quick_minutes"] == 5.0
