"""Smaller findings of issue 15 (item 18): a cursor that is not base64 is a 400 naming the parameter;
AuditLog and SyncRun are in the admin, read-only."""

from __future__ import annotations

import pytest
from django.test import Client

from metrics.core.models import AuditLog
from metrics.ingestion.models import SyncRun
from tests.api.conftest import Org, TokenClient


@pytest.mark.parametrize("cursor", ["!!!", "%%%", "not base64 at all", "cD0x*"])
def test_a_cursor_that_is_not_base64_is_400(org: Org, token_client: TokenClient, cursor: str) -> None:
    response = token_client("admin").get("/api/v1/pull-requests/", {"cursor": cursor})
    assert response.status_code == 400 and response.json()["detail"].startswith("cursor:")


@pytest.mark.django_db
def test_audit_log_and_sync_runs_are_in_the_admin_read_only(admin_client: Client) -> None:
    run = SyncRun.objects.create(kind="github", source="gh", status="succeeded")
    entry = AuditLog.objects.create(
        action="update", object_type="core.DataSource", object_id="1", object_repr="gh", changes={}
    )
    for name, obj in (("core/auditlog", entry), ("ingestion/syncrun", run)):
        assert admin_client.get(f"/admin/{name}/").status_code == 200, name
        assert admin_client.get(f"/admin/{name}/{obj.pk}/change/").status_code == 200, name
        assert admin_client.get(f"/admin/{name}/add/").status_code == 403, name
        assert admin_client.post(f"/admin/{name}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert SyncRun.objects.filter(pk=run.pk).exists() and AuditLog.objects.filter(pk=entry.pk).exists()
