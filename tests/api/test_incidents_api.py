"""``/api/v1/incidents/`` and the delivery columns of ``/api/v1/deployments/``: exact values, JSON and CSV,
cursor pages, ``updated_since``, team scope."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from connectors.records import DeploymentRecord, IncidentRecord
from metrics.core.models import Repository
from metrics.ingestion.models import Incident
from metrics.ingestion.services import records_ingest
from tests.api.conftest import TokenClient
from tests.factories import make_team

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 5, 5, 9, tzinfo=UTC)


@pytest.fixture
def stored() -> None:
    shop = make_team(name="Shop", slug="shop")
    records_ingest(
        records=[
            DeploymentRecord(
                "acme/shop",
                "d1",
                "production",
                "a" * 40,
                "success",
                T0,
                T0 + timedelta(minutes=5),
                True,
                source="webhook",
                url="https://ci.example.com/d1",
            ),
            *(
                IncidentRecord(
                    "pagerduty",
                    f"P{i}",
                    T0 + timedelta(hours=i),
                    title=f"Outage {i}",
                    severity="SEV2",
                    repository="acme/shop" if i % 2 else "acme/other",
                    resolved_at=T0 + timedelta(hours=i + 1),
                )
                for i in range(1, 8)
            ),
        ]
    )
    Repository.objects.filter(full_name="acme/shop").update(team=shop)


def test_incidents_json_exact_values(stored: None, token_client: TokenClient) -> None:
    body = token_client("viewer").get("/api/v1/incidents/?source=pagerduty&since=2025-05-05T09:30:00Z").json()
    first = body["results"][0]
    assert first == {
        "id": Incident.objects.get(external_id="P1").pk,
        "source": "pagerduty",
        "external_id": "P1",
        "title": "Outage 1",
        "severity": "SEV2",
        "service": "",
        "repository": "acme/shop",
        "started_at": "2025-05-05T10:00:00Z",
        "resolved_at": "2025-05-05T11:00:00Z",
        "deployment_id": Incident.objects.get(external_id="P1").deployment_id,
        "deployment_external_id": "d1",
        "link": "last_before",
        "url": "",
        "updated_at": first["updated_at"],
    }
    assert len(body["results"]) == 7


def test_incidents_cursor_pages_csv_and_updated_since(stored: None, token_client: TokenClient) -> None:
    client = token_client("admin")
    seen, url = [], "/api/v1/incidents/?page_size=3"
    while url:
        body = client.get(url).json()
        seen += [r["external_id"] for r in body["results"]]
        url = body["next"]
    assert sorted(seen) == [f"P{i}" for i in range(1, 8)] and len(seen) == 7
    response = client.get("/api/v1/incidents/?format=csv&severity=SEV2")
    text = b"".join(response.streaming_content).decode()
    assert [r["external_id"] for r in csv.DictReader(io.StringIO(text))] == [f"P{i}" for i in range(1, 8)]
    Incident.objects.update(updated_at=T0)
    Incident.objects.filter(external_id="P3").update(updated_at=T0 + timedelta(days=400))
    later = (T0 + timedelta(days=399)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = client.get(f"/api/v1/incidents/?updated_since={later}").json()
    assert [r["external_id"] for r in body["results"]] == ["P3"]


def test_a_team_token_sees_its_repositories_incidents_only(stored: None, token_client: TokenClient) -> None:
    body = token_client("viewer", teams=("shop",)).get("/api/v1/incidents/").json()
    assert [r["external_id"] for r in body["results"]] == ["P1", "P3", "P5", "P7"]


def test_deployments_carry_source_and_url(stored: None, admin_client: Client) -> None:
    [row] = admin_client.get("/api/v1/deployments/").json()["results"]
    assert (row["source"], row["url"], row["external_id"]) == ("webhook", "https://ci.example.com/d1", "d1")
