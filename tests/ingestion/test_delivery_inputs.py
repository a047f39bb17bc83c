"""Deployments and incidents from the signed webhooks and the file importers: exact stored values, bad
signatures and bad rows store nothing (each bad line named), replays and re-imports store once."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from metrics.core.models import Organization
from metrics.ingestion.delivery_webhooks import SECRET_SETTING, webhook_secret_set
from metrics.ingestion.models import Deployment, Incident, MetricSnapshot, WebhookDelivery

pytestmark = pytest.mark.django_db
SECRET = "a-delivery-webhook-secret-of-some-length"
KEY = Fernet.generate_key().decode()
DEPLOYMENT = {
    "id": "run-41",
    "repository": "acme/shop",
    "environment": "production",
    "sha": "ABCDEF1234567",
    "started_at": "2025-03-03T10:00:00+01:00",
    "finished_at": "2025-03-03T09:20:00Z",
    "status": "success",
    "url": "https://ci.example.com/run/41",
}
INCIDENT = {
    "id": "INC-7",
    "service": "shop-web",
    "repository": "acme/shop",
    "started_at": "2025-03-03T11:00:00Z",
    "resolved_at": "2025-03-03T12:30:00Z",
    "severity": "SEV2",
    "deployment_id": "run-41",
    "title": "Cart empty",
}


@pytest.fixture(autouse=True)
def secret(settings: Any) -> None:
    settings.SEXTANT_ENCRYPTION_KEYS = KEY
    webhook_secret_set(SECRET)


def post(client: Client, kind: str, payload: object, *, delivery: str = "d-1", signature: str | None = None):
    body = json.dumps(payload).encode()
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-Sextant-Signature-256": sig if signature is None else signature,
        "X-Sextant-Delivery": delivery,
    }
    return client.post(f"/webhooks/{kind}", data=body, content_type="application/json", headers=headers)


class TestWebhooks:
    def test_secret_is_stored_encrypted(self) -> None:
        stored = Organization.objects.get().settings[SECRET_SETTING]
        assert SECRET not in json.dumps(Organization.objects.get().settings) and stored

    def test_deployment_is_stored_with_exact_values(self, client: Client) -> None:
        response = post(client, "deployments", DEPLOYMENT)
        assert response.status_code == 201, response.content
        row = Deployment.objects.get()
        assert (row.external_id, row.repository.full_name, row.environment) == (
            "run-41",
            "acme/shop",
            "production",
        )
        assert (row.sha, row.status, row.is_production, row.source) == (
            "abcdef1234567",
            "success",
            True,
            "webhook",
        )
        assert row.created_at == datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
        assert row.finished_at == datetime(2025, 3, 3, 9, 20, tzinfo=UTC)
        assert row.url == "https://ci.example.com/run/41"
        assert MetricSnapshot.objects.filter(metric="deployment_frequency", scope="organization").exists()

    def test_incident_is_stored_and_linked(self, client: Client) -> None:
        assert post(client, "deployments", DEPLOYMENT).status_code == 201
        response = post(client, "incidents", INCIDENT, delivery="d-2")
        assert response.status_code == 201, response.content
        row = Incident.objects.get()
        assert (row.source, row.external_id, row.severity, row.title) == (
            "webhook",
            "INC-7",
            "SEV2",
            "Cart empty",
        )
        assert (row.deployment.external_id, row.link) == ("run-41", "explicit")
        assert row.resolved_at == datetime(2025, 3, 3, 12, 30, tzinfo=UTC)

    @pytest.mark.parametrize("signature", ["", "sha256=00", "sha256=" + "0" * 64])
    def test_bad_signature_is_401_and_nothing_stored(self, client: Client, signature: str) -> None:
        for kind, payload in (("deployments", DEPLOYMENT), ("incidents", INCIDENT)):
            assert post(client, kind, payload, signature=signature).status_code == 401
        assert not Deployment.objects.exists() and not Incident.objects.exists()
        assert not WebhookDelivery.objects.exists()

    def test_signed_with_another_secret_is_401(self, client: Client) -> None:
        body = json.dumps(DEPLOYMENT).encode()
        other = "sha256=" + hmac.new(b"another secret", body, hashlib.sha256).hexdigest()
        assert post(client, "deployments", DEPLOYMENT, signature=other).status_code == 401
        assert not Deployment.objects.exists()

    def test_replay_is_stored_once(self, client: Client) -> None:
        assert post(client, "incidents", INCIDENT).status_code == 201
        again = post(client, "incidents", INCIDENT)  # same delivery id
        assert (again.status_code, again.json()["status"]) == (200, "duplicate")
        fresh_id = post(client, "incidents", INCIDENT, delivery="d-9")  # same signed body, new id
        assert (fresh_id.status_code, fresh_id.json()["status"]) == (200, "duplicate")
        assert Incident.objects.count() == 1 and WebhookDelivery.objects.count() == 1

    def test_bad_field_is_400_naming_it_and_nothing_stored(self, client: Client) -> None:
        response = post(client, "deployments", {**DEPLOYMENT, "sha": "not-a-sha", "status": "done"})
        assert response.status_code == 400
        message = response.json()["error"]
        assert "'sha'" in message and "'status'" in message
        assert not Deployment.objects.exists() and not WebhookDelivery.objects.exists()


DEPLOY_CSV = """id,repository,environment,sha,started_at,finished_at,status
d1,acme/shop,production,aaaaaaa1,2025-03-03T09:00:00Z,2025-03-03T09:10:00Z,success
d2,acme/shop,staging,bbbbbbb2,2025-03-03T10:00:00Z,,failure
"""
BAD_DEPLOY_CSV = """id,repository,environment,sha,started_at,finished_at,status
d1,acme/shop,production,aaaaaaa1,2025-03-03T09:00:00Z,2025-03-03T09:10:00Z,success
d2,acme/shop,production,zzz,2025-03-03T10:00:00Z,,success
d3,acme/shop,production,ccccccc3,2025-03-03 10:00,,success
d1,acme/shop,production,ddddddd4,2025-03-03T11:00:00Z,2025-03-03T10:00:00Z,shipped
"""
INCIDENTS_JSONL = "\n".join(
    json.dumps(row)
    for row in [
        {"id": "P1", "repository": "acme/shop", "started_at": "2025-03-03T09:30:00Z", "severity": "SEV1"},
        {"id": "P2", "service": "payments", "started_at": "2025-03-03T12:00:00Z", "resolved_at": None},
    ]
)


def run(command: str, path: Path) -> str:
    out = StringIO()
    call_command(command, str(path), stdout=out)
    return out.getvalue()


class TestImports:
    def test_deployments_csv_is_stored_and_reimport_changes_nothing(self, tmp_path: Path) -> None:
        path = tmp_path / "deployments.csv"
        path.write_text(DEPLOY_CSV)
        assert "Imported 2 deployments (1 to production)" in run("import_deployments", path)
        run("import_deployments", path)
        rows = {d.external_id: (d.is_production, d.status, d.sha, d.source) for d in Deployment.objects.all()}
        assert rows == {
            "d1": (True, "success", "aaaaaaa1", "file"),
            "d2": (False, "failure", "bbbbbbb2", "file"),
        }
        assert (
            MetricSnapshot.objects.get(
                metric="deployment_frequency", scope="organization", period="week"
            ).value
            == 1
        )

    def test_bad_rows_reject_the_whole_file_naming_each_line(self, tmp_path: Path) -> None:
        path = tmp_path / "deployments.csv"
        path.write_text(BAD_DEPLOY_CSV)
        with pytest.raises(CommandError) as caught:
            run("import_deployments", path)
        message = str(caught.value)
        assert "line 3, column 'sha'" in message
        assert "line 4, column 'started_at'" in message and "no UTC offset" in message
        duplicate = "line 5, column 'id': deployment 'd1' of 'acme/shop' already appears on line 2"
        assert duplicate in message
        assert "line 5, column 'status'" in message and "line 5, column 'finished_at'" in message
        assert not Deployment.objects.exists()

    def test_incidents_jsonl_is_stored(self, tmp_path: Path) -> None:
        Organization.objects.update(settings={"incident_services": {"payments": "acme/pay"}})
        path = tmp_path / "incidents.jsonl"
        path.write_text(INCIDENTS_JSONL)
        assert "Imported 2 incidents" in run("import_incidents", path)
        rows = {
            i.external_id: (i.repository.full_name, i.severity, i.resolved_at) for i in Incident.objects.all()
        }
        assert rows == {"P1": ("acme/shop", "SEV1", None), "P2": ("acme/pay", "", None)}

    def test_incident_without_service_or_repository_is_rejected(self, tmp_path: Path) -> None:
        path = tmp_path / "incidents.jsonl"
        path.write_text(
            INCIDENTS_JSONL + "\n" + json.dumps({"id": "P3", "started_at": "2025-03-03T12:00:00Z"})
        )
        with pytest.raises(CommandError, match=r"line 3, column 'service': a service or a repository"):
            run("import_incidents", path)
        assert not Incident.objects.exists()
