"""Settings · repositories (issue 16, item 6): an admin assigns a repository to a team; the change is
audit-logged, recomputes, and moves the PRs of authors in no team from the overview's "unassigned" row to
the team's figures."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from metrics.core.models import AuditLog, Repository
from metrics.ingestion.models import MetricSnapshot
from metrics.ingestion.recompute import recompute_request
from tests.factories import make_person, make_team, make_user
from tests.web.conftest import at, client_for, make_pr

JUNE = "/?period=month&at=2025-06-01"


@pytest.fixture
def world(db: None) -> dict:
    alpha = make_team(name="Alpha", slug="alpha")
    member = make_person("Ann Member", "ann@example.com", (alpha, None, None))
    loner = make_person("Lou Loner", "lou@example.com")  # in no team
    owned = Repository.objects.create(full_name="acme/owned", host="github", team=alpha)
    solo = Repository.objects.create(full_name="acme/solo", host="github")
    make_pr(owned, 1, member, merged=at(3))
    make_pr(solo, 2, loner, merged=at(4))
    make_pr(solo, 3, loner, merged=at(5))
    recompute_request(reason="test data")
    return {"alpha": alpha, "solo": solo, "admin": client_for(make_user("root", superuser=True))}


def _merged(team_slug: str | None) -> float:
    rows = MetricSnapshot.objects.filter(metric="merged_prs", period="month", period_start="2025-06-01")
    row = rows.get(scope="team", team__slug=team_slug) if team_slug else rows.get(scope="organization")
    return row.value


def _unassigned(html: str) -> str | None:
    found = re.search(r'class="unassigned-row".*?<span class="v">(\d+)</span>', html, re.S)
    return found.group(1) if found else None


def test_assigning_a_repository_moves_its_prs_from_unassigned_to_the_team(world: dict) -> None:
    admin: Client = world["admin"]
    assert (_merged("alpha"), _merged(None)) == (1, 3)
    assert _unassigned(admin.get(JUNE).content.decode()) == "2"  # organization 3 = Alpha 1 + unassigned 2

    page = admin.get("/settings/repositories/").content.decode()
    assert f'name="team-{world["solo"].pk}"' in page and "acme/solo" in page
    response = admin.post(
        "/settings/repositories/", {f"team-{world['solo'].pk}": world["alpha"].pk}, follow=True
    )
    assert "Saved 1 repository team(s)" in response.content.decode()
    assert Repository.objects.get(pk=world["solo"].pk).team == world["alpha"]
    entry = AuditLog.objects.get(object_type="core.Repository", object_id=str(world["solo"].pk))
    assert entry.changes == {"team": {"from": None, "to": "alpha"}} and entry.actor is not None

    assert (_merged("alpha"), _merged(None)) == (3, 3)  # recomputed: the loner's PRs are Alpha's now
    assert _unassigned(admin.get(JUNE).content.decode()) is None


def test_a_bad_team_is_one_error_and_nothing_is_saved(world: dict) -> None:
    owned = Repository.objects.get(full_name="acme/owned")
    response = world["admin"].post(
        "/settings/repositories/",
        {
            f"team-{owned.pk}": "",
            f"team-{world['solo'].pk}": "99999",
        },
    )
    assert response.status_code == 400
    assert "unknown team &#x27;99999&#x27; for acme/solo" in response.content.decode()
    assert Repository.objects.get(pk=owned.pk).team == world["alpha"]  # the valid change was not kept
    assert not AuditLog.objects.filter(object_type="core.Repository").exists()


@pytest.mark.parametrize("role", ["manager", "executive", "viewer"])
def test_only_admins_assign_repositories(world: dict, role: str) -> None:
    client = client_for(make_user(f"u-{role}", role, (world["alpha"],) if role == "manager" else ()))
    assert client.get("/settings/repositories/").status_code in (302, 403)
    client.post("/settings/repositories/", {f"team-{world['solo'].pk}": world["alpha"].pk})
    assert Repository.objects.get(pk=world["solo"].pk).team is None
