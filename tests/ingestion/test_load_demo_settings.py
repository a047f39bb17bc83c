"""``load_demo --if-empty`` into an organization that exists with no PRs: it loads and keeps its settings
(an empty database, so apart from test_load_demo.py's module-wide demo)."""

from __future__ import annotations

import pytest

from metrics.core.models import Organization
from tests.ingestion.test_load_demo import load

pytestmark = pytest.mark.django_db


def test_an_existing_organization_keeps_its_settings() -> None:
    Organization.objects.create(name="Initech", settings={"min_group_size": 7})
    load("--if-empty")  # nothing stored yet, so it loads
    org = Organization.objects.get()
    assert org.name == "Initech"
    assert org.settings["min_group_size"] == 7 and org.settings["demo_truth"]["seed"] == 7
