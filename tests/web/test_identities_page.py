"""Settings · people across tools: tool identities that matched nobody who authored work are listed
(admins only) and linked by hand; their usage then belongs to the person, and later syncs find them."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from connectors.records import (
    AIModelUsageRecord,
    AIUsageRecord,
    CommitRecord,
    IdentityRecord,
    RepositoryRecord,
)
from metrics.core.models import Identity, Person
from metrics.ingestion.models import AIModelUsageDay, AIUsageDay, SnapshotState
from metrics.ingestion.services import records_ingest

pytestmark = pytest.mark.django_db
Q_USER = IdentityRecord(login="9067-q")


def _world() -> None:
    ann = IdentityRecord(name="Ann Lee", email="ann@acme.dev", login="annlee")
    records_ingest(
        records=[
            RepositoryRecord(full_name="acme/api"),
            CommitRecord(
                repository="acme/api", sha="a" * 40, parents=(), author=ann, committer=ann,
                authored_at=None, committed_at=None, message="x",
            ),
            # matched by e-mail to the commit author: not listed
            AIUsageRecord(tool="Cursor", day=date(2026, 11, 2), user=IdentityRecord(email="ann@acme.dev")),
            # an Amazon Q user id: matches nobody
            AIUsageRecord(tool="Amazon Q Developer", day=date(2026, 11, 2), user=Q_USER),
            AIUsageRecord(tool="Amazon Q Developer", day=date(2026, 11, 3), user=Q_USER),
            AIModelUsageRecord(tool="Amazon Q Developer", day=date(2026, 11, 3), model="q", user=Q_USER),
        ]
    )  # fmt: skip


def test_admins_see_unmatched_identities_and_link_them(admin_client: Client) -> None:
    _world()
    admin = admin_client
    page = admin.get("/settings/identities/").content.decode()
    assert (
        "9067-q" in page and "Amazon Q Developer" in page and "ann@acme.dev" not in page.split("Link to")[1]
    )
    lonely = Person.objects.get(identities__key="login:9067-q")
    ann = Person.objects.get(identities__key="email:ann@acme.dev")
    assert not SnapshotState.objects.filter(models_computed_at__isnull=False).exists()
    response = admin.post(f"/settings/identities/{lonely.pk}/link/", {"target": ann.pk})
    assert response.status_code == 302
    # the usage now counts for Ann: the organization-wide models are recomputed (inline when embedded)
    assert SnapshotState.objects.get(pk=1).models_computed_at is not None
    assert not Person.objects.filter(pk=lonely.pk).exists()
    assert Identity.objects.get(key="login:9067-q").person == ann
    assert AIUsageDay.objects.filter(person=ann, tool="Amazon Q Developer").count() == 2
    assert AIModelUsageDay.objects.get(model="q").person == ann  # a relation without a reverse name too
    assert "Every tool identity matches a person" in admin.get("/settings/identities/").content.decode()
    # A later import of the same user id lands on Ann directly.
    records_ingest(records=[AIUsageRecord(tool="Amazon Q Developer", day=date(2026, 11, 4),
                                          user=IdentityRecord(login="9067-q"))])  # fmt: skip
    assert AIUsageDay.objects.get(day=date(2026, 11, 4)).person == ann


def test_other_roles_are_refused(client: Client) -> None:
    _world()
    lonely = Person.objects.get(identities__key="login:9067-q")
    client.force_login(get_user_model().objects.create_user(username="v"))
    assert client.get("/settings/identities/").status_code == 403
    assert client.post(f"/settings/identities/{lonely.pk}/link/", {"target": lonely.pk}).status_code == 403
    assert Person.objects.filter(pk=lonely.pk).exists()
