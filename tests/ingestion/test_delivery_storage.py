"""Deployments and incidents through ``records_ingest``: exact stored values, idempotent upserts, links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.records import DeploymentRecord, IncidentRecord
from metrics.core.models import Organization, Repository
from metrics.ingestion.models import Deployment, Incident
from metrics.ingestion.services import records_ingest

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def deploy(ext: str, hours: float, *, sha: str = "", repo: str = "acme/api", status: str = "success"):
    at = T0 + timedelta(hours=hours)
    return DeploymentRecord(
        repository=repo,
        external_id=ext,
        environment="production",
        sha=sha or f"{ext:0<40}",
        status=status,
        created_at=at,
        finished_at=at + timedelta(minutes=10),
        is_production=True,
        source="webhook",
        url=f"https://ci.example.com/{ext}",
    )


def incident(ext: str, hours: float, **kw):
    return IncidentRecord(source="pagerduty", external_id=ext, started_at=T0 + timedelta(hours=hours), **kw)


def test_deployment_fields_stored_and_upsert_is_idempotent() -> None:
    records_ingest(records=[deploy("d1", 0)])
    records_ingest(records=[deploy("d1", 0, status="failure")])  # a later status of the same deployment
    row = Deployment.objects.get()
    assert (row.source, row.url, row.status) == ("webhook", "https://ci.example.com/d1", "failure")
    assert row.finished_at == T0 + timedelta(minutes=10)
    assert row.repository.full_name == "acme/api"


def test_incident_fields_stored_once_per_natural_key() -> None:
    rec = incident(
        "P1",
        5,
        title="Checkout 500s",
        resolved_at=T0 + timedelta(hours=7),
        severity="SEV1",
        repository="acme/api",
        url="https://pd.example.com/P1",
    )
    records_ingest(records=[rec])
    summary = records_ingest(records=[rec])
    assert summary.counts["incidents"] == 1
    row = Incident.objects.get()
    assert (row.source, row.external_id, row.title, row.severity) == (
        "pagerduty",
        "P1",
        "Checkout 500s",
        "SEV1",
    )
    assert row.started_at == T0 + timedelta(hours=5) and row.resolved_at == T0 + timedelta(hours=7)
    assert row.repository == Repository.objects.get(full_name="acme/api")
    assert (row.deployment, row.link) == (None, "none")


def test_link_rules_explicit_sha_last_before_and_none() -> None:
    records_ingest(records=[deploy("d1", 0), deploy("d2", 10), deploy("d3", 20, status="failure")])
    records_ingest(
        records=[
            incident("explicit", 30, repository="acme/api", deployment_id="d1"),
            incident("by-sha", 30, repository="acme/api", sha="d2000000"),
            incident("before", 15, repository="acme/api"),
            incident("after-failed", 25, repository="acme/api"),  # d3 failed: the last successful is d2
            incident("too-early", -5, repository="acme/api"),
            incident("no-repo", 15, service="unknown-service"),
        ]
    )
    got = {
        i.external_id: (i.deployment.external_id if i.deployment else None, i.link)
        for i in Incident.objects.all()
    }
    assert got == {
        "explicit": ("d1", "explicit"),
        "by-sha": ("d2", "sha"),
        "before": ("d2", "last_before"),
        "after-failed": ("d2", "last_before"),
        "too-early": (None, "none"),
        "no-repo": (None, "none"),
    }


def test_incident_before_its_deployment_is_relinked_when_the_deployment_arrives() -> None:
    records_ingest(records=[incident("P9", 12, repository="acme/api")])
    assert Incident.objects.get().link == "none"
    records_ingest(records=[deploy("d7", 11)])
    row = Incident.objects.get()
    assert (row.deployment.external_id, row.link) == ("d7", "last_before")


def test_service_mapped_to_a_repository_in_settings() -> None:
    Organization.objects.create(name="Acme", settings={"incident_services": {"Checkout-API": "acme/api"}})
    records_ingest(records=[deploy("d1", 0), incident("P2", 3, service="checkout-api")])
    row = Incident.objects.get()
    assert row.repository.full_name == "acme/api"
    assert (row.deployment.external_id, row.link) == ("d1", "last_before")
