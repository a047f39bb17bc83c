"""Settings · Delivery: the incident service map (validated, stored, re-links incidents), admins only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from connectors.records import DeploymentRecord, IncidentRecord
from metrics.core.models import Organization
from metrics.ingestion.models import Incident
from metrics.ingestion.services import records_ingest
from tests.factories import make_user

pytestmark = pytest.mark.django_db
URL = "/settings/delivery/"
T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


def client_for(**kw: object) -> Client:
    client = Client()
    client.force_login(make_user(**kw))  # type: ignore[arg-type]
    return client


def test_admin_maps_a_service_and_its_incidents_are_linked() -> None:
    records_ingest(
        records=[
            DeploymentRecord("acme/pay", "d1", "production", "a" * 40, "success", T0, T0, True),
            IncidentRecord("pagerduty", "P1", T0.replace(hour=12), service="Payments"),
        ]
    )
    assert Incident.objects.get().link == "none"
    admin = client_for(superuser=True)
    bad = admin.post(URL, {"services": "payments = acme/pay\nnonsense\npayments = acme/other"})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "line 2: expected" in text and "line 3: &#x27;payments&#x27; is mapped twice" in text
    assert not (
        Organization.objects.first() and Organization.objects.first().settings.get("incident_services")
    )
    good = admin.post(URL, {"services": "# the payments service\npayments = acme/pay\n"})
    assert good.status_code == 302
    assert Organization.objects.get().settings["incident_services"] == {"payments": "acme/pay"}
    row = Incident.objects.get()
    assert (row.repository.full_name, row.deployment.external_id, row.link) == (
        "acme/pay",
        "d1",
        "last_before",
    )
    assert "payments = acme/pay" in admin.get(URL).content.decode()


def test_only_admins() -> None:
    assert client_for(role="executive").get(URL).status_code == 403
    assert client_for(role="viewer").post(URL, {"services": "x = a/b"}).status_code == 403
